"""The real `inngest` Python SDK, pointed at our server (`manage.py serve`), sends events to
`/e/<event key>`: a ticket's workflow starts, and re-sending the same event id starts no other."""

import inngest
import pytest

from supportdesk.api import services
from supportdesk.desk.models import Ticket
from supportdesk.desk.services import organization_tenant
from supportdesk.durable.models import Run, RunStatus
from tests.conftest import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_an_inngest_client_starts_a_ticket_run_once_per_event_id(live_app, organization):
    app = live_app({"ANTHROPIC_API_KEY": ""})
    key = services.key_create(organization=organization, name="inngest", kind="event").plaintext
    client = inngest.Inngest(
        app_id="helpdesk-sync",
        event_key=key,
        event_api_base_url=app.url,
        is_production=False,  # dev mode: plain http and no signing key
    )
    # A ticket imported from another system: its row exists, its workflow is started by the event.
    ticket = Ticket.objects.create(organization=organization, title="Password reset mail missing")
    event = inngest.Event(
        name="app/support.ticket.created", data={"ticketId": ticket.pk}, id=f"import-{ticket.pk}"
    )

    assert client.send_sync(event) == [f"import-{ticket.pk}"]
    run = Run.objects.get(event__event_id=f"import-{ticket.pk}")
    assert run.function_id == "support-agent-workflow"
    assert run.tenant == organization_tenant(organization.pk)
    wait_until(lambda: Run.objects.get(pk=run.pk).status == RunStatus.COMPLETED)
    ticket.refresh_from_db()
    assert ticket.status == "resolved" and ticket.replies.count() == 1

    assert client.send_sync(event) == [f"import-{ticket.pk}"]
    assert client.send_sync([event, event]) == [f"import-{ticket.pk}"] * 2
    assert Run.objects.filter(event__name="app/support.ticket.created").count() == 1

    services.key_revoke(key=services.key_authenticate(kind="event", plaintext=key))
    # The SDK raises its SendEventsError (not exported) with our error message.
    with pytest.raises(Exception, match="unknown or revoked event key"):
        client.send_sync(inngest.Event(name="app/support.ticket.created", data={"ticketId": 0}))
