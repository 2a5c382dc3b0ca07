"""A ticket's life a support lead can trust: every entry point starts one run, every door closes
it, every ending says why, failures are handled and retried, follow-ups continue the
conversation."""

import time

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import call_command
from django.test import Client

from supportdesk.desk import services
from supportdesk.desk.demo_model import demo_blocks
from supportdesk.desk.models import (
    AgentConfig,
    Question,
    QuestionStatus,
    Ticket,
    TicketActivity,
    TicketStatus,
)
from supportdesk.durable.models import Run, RunStatus
from supportdesk.durable.sweeper import sweep
from tests.api.conftest import api_client, post_json
from tests.fakes.anthropic_server import FakeAnthropicServer, FakeError, message

pytestmark = [pytest.mark.django_db(transaction=True)]


def crash(organization, title="The app crashes on launch") -> Ticket:
    return services.ticket_create(organization=organization, title=title, priority="critical")


def support_runs():
    """The tickets' workflow runs (a question's reminders are runs of their own)."""
    return Run.objects.filter(function_id="support-agent-workflow")


def fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def admin(organization) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


# --- every entry point: one run -------------------------------------------------------------------
def test_a_ticket_added_in_admin_starts_its_workflow(admin, organization, drain):
    """It stayed "Open" with no run."""
    response = admin.post("/admin/desk/ticket/add/", {
        "organization": organization.pk, "title": "Checkout\\ncrashes", "body": "Since 2.4.1",
        "priority": "critical", "customer": "",
        **{f"{prefix}-{field}": 0 for prefix in ("messages", "replies", "questions", "activity")
           for field in ("TOTAL_FORMS", "INITIAL_FORMS")},
    })  # fmt: skip
    assert response.status_code == 302, response.content[:2000]
    ticket = Ticket.objects.get()
    assert ticket.runs.count() == 1 and ticket.live_run is not None
    drain()
    assert fresh(ticket).status == TicketStatus.WAITING
    assert ticket.questions.count() == 1


def test_the_api_the_cli_and_an_event_each_start_exactly_one_run(organization, drain):
    api = api_client(organization)
    by_api = post_json(api, "/api/tickets", {"title": "Export is slow"}).json()["id"]
    call_command("ticket", "create", "--title", "Login loops")
    by_cli = Ticket.objects.get(title="Login loops").pk
    plain = Ticket.objects.create(organization=organization, title="Imported from Zendesk")
    sent = [{"name": services.TICKET_CREATED, "data": {"ticketId": plain.pk}, "id": f"zd-{n}"}
            for n in range(2)]  # fmt: skip
    assert post_json(api, "/api/events", sent).json()["ids"] == ["zd-0", "zd-1"]
    drain()
    for ticket_id in (by_api, by_cli, plain.pk):
        assert Ticket.objects.get(pk=ticket_id).runs.count() == 1
    assert support_runs().count() == 3


def test_a_created_event_for_a_ticket_being_worked_starts_nothing(organization, drain):
    ticket = crash(organization)
    drain()
    event = {"name": services.TICKET_CREATED, "data": {"ticketId": ticket.pk}}
    response = post_json(api_client(organization), "/api/events", event)
    assert response.status_code == 200  # accepted: idempotent
    drain()
    assert support_runs().count() == 1 and Question.objects.count() == 1


# --- every door closes: runs stop, questions leave ------------------------------------------------
def close_by_api(ticket):
    api = api_client(ticket.organization, name="Zendesk sync")
    response = post_json(api, f"/api/tickets/{ticket.pk}/close", {})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "closed"


def close_by_cli(ticket):
    call_command("ticket", "close", str(ticket.pk), "--by", "ann")


def close_by_event(ticket):
    event = {"name": services.TICKET_CLOSED, "data": {"ticketId": ticket.pk}}
    assert post_json(api_client(ticket.organization, name="Zendesk sync"), "/api/events",
                     event).status_code == 200  # fmt: skip


def close_by_admin(ticket):
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    client.post("/admin/desk/ticket/", {"action": "close_tickets",
                                         "_selected_action": [ticket.pk]})  # fmt: skip


@pytest.mark.parametrize(
    ("door", "who"),
    [
        (close_by_api, "Zendesk sync"),
        (close_by_cli, "ann (the command line)"),
        (close_by_event, "Zendesk sync"),
        (close_by_admin, "root (Django admin)"),
    ],
)
def test_every_door_closes_the_ticket_its_run_and_its_question(organization, drain, door, who):
    """Closed in admin, the run went on: answering its question sent a second reply."""
    ticket = crash(organization)
    drain()
    door(ticket)
    drain()
    ticket = fresh(ticket)
    assert ticket.status == TicketStatus.CLOSED and who in ticket.status_reason
    assert ticket.runs.get().status == RunStatus.CANCELLED
    assert ticket.questions.get().status == QuestionStatus.CANCELLED
    assert TicketActivity.objects.get(ticket=ticket, action="closed").actor.startswith(who[:4])
    assert not ticket.replies.exists()


# --- every ending says why ------------------------------------------------------------------------
def test_an_expired_question_leaves_the_ticket_needing_attention(organization, drain, settings):
    """It said "Resolved" while the reply only promised that engineering would follow up."""
    settings.QUESTION_TIMEOUT, settings.QUESTION_ANSWER_GRACE = 0.3, 0.1
    ticket = crash(organization)
    drain()
    time.sleep(0.5)
    sweep()
    drain()
    ticket = fresh(ticket)
    assert ticket.status == TicketStatus.NEEDS_ATTENTION
    assert ticket.status_reason.startswith("the developer question expired unanswered: ")
    assert ticket.replies.count() == 1  # the agent still told the customer something


def test_a_supervisor_choosing_a_disabled_agent_fails_clearly(organization, ann, drain):
    """The run "completed" and the ticket said "needs attention" with no reason."""
    AgentConfig.objects.filter(organization=organization, name="Technical Support").update(
        enabled=False
    )
    ticket = crash(organization)
    drain()
    ticket = fresh(ticket)
    run = ticket.runs.get()
    assert run.status == RunStatus.FAILED
    assert "chose 'Technical Support', which is not an enabled agent" in run.error
    assert ticket.status == TicketStatus.NEEDS_ATTENTION
    assert ticket.status_reason.startswith("the run failed: ")
    assert "'Technical Support'" in ticket.status_reason
    # The reviewers hear of it.
    from supportdesk.inbox.notifications import ticket_notify

    assert ticket_notify(ticket.pk)["email"]
    assert mail.outbox[-1].subject == (
        f"[supportdesk] Ticket #{ticket.pk} needs attention: The app crashes on launch"
    )


def test_a_run_cancelled_through_the_api_leaves_the_ticket_needing_attention(organization, drain):
    """It stayed "in progress" with nothing running."""
    ticket = crash(organization)
    drain()
    run = ticket.runs.get()
    response = post_json(api_client(organization), f"/api/runs/{run.pk}/cancel", {})
    assert response.status_code == 200
    ticket = fresh(ticket)
    assert ticket.status == TicketStatus.NEEDS_ATTENTION
    assert ticket.status_reason.startswith("its run was cancelled (cancelled through the API by")
    assert ticket.questions.get().status == QuestionStatus.CANCELLED
    assert ticket.live_run is None


def test_the_states_of_a_ticket_answered_in_time(organization, drain):
    ticket = crash(organization)
    assert fresh(ticket).status == TicketStatus.OPEN
    drain()
    assert (fresh(ticket).status, fresh(ticket).status_reason) == (
        TicketStatus.WAITING, "Technical Support asked a developer"
    )  # fmt: skip
    services.question_answer(question=ticket.questions.get(), answered_by="Ann", answer="Fixed.")
    assert fresh(ticket).status == TicketStatus.IN_PROGRESS
    drain()
    ticket = fresh(ticket)
    assert (ticket.status, ticket.status_reason) == (
        TicketStatus.RESOLVED, "Technical Support replied to the customer"
    )  # fmt: skip
    assert ticket.live_run is None


# --- failures are handled: retried from the failed step -------------------------------------------
def test_a_failed_run_is_retried_from_its_failed_step_through_the_api_and_the_cli(
    organization, drain, settings, monkeypatch
):
    failing = {"on": True}

    def claude(body: dict):
        if failing["on"]:
            return FakeError(400, "prompt is too long")
        tools = [t["name"] for t in body.get("tools", [])]
        return message(*demo_blocks(messages=body["messages"], tools=tools, labelled=False))

    with FakeAnthropicServer(claude) as fake:
        settings.ANTHROPIC_API_KEY_SET = True
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        first = services.ticket_create(organization=organization, title="How do I export?")
        second = services.ticket_create(organization=organization, title="Login loops?")
        deadline = time.monotonic() + 20
        while Run.objects.exclude(status=RunStatus.FAILED).exists():
            drain()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert fresh(first).status == TicketStatus.NEEDS_ATTENTION
        assert "Supervisor.route' failed" in fresh(first).status_reason
        completed_steps = set(first.runs.get().steps.filter(status="completed").values_list("key"))
        failing["on"] = False
        response = post_json(api_client(organization), f"/api/tickets/{first.pk}/retry", {})
        assert response.status_code == 200 and response.json()["status"] == "in_progress"
        call_command("ticket", "retry", str(second.pk), "--by", "ann")
        drain()
    for ticket in (first, second):
        ticket = fresh(ticket)
        assert ticket.status == TicketStatus.RESOLVED
        run = ticket.runs.get()  # the same run, retried: no second run
        assert run.status == RunStatus.COMPLETED
    rerun = set(first.runs.get().steps.filter(status="completed").values_list("key"))
    assert completed_steps < rerun  # the steps done before the failure were kept
    actors = TicketActivity.objects.filter(action="retried").values_list("actor", flat=True)
    assert "ann (the command line)" in actors and len(actors) == 2
    with pytest.raises(Exception, match="no failed run to retry"):
        services.ticket_retry(ticket=fresh(first), actor="ann")


# --- follow-ups continue the conversation ---------------------------------------------------------
def test_a_follow_up_continues_the_conversation_with_its_history(organization, drain):
    ticket = services.ticket_create(organization=organization, title="How do I export to CSV?")
    drain()
    assert fresh(ticket).status == TicketStatus.RESOLVED
    response = post_json(api_client(organization), f"/api/tickets/{ticket.pk}/messages",
                         {"body": "Thanks! And to Excel?"})  # fmt: skip
    assert response.status_code == 201
    assert response.json()["status"] == "open" and len(response.json()["runs"]) == 2
    drain()
    ticket = fresh(ticket)
    assert ticket.status == TicketStatus.RESOLVED and ticket.replies.count() == 2
    follow_up = ticket.runs.order_by("-created_at").first()
    conversation = follow_up.steps.get(key="get_ticket_details").output["conversation"]
    assert "Reply to the customer from Customer Support: " in conversation
    assert conversation.endswith("The customer wrote (new): Thanks! And to Excel?")
    assert ticket.messages.get().run_id == follow_up.pk


def test_a_message_while_a_run_is_live_waits_for_it_never_a_second_run(organization, drain):
    ticket = crash(organization)
    drain()
    call_command("ticket", "message", str(ticket.pk), "It also crashes on Android.")
    drain()
    assert support_runs().count() == 1  # it waits: never a second run at once
    assert fresh(ticket).status == TicketStatus.WAITING
    services.question_answer(question=ticket.questions.get(), answered_by="Ann", answer="Fixed.")
    drain()
    runs = list(fresh(ticket).runs.order_by("created_at"))
    assert [r.status for r in runs] == [RunStatus.COMPLETED, RunStatus.WAITING]  # asks again
    conversation = runs[1].steps.get(key="get_ticket_details").output["conversation"]
    assert "Ann answered: Fixed." in conversation
    assert "The customer wrote (new): It also crashes on Android." in conversation


def test_reopening_and_replying_by_hand_are_recorded(organization, drain, ann):
    ticket = services.ticket_create(organization=organization, title="How do I export to CSV?")
    drain()
    services.ticket_close(ticket=ticket, actor="Ann")
    services.ticket_reopen(ticket=fresh(ticket), actor="Ann")
    assert fresh(ticket).status == TicketStatus.OPEN and fresh(ticket).runs.count() == 2
    drain()
    reply = services.ticket_manual_reply(ticket=fresh(ticket), body="Call me on 555-0100.",
                                         user=ann, author="Ann Lee")  # fmt: skip
    assert (reply.agent, reply.written_by) == ("Ann Lee", ann)
    ticket = fresh(ticket)
    assert (ticket.status, ticket.status_reason) == (
        TicketStatus.REPLIED, "replied by hand by Ann Lee (the inbox)"
    )  # fmt: skip
    actions = list(ticket.activity.values_list("action", flat=True))
    assert actions == ["closed", "reopened", "replied by hand"]


def test_an_event_about_a_ticket_that_does_not_exist_fails_visibly(organization, admin, drain):
    """The API refuses it at the door (422); a sender past the door gets a failed run that admin
    lists as an unprocessable event — not only a run row."""
    from supportdesk import durable

    durable.send_events({"name": services.TICKET_CREATED, "data": {"ticketId": 424242}},
                        tenant=services.organization_tenant(organization.pk))  # fmt: skip
    drain()
    page = admin.get("/admin/desk/unprocessableevent/").content.decode()
    assert "Ticket not found: no ticket with id 424242" in page
    assert "app/support.ticket.created" in page
