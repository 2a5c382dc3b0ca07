"""An incident's answer fanned out to six waiting runs, and the worker resuming them killed
(SIGKILL) mid-way: every run still resumes with that answer, and each customer gets exactly one
reply."""

import signal

import pytest

from supportdesk.desk import selectors, services
from supportdesk.desk.models import Question, QuestionStatus
from supportdesk.durable.models import Run, RunStatus
from tests.conftest import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

FAST_RECOVERY = {"DURABLE_LEASE_SECONDS": "1", "DURABLE_SWEEP_SECONDS": "0.3"}
TITLES = ["iOS 17 app crashes on launch", "App crashes at launch on iOS 17",
          "iOS 17: the app crashes on launch", "Crash on launch since iOS 17",
          "The app crashes on launch (iOS 17)", "iOS 17 launch crash"]  # fmt: skip


def test_a_worker_killed_while_a_group_answer_resumes_its_runs(organization, start_worker):
    asking = start_worker(workers=2, extra_env=FAST_RECOVERY)
    tickets = [services.ticket_create(organization=organization, title=title, priority="critical")
               for title in TITLES]  # fmt: skip
    waiting = Question.objects.filter(ticket__in=tickets, status=QuestionStatus.PENDING)
    wait_until(lambda: waiting.count() == len(TITLES), timeout=30)
    [group_id] = set(waiting.values_list("group_id", flat=True))
    asking.stop()

    # The first run to reach its reply kills the worker: some runs resumed, some not yet.
    crashing = start_worker(workers=2, extra_env={
        **FAST_RECOVERY, "DURABLE_CRASH_AT": "before_step:Technical Support.tool.reply_to_customer",
    })  # fmt: skip
    result = services.group_answer(group=selectors.question_group_get(group_id),
                                   answer="Known iOS 17 bug; 3.2.1 fixes it.", answered_by="Ann")
    assert len(result.answered) == len(TITLES)
    assert crashing.process.wait(timeout=30) == -signal.SIGKILL

    start_worker(workers=2, extra_env=FAST_RECOVERY)
    runs = Run.objects.filter(pk__in=[ticket.runs.get().pk for ticket in tickets])
    wait_until(lambda: not runs.exclude(status=RunStatus.COMPLETED).exists(), timeout=60)
    for ticket in tickets:
        [reply] = ticket.replies.values_list("body", flat=True)
        assert "Known iOS 17 bug; 3.2.1 fixes it." in reply
    assert sum(run.recoveries for run in runs) >= 1  # a run was taken over from the dead worker
