"""The engine with real `run_huey` consumer processes: resume after a wait, and crash recovery."""

import re

import pytest

from supportdesk import durable
from supportdesk.durable.models import Run, RunStatus
from tests.conftest import wait_until
from tests.durable.workflows import side_effects

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def run_of(event_id: str) -> Run:
    return Run.objects.get(event__event_id=event_id)


def test_a_worker_runs_pauses_without_holding_a_worker_and_resumes(start_worker, side_effect_log):
    start_worker(workers=1)
    durable.send_events({"name": "test/wait", "data": {"ticketId": 42}, "id": "w1"})
    wait_until(lambda: run_of("w1").status == RunStatus.WAITING)
    # With its only worker thread free, the same consumer runs other work meanwhile.
    durable.send_events({"name": "test/steps", "data": {"count": 2}, "id": "s1"})
    wait_until(lambda: run_of("s1").status == RunStatus.COMPLETED)
    durable.send_events({"name": "test/answer", "data": {"ticketId": 42, "answer": "yes"}})
    wait_until(lambda: run_of("w1").status == RunStatus.COMPLETED)
    assert run_of("w1").output == {"before": "ready", "answer": "yes", "after": "done"}
    run_id = run_of("w1").pk
    assert [line for line in side_effects(side_effect_log) if line.startswith(str(run_id))] == [
        f"{run_id} before",
        f"{run_id} after",
    ]


def test_sigkilled_worker_run_is_recovered_without_repeating_completed_steps(
    start_worker, side_effect_log
):
    worker = start_worker(workers=1)
    durable.send_events({"name": "test/steps", "data": {"count": 3, "pause": 1.0}, "id": "crash"})
    run_id = str(wait_until(lambda: Run.objects.filter(event__event_id="crash").first()).pk)
    wait_until(lambda: f"{run_id} step 1 start" in side_effects(side_effect_log))
    worker.kill()  # SIGKILL mid-step: step 0 is checkpointed, step 1 is in flight.
    assert run_of("crash").status == RunStatus.RUNNING

    start_worker(workers=1)
    wait_until(lambda: run_of("crash").status == RunStatus.COMPLETED, timeout=30)

    lines = side_effects(side_effect_log)
    counts = {step: lines.count(f"{run_id} step {step} start") for step in range(3)}
    assert counts == {0: 1, 1: 2, 2: 1}  # the completed step never ran again; the in-flight one did
    assert run_of("crash").output == {"total": 3}
    reasons = list(run_of("crash").transitions.values_list("reason", flat=True))
    assert any(r.startswith("recovered: the worker's lease expired") for r in reasons)


def test_worker_retries_a_failing_step_with_a_delay_not_a_sleeping_worker(
    start_worker, side_effect_log
):
    start_worker(workers=1)
    durable.send_events({"name": "test/flaky", "data": {"fail_times": 2}, "id": "flaky"})
    wait_until(lambda: run_of("flaky").status == RunStatus.COMPLETED)
    run = run_of("flaky")
    assert run.output == {"succeeded_on": 3}
    reasons = " | ".join(run.transitions.values_list("reason", flat=True))
    assert re.search(r"call: attempt 1 failed .*call: attempt 2 failed", reasons)
