"""The engine contract, point by point, executed in-process as the Huey task executes it."""

import time

import pytest
from django.utils import timezone

from supportdesk import durable
from supportdesk.durable.engine import execute_run
from supportdesk.durable.models import (
    Event,
    Run,
    RunStatus,
    Step,
    StepStatus,
    Wait,
    WaitStatus,
)
from supportdesk.durable.services import run_cancel
from supportdesk.durable.sweeper import sweep
from tests.durable import workflows
from tests.durable.workflows import side_effects

pytestmark = [pytest.mark.django_db(transaction=True)]


def start(name: str, data: dict, event_id: str | None = None) -> Run:
    [sent_id] = durable.send_events({"name": name, "data": data, "id": event_id})
    return Run.objects.get(event__event_id=sent_id)


def drain_until_ended(drain, run: Run, timeout: float = 10) -> None:
    """Drain repeatedly, so runs whose retry delay is still running are executed when it ends."""
    deadline = time.monotonic() + timeout
    while not Run.objects.get(pk=run.pk).is_terminal and time.monotonic() < deadline:
        drain()
        time.sleep(0.02)


def statuses(run: Run) -> list[str]:
    return list(run.transitions.values_list("status", flat=True))


def test_steps_run_once_and_ids_are_auto_indexed(drain, side_effect_log):
    run = start("test/steps", {"count": 3})
    drain()
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert run.output == {"total": 0 + 1 + 2}
    assert list(run.steps.values_list("key", "position", "output")) == [
        ("work", 0, 0), ("work:1", 1, 1), ("work:2", 2, 2),
    ]  # fmt: skip
    assert statuses(run) == ["queued", "running", "completed"]
    assert len(side_effects(side_effect_log)) == 6


def test_replay_returns_stored_results_without_running_step_bodies(drain, side_effect_log):
    run = start("test/wait", {"ticketId": 7})
    drain()
    assert Run.objects.get(pk=run.pk).status == RunStatus.WAITING
    durable.send_events({"name": "test/answer", "data": {"ticketId": 7, "answer": "restart it"}})
    drain()
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert run.output == {"before": "ready", "answer": "restart it", "after": "done"}
    # "before" ran in the first execution only; the replay read its stored result.
    assert side_effects(side_effect_log) == [f"{run.pk} before", f"{run.pk} after"]
    assert statuses(run) == ["queued", "running", "waiting", "queued", "running", "completed"]


def test_wait_matches_only_its_own_ticket(drain):
    first = start("test/wait", {"ticketId": 1})
    second = start("test/wait", {"ticketId": 2})
    drain()
    durable.send_events({"name": "test/answer", "data": {"ticketId": 2, "answer": "two"}})
    durable.send_events({"name": "test/other", "data": {"ticketId": 1, "answer": "wrong name"}})
    drain()
    assert Run.objects.get(pk=first.pk).status == RunStatus.WAITING
    assert Run.objects.get(pk=second.pk).output["answer"] == "two"


def test_if_exp_tells_questions_on_one_ticket_apart(drain):
    q1 = start("test/question", {"ticketId": 5, "questionId": "q1"})
    q2 = start("test/question", {"ticketId": 5, "questionId": "q2"})
    drain()
    answer = {"name": "test/answer", "data": {"ticketId": 5, "questionId": "q2", "answer": "B"}}
    durable.send_events(answer)
    drain()
    assert Run.objects.get(pk=q1.pk).status == RunStatus.WAITING
    assert Run.objects.get(pk=q2.pk).output == "B"
    durable.send_events({**answer, "data": {**answer["data"], "questionId": "q1", "answer": "A"}})
    drain()
    assert Run.objects.get(pk=q1.pk).output == "A"


def test_timeout_resolves_the_wait_to_none(drain, side_effect_log):
    run = start("test/wait", {"ticketId": 3, "timeout": 0.2})
    drain()
    time.sleep(0.3)
    sweep()
    drain()
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert run.output["answer"] is None
    assert Wait.objects.get(run=run, kind="step").status == WaitStatus.TIMED_OUT
    # An answer arriving after the timeout changes nothing.
    durable.send_events({"name": "test/answer", "data": {"ticketId": 3, "answer": "late"}})
    drain()
    assert Run.objects.get(pk=run.pk).output["answer"] is None


def test_duplicate_event_id_starts_no_second_run(drain):
    ids = durable.send_events({"name": "test/steps", "data": {"count": 1}, "id": "evt-1"})
    again = durable.send_events({"name": "test/steps", "data": {"count": 9}, "id": "evt-1"})
    assert ids == again == ["evt-1"]
    assert Run.objects.count() == 1
    assert Event.objects.get(event_id="evt-1").data == {"count": 1}


def test_step_is_retried_with_backoff_then_succeeds(drain, side_effect_log, settings):
    base = 0.1
    settings.DURABLE = {**settings.DURABLE, "RETRY_BASE_SECONDS": base}
    run = start("test/flaky", {"fail_times": 2})
    drain_until_ended(drain, run)
    run.refresh_from_db()
    assert run.output == {"succeeded_on": 3}
    step = run.steps.get(key="call")
    assert (step.status, step.attempts) == (StepStatus.COMPLETED, 3)
    # Each retry ran no sooner than base × 2^(n−1) after its failure, 0.1 s then 0.2 s, and
    # soon after (drain_until_ended looks every 20 ms; the bound leaves room for a busy machine).
    transitions = list(run.transitions.values_list("status", "at"))
    gaps = [
        next(later for state, later in transitions[index:] if state == "running") - failed_at
        for index, (status, failed_at) in enumerate(transitions)
        if status == "retrying"
    ]
    assert len(gaps) == 2
    for attempt, gap in enumerate(gaps, start=1):
        delay = base * 2 ** (attempt - 1)
        assert delay - 0.005 <= gap.total_seconds() <= delay + 0.5, (attempt, gaps)


def test_retries_exhausted_fail_the_run(drain, side_effect_log):
    run = start("test/flaky", {"fail_times": 10})
    drain_until_ended(drain, run)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "ConnectionError: flaky service, attempt 3" in run.error  # retries=2: three attempts
    assert run.steps.get(key="call").status == StepStatus.FAILED


def test_non_retriable_error_fails_at_once(drain, side_effect_log):
    run = start("test/flaky", {"fail_times": 0, "non_retriable": True})
    drain()
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "the ticket does not exist" in run.error
    assert len(side_effects(side_effect_log)) == 1


def test_a_failed_step_can_be_caught_by_the_function(drain, side_effect_log):
    run = start("test/flaky", {"fail_times": 0, "non_retriable": True, "catch": True})
    drain()
    assert Run.objects.get(pk=run.pk).output == {
        "caught": "NonRetriableError: the ticket does not exist"
    }


def test_sleep_and_send_event_are_durable(drain):
    run = start("test/sleep", {"seconds": 0.2})
    drain()
    assert Run.objects.get(pk=run.pk).status == RunStatus.SLEEPING
    time.sleep(0.25)
    drain()
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    [sent] = run.output["sent"]
    assert Event.objects.get(event_id=sent).name == "test/slept"


def test_step_order_change_on_replay_fails_the_run_clearly(drain, monkeypatch):
    monkeypatch.setitem(workflows.ORDER_VARIANT, "value", "a")
    run = start("test/order", {"ticketId": 1})
    drain()
    monkeypatch.setitem(workflows.ORDER_VARIANT, "value", "b")
    durable.send_events({"name": "test/go", "data": {"ticketId": 1}})
    drain()
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "replay reached step 'second' as step 1" in run.error
    assert "step order changed" in run.error


def test_cancel_on_event_cancels_the_waiting_run(drain):
    run = start("test/wait", {"ticketId": 11})
    other = start("test/wait", {"ticketId": 12})
    drain()
    durable.send_events({"name": "test/close", "data": {"ticketId": 11}})
    drain()
    assert Run.objects.get(pk=run.pk).status == RunStatus.CANCELLED
    assert Wait.objects.get(run=run, kind="step").status == WaitStatus.CANCELLED
    assert Run.objects.get(pk=other.pk).status == RunStatus.WAITING
    # The answer that comes after the cancel resumes nothing.
    durable.send_events({"name": "test/answer", "data": {"ticketId": 11, "answer": "x"}})
    drain()
    assert Run.objects.get(pk=run.pk).status == RunStatus.CANCELLED


def test_cancel_takes_effect_at_the_next_step_boundary(drain, side_effect_log):
    run = start("test/steps", {"count": 5})
    original = execute_run

    # Cancel from "outside" while the first step body runs.
    def cancelling_body():
        run_cancel(run.pk, reason="operator")
        return 0

    from supportdesk.durable import engine

    calls = []
    real_run = engine.StepApi.run

    def run_and_cancel_once(self, step_id, fn, *args, **kwargs):
        if not calls:
            calls.append(step_id)
            return real_run(self, step_id, cancelling_body, kind="run")
        return real_run(self, step_id, fn, *args, **kwargs)

    engine.StepApi.run = run_and_cancel_once
    try:
        assert original(run.pk) == "lease lost"
    finally:
        engine.StepApi.run = real_run
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert run.steps.count() == 0  # the step that ran when the cancel landed was not stored
    assert side_effects(side_effect_log) == []


def test_a_crashed_execution_is_recovered_through_the_sweeper(side_effect_log):
    from huey.contrib.djhuey import HUEY

    from tests.durable.workflows import WorkerDied

    HUEY.flush()
    run = start("test/dies-once", {})
    HUEY.flush()  # the queue's first message is gone with the dead worker
    with pytest.raises(WorkerDied):  # dies in the body of step 2 ("second")
        execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING
    assert list(run.steps.values_list("key", flat=True)) == ["first"]
    assert sweep()["runs_recovered"] == 0  # its lease has not expired: the worker may be alive
    past = timezone.now() - timezone.timedelta(seconds=60)
    Run.objects.filter(pk=run.pk).update(lease_expires_at=past, updated_at=past)
    assert sweep()["runs_recovered"] == 1
    assert sweep()["runs_recovered"] == 0  # enqueued once, not at every sweep
    [task] = HUEY.pending()
    assert task.args == (str(run.pk), run.tenant)
    assert execute_run(*task.args) == "completed"  # what the worker that takes the task runs
    run.refresh_from_db()
    assert (run.output, run.recoveries) == (3, 1)
    assert side_effects(side_effect_log) == [
        f"{run.pk} first", f"{run.pk} second", f"{run.pk} second",
    ]  # fmt: skip
    reasons = list(run.transitions.values_list("reason", flat=True))
    assert reasons[2].startswith("recovered: the worker's lease expired (recovery 1 of at most 4)")


def test_an_expired_lease_is_taken_over_by_one_execution_only(side_effect_log):
    run = start("test/steps", {"count": 1})
    Run.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, lease_owner="dead-worker", lease_expires_at=run.created_at
    )
    assert execute_run(run.pk) == "completed"
    assert execute_run(run.pk) == "not runnable"
    assert Run.objects.get(pk=run.pk).recoveries == 1
    assert side_effects(side_effect_log).count(f"{run.pk} step 0 start") == 1


def test_step_result_over_the_limit_fails_with_a_clear_error(drain, settings):
    settings.DURABLE = {**settings.DURABLE, "MAX_STEP_OUTPUT_BYTES": 1000}

    @durable.function(id="test-big", trigger="test/big")
    def big(ctx):
        return ctx.step.run("big", lambda: "x" * 5000)

    run = start("test/big", {})
    drain()
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "5,002 bytes; the limit is 1,000 bytes" in run.error
    assert Step.objects.get(run=run).status == StepStatus.FAILED


def test_invalid_events_are_refused_with_a_message_and_nothing_is_stored():
    with pytest.raises(ValueError, match="event 1: name: String should have at least 1 character"):
        durable.send_events([{"name": "ok", "data": {}}, {"name": "", "data": {}}])
    with pytest.raises(ValueError, match="data: Input should be a valid dictionary"):
        durable.send_events({"name": "x", "data": [1, 2]})
    assert Event.objects.count() == 0


def test_a_failed_run_is_retried_from_its_failed_step(drain, side_effect_log):
    from supportdesk.durable.services import run_retry

    run = start("test/flaky", {"fail_times": 4})
    drain_until_ended(drain, run)
    assert Run.objects.get(pk=run.pk).status == RunStatus.FAILED
    assert run_retry(run.pk, reason="retried by ann")
    assert not run_retry(run.pk)  # only a failed run can be retried
    drain_until_ended(drain, run)
    run.refresh_from_db()
    # The step fails its first four attempts: three before the retry, one after, then succeeds.
    assert run.status == RunStatus.COMPLETED
    assert run.output == {"succeeded_on": 5}
    assert run.transitions.filter(reason="retried by ann").exists()


def test_retry_keeps_completed_steps_memoized(drain, side_effect_log):
    from supportdesk.durable.services import run_retry

    run = start("test/wait", {"ticketId": 77})
    drain()
    # Fail it by force after its first step completed, as a crash outside steps would.
    Run.objects.filter(pk=run.pk).update(status=RunStatus.FAILED, error="boom")
    Step.objects.filter(run=run, key="answer").update(status=StepStatus.FAILED)
    assert run_retry(run.pk)
    drain()
    run.refresh_from_db()
    assert run.status == RunStatus.WAITING
    assert side_effects(side_effect_log) == [f"{run.pk} before"]  # "before" did not run again


def test_an_event_whose_ts_is_in_the_future_starts_its_runs_then(drain, side_effect_log):
    """Inngest's delayed start: the run sleeps until the event's `ts`, holding no worker, and
    its `cancel_on` holds meanwhile."""
    later = timezone.now() + timezone.timedelta(hours=1)
    ts = int(later.timestamp() * 1000)
    [scheduled_id, cancelled_id] = durable.send_events([
        {"name": "test/steps", "data": {"count": 2}, "ts": ts},
        {"name": "test/wait", "data": {"ticketId": 31}, "ts": ts},
    ])  # fmt: skip
    scheduled = Run.objects.get(event__event_id=scheduled_id)
    assert scheduled.status == RunStatus.SLEEPING
    assert round(scheduled.wake_at.timestamp() * 1000) == ts
    assert "scheduled for" in scheduled.transitions.get().reason
    assert drain() == 0 and execute_run(scheduled.pk, scheduled.tenant) == "not runnable"
    assert side_effects(side_effect_log) == []
    durable.send_events({"name": "test/close", "data": {"ticketId": 31}})
    assert Run.objects.get(event__event_id=cancelled_id).status == RunStatus.CANCELLED

    Run.objects.filter(pk=scheduled.pk).update(wake_at=timezone.now())  # the hour has passed
    drain()
    scheduled.refresh_from_db()
    assert (scheduled.status, scheduled.output) == (RunStatus.COMPLETED, {"total": 0 + 1})
    assert statuses(scheduled) == ["sleeping", "running", "completed"]


def test_an_event_whose_ts_is_past_starts_its_runs_at_once(drain):
    [event_id] = durable.send_events({"name": "test/steps", "data": {"count": 1}, "ts": 1_000})
    run = Run.objects.get(event__event_id=event_id)
    assert run.status == RunStatus.QUEUED
    drain()
    assert Run.objects.get(pk=run.pk).status == RunStatus.COMPLETED
