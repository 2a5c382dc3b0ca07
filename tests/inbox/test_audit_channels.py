"""Every channel is equal: the question's page, the ticket's page, the history and the API say
through which channel each answer and decision came — here a question answered by email and the
reply's approval decided in Slack, on one ticket."""

import pytest
from django.test import Client

from supportdesk.desk import services
from supportdesk.desk.models import QuestionStatus
from supportdesk.inbox.email_replies import reply_address
from tests.api.conftest import api_client
from tests.fakes.slack_api import FakeSlackApi
from tests.inbox.test_email_replies import DOMAIN, SECRET, inbound_post, reply
from tests.inbox.test_slack import click, interact, with_slack_app

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_the_audit_shows_the_channel_of_every_answer_and_decision(
    approving_organization, ann, bob, drain, settings
):
    settings.INBOUND_EMAIL_DOMAIN, settings.INBOUND_EMAIL_SECRET = DOMAIN, SECRET
    with FakeSlackApi(users={"U0ANN": "ann@example.com"}) as fake:
        settings.SLACK_API_URL = fake.base_url
        organization = with_slack_app(approving_organization)
        ticket = services.ticket_create(
            organization=organization, title="Payments fail", priority="critical"
        )
        drain()
        question = ticket.questions.get()
        assert (
            inbound_post(reply(reply_address(question), body="Fixed in 2.4.2.")).json()["status"]
            == "answered"
        )
        drain()
        approval = ticket.questions.get(kind="approval", status=QuestionStatus.PENDING)
        interact(click(approval, "approve"))
        drain()

    herself = Client()
    herself.force_login(ann)
    own_page = herself.get(f"/questions/{question.pk}/").content.decode()
    assert "Answered by you (email) at" in own_page
    reviewer = Client()  # another reviewer reads the audit
    reviewer.force_login(bob)
    answered = reviewer.get(f"/questions/{question.pk}/").content.decode()
    assert "Answered by Ann Lee (email) at" in answered
    decided = reviewer.get(f"/questions/{approval.pk}/").content.decode()
    assert "Approved by Ann Lee (Slack) at" in decided
    ticket_page = reviewer.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "answered by Ann Lee (email)" in ticket_page
    assert "approved by Ann Lee (Slack) → ran" in ticket_page
    history = reviewer.get("/inbox/history/").content.decode()
    assert 'Ann Lee <span class="muted">(email)</span>' in history
    assert 'Ann Lee <span class="muted">(Slack)</span>' in history

    api = api_client(organization)
    by_id = {q["id"]: q for q in api.get(f"/api/tickets/{ticket.pk}").json()["questions"]}
    assert by_id[str(question.pk)]["answered_via"] == "email"
    assert by_id[str(approval.pk)]["answered_via"] == "slack"
    assert api.get(f"/api/questions/{approval.pk}").json()["answered_via"] == "slack"
