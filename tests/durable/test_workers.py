"""The engine with real `run_huey` consumer processes: resume after a wait, and crash recovery."""

import re
from datetime import datetime, timedelta

import pytest

from supportdesk import durable
from supportdesk.durable.models import Run, RunStatus, Wait, WaitKind, WaitStatus
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


# --- delayed wake-ups: the queue's scheduled messages, with the sweeper effectively off ----------
# The sweeper would also enqueue overdue timers (2 s after they are due); at one sweep an hour,
# only the scheduled messages can wake these runs.
SWEEPER_OFF = {"DURABLE_SWEEP_SECONDS": "3600"}
RETRY_BASE = 1.5
# Huey's scheduler enqueues due messages once a second, so a wake-up comes up to ~1 s late; the
# rest leaves room for a loaded machine. (A sweeper would fire them 2 s or more late.)
ON_TIME = timedelta(seconds=1.9)


def ready_worker(start_worker, workers: int = 1, **extra_env):
    """A worker that has completed a run, so startup is not counted in any delay."""
    worker = start_worker(workers=workers, extra_env={**SWEEPER_OFF, **extra_env})
    [sentinel] = durable.send_events({"name": "test/steps", "data": {"count": 1}})
    wait_until(lambda: Run.objects.get(event__event_id=sentinel).status == RunStatus.COMPLETED)
    return worker


def woken_after(run: Run, status: str) -> list[tuple[datetime, datetime]]:
    """(entered `status`, next started running) for each time the run entered `status`."""
    transitions = list(run.transitions.values_list("status", "at"))
    return [
        (at, next(later for state, later in transitions[index:] if state == RunStatus.RUNNING))
        for index, (state, at) in enumerate(transitions)
        if state == status
    ]


def test_worker_retries_a_failing_step_with_a_delay_not_a_sleeping_worker(
    start_worker, side_effect_log
):
    ready_worker(start_worker, workers=1, DURABLE_RETRY_BASE_SECONDS=str(RETRY_BASE))
    durable.send_events({"name": "test/flaky", "data": {"fail_times": 2}, "id": "flaky"})
    wait_until(lambda: run_of("flaky").status == RunStatus.RETRYING)
    # The only worker thread is free during the delay: another run starts and completes.
    durable.send_events({"name": "test/steps", "data": {"count": 2}, "id": "meanwhile"})
    wait_until(lambda: run_of("flaky").status == RunStatus.COMPLETED, timeout=30)

    run = run_of("flaky")
    assert run.output == {"succeeded_on": 3}
    reasons = " | ".join(run.transitions.values_list("reason", flat=True))
    assert re.search(r"call: attempt 1 failed .*call: attempt 2 failed", reasons)
    retries = woken_after(run, RunStatus.RETRYING)
    assert len(retries) == 2
    for attempt, (failed_at, retried_at) in enumerate(retries, start=1):
        delay = timedelta(seconds=RETRY_BASE * 2 ** (attempt - 1))  # base × 2^(n−1)
        tolerance = timedelta(milliseconds=50)  # the transition is stored just after wake_at
        assert delay - tolerance <= retried_at - failed_at <= delay + ON_TIME, (attempt, retries)
    meanwhile = run_of("meanwhile")
    assert meanwhile.status == RunStatus.COMPLETED
    assert retries[0][0] < meanwhile.ended_at < retries[0][1]


def test_sleeps_retries_and_wait_timeouts_wake_on_time_with_the_sweeper_off(
    start_worker, side_effect_log
):
    ready_worker(start_worker, workers=2, DURABLE_RETRY_BASE_SECONDS=str(RETRY_BASE))
    durable.send_events([
        {"name": "test/sleep", "data": {"seconds": 1.5}, "id": "sleeps"},
        {"name": "test/flaky", "data": {"fail_times": 1}, "id": "retries"},
        {"name": "test/wait", "data": {"ticketId": 77, "timeout": 1.5}, "id": "times-out"},
    ])  # fmt: skip
    runs = ["sleeps", "retries", "times-out"]
    wait_until(lambda: all(run_of(r).status == RunStatus.COMPLETED for r in runs), timeout=30)

    sleeper = run_of("sleeps")
    due = sleeper.steps.get(key="nap").wake_at
    [(_, woke)] = woken_after(sleeper, RunStatus.SLEEPING)
    assert due <= woke <= due + ON_TIME

    retrier = run_of("retries")
    [(failed, retried)] = woken_after(retrier, RunStatus.RETRYING)
    delay = timedelta(seconds=RETRY_BASE)
    assert delay - timedelta(milliseconds=50) <= retried - failed <= delay + ON_TIME
    assert retrier.output == {"succeeded_on": 2}

    waiter = run_of("times-out")
    wait = Wait.objects.get(run=waiter, kind=WaitKind.STEP)
    assert wait.status == WaitStatus.TIMED_OUT
    assert wait.expires_at <= wait.resolved_at <= wait.expires_at + ON_TIME
    [(_, resumed)] = woken_after(waiter, RunStatus.WAITING)
    assert resumed <= wait.resolved_at + ON_TIME
    assert waiter.output == {"before": "ready", "answer": None, "after": "done"}
