"""A worker killed around a decided tool call: after the decision and before the call, or during
the call. The call never runs twice, a rejected call never runs, the customer gets one reply."""

import signal

import pytest

from supportdesk.desk import services
from supportdesk.desk.models import Question, Ticket
from supportdesk.durable.models import Run, RunStatus
from tests.conftest import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

FAST_RECOVERY = {"DURABLE_LEASE_SECONDS": "1", "DURABLE_SWEEP_SECONDS": "0.3"}
REPLY_STEP = "Technical Support.tool.reply_to_customer"


def pending_approval(ticket: Ticket) -> Question:
    return wait_until(
        lambda: Question.objects.filter(ticket=ticket, kind="approval", status="pending").first()
    )


def critical_ticket_awaiting_approval(organization, start_worker) -> tuple[Ticket, Question]:
    worker = start_worker(workers=1, extra_env=FAST_RECOVERY)
    ticket = services.ticket_create(organization=organization, title="Checkout crashes",
                                    priority="critical")  # fmt: skip
    question = wait_until(lambda: Question.objects.filter(ticket=ticket).first())
    services.question_answer(question=question, answered_by="Dev", answer="Fixed in 2.4.2.")
    approval = pending_approval(ticket)
    worker.stop()
    return ticket, approval


@pytest.mark.parametrize("boundary", ["before_step", "after_step"])
def test_a_worker_killed_around_an_approved_call_sends_one_reply(
    approving_organization, start_worker, boundary
):
    ticket, approval = critical_ticket_awaiting_approval(approving_organization, start_worker)
    crashing = start_worker(workers=1, extra_env={**FAST_RECOVERY,
                                                  "DURABLE_CRASH_AT": f"{boundary}:{REPLY_STEP}"})
    edited = {"message": "Fixed in 2.4.2: please update."}
    services.approval_decide(approval=approval, decision="edit", arguments=edited,
                             decided_by="Ann")  # fmt: skip
    assert crashing.process.wait(timeout=30) == -signal.SIGKILL
    start_worker(workers=1, extra_env=FAST_RECOVERY)
    run = ticket.runs.get()
    wait_until(lambda: Run.objects.get(pk=run.pk).status == RunStatus.COMPLETED, timeout=30)
    assert list(ticket.replies.values_list("body", flat=True)) == [edited["message"]]
    assert Run.objects.get(pk=run.pk).recoveries == 1


def test_a_worker_killed_after_a_rejection_never_runs_the_rejected_call(
    approving_organization, start_worker
):
    ticket, approval = critical_ticket_awaiting_approval(approving_organization, start_worker)
    # Dies when the agent reads the rejection (its next inference), after the decision.
    crashing = start_worker(workers=1, extra_env={
        **FAST_RECOVERY, "DURABLE_CRASH_AT": "before_step:Technical Support.infer:3"})  # fmt: skip
    services.approval_decide(approval=approval, decision="reject", decided_by="Ann",
                             message="Too early to promise a fix")  # fmt: skip
    assert crashing.process.wait(timeout=30) == -signal.SIGKILL
    start_worker(workers=1, extra_env=FAST_RECOVERY)
    revised = wait_until(
        lambda: Question.objects.filter(ticket=ticket, kind="approval", status="pending")
        .exclude(pk=approval.pk).first(), timeout=30,
    )  # fmt: skip
    assert "Too early to promise a fix" in revised.arguments["message"]
    assert not ticket.replies.exists()  # the rejected call never ran, before or after the crash
