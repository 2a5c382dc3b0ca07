"""Reviewers decide what the agent does: a gated tool call waits for approve, edit, reject or
respond — once, audited, replay-safe — and a timeout never approves."""

import json
import time

import pytest
from django.core.management import call_command

from supportdesk.desk import services
from supportdesk.desk.errors import Conflict, InvalidField, InvalidFields
from supportdesk.desk.models import AgentConfig, Question, QuestionStatus, Ticket, TicketStatus
from supportdesk.durable.models import Run, RunStatus
from supportdesk.durable.sweeper import sweep
from tests.conftest import in_threads

pytestmark = [pytest.mark.django_db(transaction=True)]


def reply_awaiting_approval(organization, drain, title="The app crashes on launch") -> Question:
    """A critical ticket: the developer's answer comes, then the reply waits for approval."""
    ticket = services.ticket_create(organization=organization, title=title, priority="critical")
    drain()
    services.question_answer(question=ticket.questions.get(), answered_by="Dev",
                             answer="Fixed in 2.4.2.")  # fmt: skip
    drain()
    return ticket.questions.get(kind="approval", status=QuestionStatus.PENDING)


def replies(approval: Question) -> list[str]:
    return list(approval.ticket.replies.values_list("body", flat=True))


def test_the_demo_gates_replies_on_critical_tickets_only(approving_organization, drain):
    approval = reply_awaiting_approval(approving_organization, drain)
    assert (approval.agent, approval.tool) == ("Technical Support", "reply_to_customer")
    assert approval.arguments["message"].endswith("Our engineering team says: Fixed in 2.4.2.")
    assert approval.tool_schema["required"] == ["message"]
    ticket = Ticket.objects.get(pk=approval.ticket_id)
    assert ticket.status == TicketStatus.WAITING
    assert ticket.status_reason == "Technical Support asks a reviewer to approve reply_to_customer"
    assert not ticket.replies.exists()  # nothing sent before the decision
    routine = services.ticket_create(organization=approving_organization, title="Export to CSV?")
    drain()
    assert routine.replies.count() == 1 and not routine.questions.exists()


def test_approve_runs_the_call_as_proposed(approving_organization, drain):
    approval = reply_awaiting_approval(approving_organization, drain)
    services.approval_decide(approval=approval, decision="approve", decided_by="Ann")
    drain()
    assert replies(approval) == [approval.arguments["message"]]
    ticket = Ticket.objects.get(pk=approval.ticket_id)
    assert ticket.status == TicketStatus.RESOLVED
    assert ticket.runs.get().status == RunStatus.COMPLETED


def test_edit_runs_the_call_with_the_reviewers_arguments(approving_organization, drain):
    approval = reply_awaiting_approval(approving_organization, drain)
    edited = {"message": "Fixed in 2.4.2 — update from the App Store and restart the app."}
    services.approval_decide(approval=approval, decision="edit", arguments=edited,
                             decided_by="Ann")  # fmt: skip
    drain()
    assert replies(approval) == [edited["message"]]
    approval.refresh_from_db()
    assert (approval.decision, approval.decided_arguments) == ("edit", edited)
    assert approval.arguments["message"].endswith("Fixed in 2.4.2.")  # the proposal is kept


def test_reject_doesnt_run_the_call_and_the_agent_revises(approving_organization, drain):
    approval = reply_awaiting_approval(approving_organization, drain)
    services.approval_decide(approval=approval, decision="reject", decided_by="Ann",
                             message="Mention the workaround first")  # fmt: skip
    drain()
    assert replies(approval) == []  # the rejected call never ran
    revised = Question.objects.get(ticket_id=approval.ticket_id, kind="approval",
                                   status=QuestionStatus.PENDING)  # fmt: skip
    assert "(Revised after review: Mention the workaround first.)" in revised.arguments["message"]
    services.approval_decide(approval=revised, decision="approve", decided_by="Ann")
    drain()
    assert replies(approval) == [revised.arguments["message"]]


def test_respond_gives_the_agent_guidance_instead_of_running_the_call(
    approving_organization, drain
):
    approval = reply_awaiting_approval(approving_organization, drain)
    services.approval_decide(approval=approval, decision="respond", decided_by="Ann",
                             message="Tell them the fix ships tonight; no workaround.")  # fmt: skip
    drain()
    assert replies(approval) == []
    guided = Question.objects.get(ticket_id=approval.ticket_id, kind="approval",
                                  status=QuestionStatus.PENDING)  # fmt: skip
    assert guided.arguments["message"].endswith("Tell them the fix ships tonight; no workaround.")


def test_a_timeout_never_approves(approving_organization, drain, settings):
    approval = reply_awaiting_approval(approving_organization, drain)
    settings.QUESTION_ANSWER_GRACE = 0
    Question.objects.filter(pk=approval.pk).update(expires_at=approval.created_at)
    from supportdesk.durable.models import Wait

    Wait.objects.filter(run=approval.run, status="pending", kind="step").update(
        expires_at=approval.created_at
    )
    time.sleep(0.05)
    sweep()
    drain()
    approval.refresh_from_db()
    assert approval.status == QuestionStatus.EXPIRED
    assert replies(approval) == []  # nothing ran
    ticket = Ticket.objects.get(pk=approval.ticket_id)
    assert ticket.status == TicketStatus.NEEDS_ATTENTION
    assert ticket.status_reason == (
        "nobody decided on Technical Support's call of reply_to_customer in time: it did not run"
    )
    result = approval.run.steps.filter(kind="tool", key__contains="reply_to_customer")
    assert not result.exists()  # the call's step never happened
    with pytest.raises(Conflict, match="expired"):
        services.approval_decide(approval=approval, decision="approve", decided_by="Late")


def test_two_reviewers_deciding_at_once_one_wins_and_the_other_is_told(
    approving_organization, drain
):
    approval = reply_awaiting_approval(approving_organization, drain)
    decided: list[str] = []

    def decide(who: str, decision: str, message: str = ""):
        def attempt():
            fresh = Question.objects.get(pk=approval.pk)
            services.approval_decide(approval=fresh, decision=decision, decided_by=who,
                                     message=message)  # fmt: skip
            decided.append(who)

        return attempt

    errors = in_threads(decide("Ann", "approve"), decide("Bob", "reject", "No"))
    assert len(decided) == 1 and len(errors) == 1
    winner = Question.objects.get(pk=approval.pk)
    assert f"already decided by {decided[0]} at " in str(errors[0])
    assert winner.get_decision_display() in str(errors[0])
    drain()
    assert len(replies(approval)) == (1 if decided == ["Ann"] else 0)


@pytest.mark.parametrize(
    ("decision", "arguments", "message", "error", "says"),
    [
        ("edit", {"message": 42}, "", InvalidFields, "arguments.message: Input should be a valid"),
        ("edit", {}, "", InvalidFields, "arguments.message: Field required"),
        ("edit", {"message": "ok", "cc": "boss"}, "", InvalidFields, "unknown field"),
        ("approve", {"message": "x"}, "", InvalidField, "approve runs the call as proposed"),
        ("reject", None, "  ", Exception, "a reason must not be blank"),
        ("sideways", None, "", InvalidField, "decision must be one of approve, edit"),
    ],
)
def test_bad_decisions_are_refused_and_nothing_runs(
    approving_organization, drain, decision, arguments, message, error, says
):
    approval = reply_awaiting_approval(approving_organization, drain)
    with pytest.raises(error, match=says):
        services.approval_decide(approval=approval, decision=decision, arguments=arguments,
                                 message=message, decided_by="Ann")  # fmt: skip
    drain()
    assert Question.objects.get(pk=approval.pk).status == QuestionStatus.PENDING
    assert replies(approval) == []


def test_a_question_is_answered_not_decided_and_an_approval_decided_not_answered(
    approving_organization, drain
):
    ticket = services.ticket_create(organization=approving_organization, title="Crash",
                                    priority="critical")  # fmt: skip
    drain()
    with pytest.raises(Conflict, match="this is a question, not a proposed tool call"):
        services.approval_decide(approval=ticket.questions.get(), decision="approve",
                                 decided_by="Ann")  # fmt: skip
    services.question_answer(question=ticket.questions.get(), answered_by="Dev", answer="Fixed.")
    drain()
    with pytest.raises(Conflict, match="this is a proposed tool call, not a question"):
        services.question_answer(question=ticket.questions.get(kind="approval"),
                                 answered_by="Ann", answer="yes")  # fmt: skip


def test_the_command_line_lists_and_decides_approvals(approving_organization, drain, capsys):
    approval = reply_awaiting_approval(approving_organization, drain)
    call_command("question", "list")
    listed = capsys.readouterr().out
    line = next(line for line in listed.splitlines() if line.startswith(str(approval.pk)))
    assert " approval: Technical Support wants to call reply_to_customer(" in line
    edited = json.dumps({"message": "Fixed in 2.4.2, from the CLI."})
    call_command("question", "decide", str(approval.pk), "edit", "--arguments", edited,
                 "--by", "ann")  # fmt: skip
    assert "edited and approved Technical Support's call of reply_to_customer" in (
        capsys.readouterr().out
    )
    drain()
    assert replies(approval) == ["Fixed in 2.4.2, from the CLI."]
    approval.refresh_from_db()
    assert (approval.answered_by, approval.answered_via) == ("ann", "cli")


def test_an_approval_policy_for_every_tool_from_admin(approving_organization, drain):
    """Any tool can be gated: here the knowledge-base search, always."""
    AgentConfig.objects.filter(organization=approving_organization,
                               name="Customer Support").update(
        tool_approvals={"search_knowledge_base": {"mode": "always"}}
    )  # fmt: skip
    ticket = services.ticket_create(organization=approving_organization, title="Export to CSV?")
    drain()
    approval = ticket.questions.get(kind="approval")
    assert approval.tool == "search_knowledge_base" and not ticket.replies.exists()
    services.approval_decide(approval=approval, decision="approve", decided_by="Ann")
    drain()
    assert ticket.replies.count() == 1
    assert Run.objects.get(pk=approval.run_id).status == RunStatus.COMPLETED


def test_a_proposed_calls_fields_keep_their_tools_order_in_storage(approving_organization, drain):
    """PostgreSQL's jsonb orders keys by length, then bytes: the form and the card must still
    show a tool's fields in the order the tool declares them, in both modes."""
    from agents.approvals import ApprovalRequest
    from supportdesk.inbox.argument_forms import fields_for
    from supportdesk.inbox.templatetags.inbox_extras import readable_arguments

    reply = reply_awaiting_approval(approving_organization, drain)
    declared = ["message_to_customer", "tone", "cc", "attachments_count"]
    schema = {"type": "object", "required": ["message_to_customer"], "properties": {
        "message_to_customer": {"type": "string"}, "tone": {"enum": ["warm", "formal"]},
        "cc": {"type": "string"}, "attachments_count": {"type": "integer"},
    }}  # fmt: skip
    arguments = {"tone": "warm", "attachments_count": 0, "cc": "", "message_to_customer": "Hi"}
    services.approval_open(
        question_id="5b0c1e7a-0000-4000-8000-0000000000aa", ticket_id=reply.ticket_id,
        run_id=reply.run_id, expires_at=reply.expires_at,
        request=ApprovalRequest(agent="Billing", tool="send_mail", call_id="toolu_9",
                                arguments=arguments, json_schema=schema),
    )  # fmt: skip
    stored = Question.objects.get(pk="5b0c1e7a-0000-4000-8000-0000000000aa")
    assert list(stored.proposed_arguments) == declared
    assert [field.name for field in fields_for(stored.tool_schema, stored.proposed_arguments)] \
        == declared  # fmt: skip
    labels = [label for label, _text, _prose in readable_arguments(stored.proposed_arguments)]
    assert labels == ["Message to customer", "Tone", "Cc", "Attachments count"]
    stored.decided_arguments = {"cc": "x@example.com", "tone": "formal"}
    assert list(stored.edited_arguments) == ["tone", "cc"]
