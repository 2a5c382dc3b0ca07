"""Runs, steps, waits and events are readable in Django admin; runs can be cancelled there. A staff
user who is not a superuser sees only their organizations' tenants."""

import pytest
from django.contrib.auth.models import User

from supportdesk import durable
from supportdesk.desk.admin_scoping import staff_tenants
from supportdesk.desk.services import organization_tenant
from supportdesk.durable.models import Event, Run, RunStatus, Wait
from supportdesk.durable.tenancy import admin_tenants_resolver_register
from tests.admin_pages import admin_url, logged_in, make_organization_staff

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def test_run_page_shows_steps_inline_read_only(admin_client, drain):
    durable.send_events({"name": "test/wait", "data": {"ticketId": 1}, "id": "adm"})
    drain()
    run = Run.objects.get()
    page = admin_client.get(f"/admin/durable/run/{run.pk}/change/").content.decode()
    assert "before" in page and "answer" in page  # the step keys
    assert "waiting for test/answer" in page  # a transition
    assert 'name="steps-0-key"' not in page  # inlines are read-only
    assert admin_client.get("/admin/durable/event/").status_code == 200
    assert admin_client.get("/admin/durable/wait/").status_code == 200


def test_cancel_action_cancels_the_run(admin_client, drain):
    durable.send_events({"name": "test/wait", "data": {"ticketId": 2}})
    drain()
    run = Run.objects.get()
    response = admin_client.post(
        "/admin/durable/run/", {"action": "cancel_runs", "_selected_action": [str(run.pk)]}
    )
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert "cancelled by root" in run.transitions.last().reason


def test_retry_action_retries_failed_runs_only(admin_client, drain, side_effect_log):
    durable.send_events({"name": "test/flaky", "data": {"fail_times": 0, "non_retriable": True}})
    durable.send_events({"name": "test/wait", "data": {"ticketId": 3}})
    drain()
    failed = Run.objects.get(function_id="test-flaky")
    waiting = Run.objects.get(function_id="test-wait")
    response = admin_client.post("/admin/durable/run/", {
        "action": "retry_runs", "_selected_action": [str(failed.pk), str(waiting.pk)],
    }, follow=True)  # fmt: skip
    assert "Retried 1 run(s) (1 skipped: only failed runs can be retried)." in (
        response.content.decode()
    )
    failed.refresh_from_db()
    assert failed.status == RunStatus.QUEUED
    assert Run.objects.get(pk=waiting.pk).status == RunStatus.WAITING


# --- a staff user of one organization sees its tenant only -------------------------------------
@pytest.fixture
def acme_staff(organization):
    return make_organization_staff("ann", organization)


def tenant_rows(organization) -> list:
    tenant = organization_tenant(organization.pk)
    return [
        *Run.objects.filter(tenant=tenant),
        *Wait.objects.filter(tenant=tenant),
        *Event.objects.filter(tenant=tenant),
    ]


def test_runs_waits_and_events_of_another_tenant_are_hidden(
    organization, other_organization, ask, acme_staff
):
    ask(organization, title="Acme crash")
    ask(other_organization, title="Globex crash")
    durable.send_events({"name": "test/wait", "data": {"ticketId": 9}, "id": "no-tenant"})
    untenanted = Event.objects.get(event_id="no-tenant")
    acme, globex = tenant_rows(organization), tenant_rows(other_organization)
    assert {type(row) for row in globex} == {Run, Wait, Event}

    staff = logged_in(acme_staff)
    pages = "".join(
        staff.get(admin_url(model, "changelist")).content.decode() for model in (Run, Wait, Event)
    )
    assert all(admin_url(row) in pages for row in acme)
    assert not any(admin_url(row) in pages for row in [*globex, untenanted])
    for row in [*globex, untenanted]:
        assert staff.get(admin_url(row)).status_code == 404
    searched = staff.get(admin_url(Run, "changelist"), {"q": "support-agent-workflow"})
    assert not any(admin_url(row) in searched.content.decode() for row in globex)

    [globex_run] = [row for row in globex if isinstance(row, Run)
                    and row.function_id == "support-agent-workflow"]  # fmt: skip
    staff.post(admin_url(Run, "changelist"), {
        "action": "cancel_runs", "_selected_action": [str(globex_run.pk)],
    })  # fmt: skip
    globex_run.refresh_from_db()
    assert globex_run.status == RunStatus.WAITING


def test_without_a_tenant_resolver_a_staff_user_sees_no_run(organization, ask, acme_staff):
    """The engine cannot know organizations: if nobody told it who sees what, it shows nothing."""
    ask(organization)
    staff = logged_in(acme_staff)
    support_run = Run.objects.get(function_id="support-agent-workflow")
    assert admin_url(support_run) in staff.get(admin_url(Run, "changelist")).content.decode()
    admin_tenants_resolver_register(None)
    try:
        listing = staff.get(admin_url(Run, "changelist")).content.decode()
        assert admin_url(support_run) not in listing
    finally:
        admin_tenants_resolver_register(staff_tenants)
