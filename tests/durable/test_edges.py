"""The engine at its edges: step keys, replay checks, unstorable results, crash loops, leases that
can't be renewed, infrastructure failures inside the step API, numbers in matches."""

import os
import threading
import time
from pathlib import Path

import pytest
from django.db import OperationalError
from django.db.models.query import QuerySet
from django.utils import timezone

from agents import Agent, Network, tool
from agents.models.testing import FunctionModel, ScriptedModel, text, tool_call
from supportdesk import durable
from supportdesk.durable.engine import execute_run
from supportdesk.durable.models import Run, RunStatus, Step, StepStatus, Wait, WaitStatus
from supportdesk.durable.services import run_cancel, run_retry
from supportdesk.durable.sweeper import sweep
from tests.durable import workflows
from tests.durable.workflows import side_effects

pytestmark = [pytest.mark.django_db(transaction=True)]


def start(name: str, data: dict) -> Run:
    [event_id] = durable.send_events({"name": name, "data": data})
    return Run.objects.get(event__event_id=event_id)


@pytest.fixture
def variant(monkeypatch):
    def set_variant(value: str) -> None:
        monkeypatch.setitem(workflows.VARIANT, "value", value)

    set_variant("a")
    return set_variant


def test_caller_ids_that_look_auto_indexed_get_keys_of_their_own(drain):
    """`fetch`, `fetch`, `fetch:1`: the second was stored as `fetch:1` and the third collided."""
    run = start("test/colliding-ids", {})
    drain()
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED, run.error
    assert run.output == [0, 1, 2, 3, 4]
    keys = list(run.steps.values_list("key", flat=True))
    assert keys == ["fetch", "fetch:1", "fetch:1:1", "fetch:1:2", "fetch:2"]
    # A replay finds each step under the same key: nothing runs again.
    Run.objects.filter(pk=run.pk).update(status=RunStatus.QUEUED)
    assert execute_run(run.pk) == "completed"
    assert Run.objects.get(pk=run.pk).output == [0, 1, 2, 3, 4]


def test_a_step_whose_kind_changed_is_a_step_order_change(drain, variant):
    """Code that turned `wait_for_event("x")` into `step.run("x", fn)` got the stored event back
    as fn's result."""
    run = start("test/kind-change", {"key": 1})
    drain()
    durable.send_events({"name": "test/go", "data": {"key": 1, "secret": "an event"}})
    variant("b")
    drain()
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "replay reached step 'x' as a 'run' step, but the stored run has a 'wait'" in run.error
    assert "step order changed" in run.error


def test_replay_refuses_a_new_step_below_the_highest_stored_one(drain, variant, side_effect_log):
    run = start("test/gap", {"key": 1})
    drain()
    assert Run.objects.get(pk=run.pk).status == RunStatus.WAITING
    # Steps are stored at positions 0 (before), 2 (after) and 3 (end): 1 is the refused wait.
    assert list(run.steps.values_list("position", flat=True)) == [0, 2, 3]
    variant("b")  # now the wait at position 1 would register: the history would fork
    durable.send_events({"name": "test/end", "data": {"key": 1}})
    drain()
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert (
        "replay reached step 'ask' as step 2, but the stored run already went on to 'end'"
        in run.error
    )
    assert not Wait.objects.filter(run=run, step_key="ask").exists()
    assert side_effects(side_effect_log) == [f"{run.pk} before", f"{run.pk} after"]


def test_a_function_ending_before_its_stored_steps_fails_whatever_the_gaps(drain, variant):
    """`check_all_reached` compared counts: stored positions 0 and 2, a replay ending at 2
    reached "two steps" and passed."""
    run = start("test/early-end", {})
    drain()
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert list(run.steps.values_list("key", "position")) == [("a", 0), ("b", 2)]
    variant("b")
    Run.objects.filter(pk=run.pk).update(status=RunStatus.QUEUED)
    execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "the function ended without reaching stored steps ['b']" in run.error


@pytest.mark.parametrize("what", ["nul", "surrogate"])
def test_results_postgres_refuses_fail_clearly_in_both_modes(drain, what, side_effect_log):
    """A NUL passed to_json, jsonb refused it at the checkpoint, and the DataError reached user
    code: the step body ran again on every retry. Both modes now refuse it, once, clearly."""
    run = start("test/unstorable", {"what": what})
    drain()
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    expected = {"nul": "contains a NUL character", "surrogate": "contains an unpaired surrogate"}
    assert f"the step's result cannot be stored: $.text: the string {expected[what]}" in run.error
    assert side_effects(side_effect_log) == [f"{run.pk} body"]  # not retried: it can't succeed
    assert Step.objects.get(run=run).status == StepStatus.FAILED


def test_a_match_on_a_long_value_is_indexed_in_both_modes(drain):
    """A 600-character ticket id made PostgreSQL refuse the wait (varchar 512): the key is a
    hash now, the same length for every value."""
    long_id = "t" * 600
    run = start("test/wait", {"ticketId": long_id})
    drain()
    assert Run.objects.get(pk=run.pk).status == RunStatus.WAITING
    durable.send_events({"name": "test/answer", "data": {"ticketId": long_id, "answer": "yes"}})
    drain()
    assert Run.objects.get(pk=run.pk).output["answer"] == "yes"


def test_numbers_match_as_numbers(drain):
    """7 and 7.0 are one JSON number: the wait on 7 is found through the index by 7.0."""
    run = start("test/wait", {"ticketId": 7})
    drain()
    durable.send_events({"name": "test/answer", "data": {"ticketId": "7", "answer": "string"}})
    drain()
    assert Run.objects.get(pk=run.pk).status == RunStatus.WAITING
    durable.send_events({"name": "test/answer", "data": {"ticketId": 7.0, "answer": "float"}})
    drain()
    assert Run.objects.get(pk=run.pk).output["answer"] == "float"


def expire_lease(run: Run) -> None:
    """What time does to a dead worker's run: its lease is simply never renewed."""
    past = timezone.now() - timezone.timedelta(seconds=60)
    Run.objects.filter(pk=run.pk).update(lease_expires_at=past, updated_at=past)


def test_a_step_that_kills_its_worker_every_time_fails_the_run_past_its_retries(side_effect_log):
    """Recoveries were counted nowhere: a step that kills its worker was executed again without
    bound. Now each recovery is counted, and past the function's retries (2) the run fails."""
    run = start("test/dies", {})
    for _ in range(3):  # the first execution and two recoveries: each dies in the step
        with pytest.raises(workflows.WorkerDied):
            execute_run(run.pk)
        assert Run.objects.get(pk=run.pk).status == RunStatus.RUNNING
        expire_lease(run)
    assert sweep()["runs_recovered"] == 1  # the sweeper hands it out again ...
    assert execute_run(run.pk) == "failed"  # ... and the third recovery gives up
    run.refresh_from_db()
    assert run.recoveries == 3
    assert "ended without a verdict 3 times" in run.error
    assert "before its first step" in run.error
    assert len(side_effects(side_effect_log)) == 3
    reasons = list(run.transitions.values_list("reason", flat=True))
    assert sum(r.startswith("recovered: the worker's lease expired") for r in reasons) == 3


def fail_lease_renewals(monkeypatch, *, times: int) -> list[float]:
    """Make the lease keeper's renewals fail `times` times (database is locked), whatever code
    path they take: every UPDATE issued from a lease-keeper thread."""
    failures: list[float] = []
    real_update = QuerySet.update

    def update(self, **kwargs):
        if threading.current_thread().name.startswith("lease-") and len(failures) < times:
            failures.append(time.monotonic())
            raise OperationalError("database is locked")
        return real_update(self, **kwargs)

    monkeypatch.setattr(QuerySet, "update", update)
    return failures


@pytest.mark.slow
def test_one_failed_renewal_does_not_end_the_lease(monkeypatch, side_effect_log):
    """The keeper's try wrapped its loop: one transient error stopped renewal, the lease lapsed
    while the worker lived, and a second execution ran the same step body at once."""
    failures = fail_lease_renewals(monkeypatch, times=1)
    run = start("test/steps", {"count": 1, "pause": 4.5})  # the lease is 3 s, renewed each 1 s
    first = threading.Thread(target=execute_run, args=(run.pk,))
    first.start()
    time.sleep(3.7)  # past the first lease: had renewal stopped, the run would be up for grabs
    assert failures, "the renewal was never attempted"
    assert execute_run(run.pk) == "not runnable"
    first.join()
    assert Run.objects.get(pk=run.pk).status == RunStatus.COMPLETED
    assert side_effects(side_effect_log).count(f"{run.pk} step 0 start") == 1


@pytest.mark.slow
def test_a_lease_that_could_not_be_renewed_stops_the_execution_at_the_next_step(
    monkeypatch, side_effect_log
):
    fail_lease_renewals(monkeypatch, times=10**6)
    run = start("test/slow-between", {"pause": 3.5})  # longer than the 3 s lease
    assert execute_run(run.pk) == "lease lost"
    assert side_effects(side_effect_log) == [f"{run.pk} a"]  # step b never started
    monkeypatch.undo()
    expire_lease(run)
    assert execute_run(run.pk) == "completed"  # recovered by the next execution


def run_updates(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith('UPDATE "durable_run"')]


def test_step_boundaries_check_the_lease_without_writing_the_run(side_effect_log):
    """Every checkpoint renewed the lease: a write of the run row (and of its indexes) per step.
    A step boundary now only checks that the execution still holds the lease (a row lock on
    PostgreSQL) while the last renewal is fresh: a 50-step run writes its row to take the lease
    and to end, not once per step."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    run = start("test/steps", {"count": 50})
    with CaptureQueriesContext(connection) as queries:
        assert execute_run(run.pk) == "completed"
    assert Step.objects.filter(run=run).count() == 50
    assert len(run_updates(queries.captured_queries)) == 2  # the lease taken; the run finished


def test_a_checkpoint_after_the_lease_was_taken_over_stores_nothing(side_effect_log):
    """The fence without the renewal: another execution took the lease while a step ran (this
    one was presumed dead); the step's result is not stored and the execution stops."""
    run = start("test/steps", {"count": 2, "pause": 0.5})
    outcome: list[str] = []
    worker = threading.Thread(target=lambda: outcome.append(execute_run(run.pk)))
    worker.start()
    wait_for_line(f"{run.pk} step 0 start")
    Run.objects.filter(pk=run.pk).update(lease_owner="another-execution")  # the takeover
    worker.join()
    assert outcome == ["lease lost"]
    assert not Step.objects.filter(run=run).exists()
    assert side_effects(side_effect_log).count(f"{run.pk} step 1 start") == 0


def test_a_checkpoint_after_the_run_was_cancelled_stores_nothing(side_effect_log):
    run = start("test/steps", {"count": 2, "pause": 0.5})
    outcome: list[str] = []
    worker = threading.Thread(target=lambda: outcome.append(execute_run(run.pk)))
    worker.start()
    wait_for_line(f"{run.pk} step 0 start")
    assert run_cancel(run.pk, reason="cancelled meanwhile")
    worker.join()
    assert outcome == ["lease lost"]
    assert not Step.objects.filter(run=run).exists()
    assert Run.objects.get(pk=run.pk).status == RunStatus.CANCELLED


def wait_for_line(line: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while line not in side_effects(Path(os.environ["SIDE_EFFECT_LOG"])):
        assert time.monotonic() < deadline, f"never saw {line!r}"
        time.sleep(0.01)


def test_a_retried_run_still_stops_for_its_cancel_on_events(drain, monkeypatch):
    monkeypatch.setitem(workflows.RETRY_FAILS, "value", True)
    run = start("test/retry-cancel", {"ticketId": 31})
    drain()
    assert Run.objects.get(pk=run.pk).status == RunStatus.FAILED
    monkeypatch.setitem(workflows.RETRY_FAILS, "value", False)
    assert run_retry(run.pk)
    drain()
    assert Run.objects.get(pk=run.pk).status == RunStatus.WAITING
    durable.send_events({"name": "test/close", "data": {"ticketId": 31}})
    drain()
    assert Run.objects.get(pk=run.pk).status == RunStatus.CANCELLED
    assert not Wait.objects.filter(run=run, status=WaitStatus.PENDING).exists()


# --- infrastructure errors are not tool results ---------------------------------------------------
REGISTRATION_FAILURES = {"left": 0}


@tool(durable=True)
def ask_a_human(question: str, ctx) -> dict:
    """Ask a human and wait."""

    def register():
        if REGISTRATION_FAILURES["left"]:
            REGISTRATION_FAILURES["left"] -= 1
            raise OperationalError("could not serialize access due to concurrent update")

    answer = ctx.step.wait_for_event(
        "ask", event="test/answer", timeout="1h", match="data.key", on_register=register
    )
    return {"answer": answer and answer["data"]["answer"]}


def asks_then_thanks(request):
    answered = any(
        block.get("type") == "tool_result"
        for message in request.messages if isinstance(message["content"], list)
        for block in message["content"]
    )  # fmt: skip
    return text("Thanks, done.") if answered else tool_call("ask_a_human", {"question": "Safe?"})


@durable.function(id="test-asks-a-human", trigger="test/asks-a-human")
def asks_a_human(ctx):
    agent = Agent(name="Helper", system="Help.", tools=[ask_a_human])
    network = Network(name="n", agents=[agent], default_model=FunctionModel(asks_then_thanks),
                      router=lambda rc: agent if rc.call_count < 2 else None)  # fmt: skip
    outcome = network.run("help me", step=ctx.step)
    return [call.result for result in outcome.results for call in result.tool_calls]


def test_an_infrastructure_error_registering_a_wait_interrupts_the_run(monkeypatch, drain):
    """A transient database error while `ask_developer` registered its wait was shown to the model
    as a tool result, and a later replay registered the wait and diverged from the run's history.
    Now it interrupts the execution (lease released, run retried), out of the tool's reach."""
    monkeypatch.setitem(REGISTRATION_FAILURES, "left", 1)
    run = start("test/asks-a-human", {"key": 5})
    assert execute_run(run.pk) == "interrupted"
    run.refresh_from_db()
    assert (run.status, run.recoveries) == (RunStatus.RETRYING, 1)
    assert run.lease_owner == "" and run.wake_at is not None
    assert "could not serialize access" in run.transitions.last().reason
    assert list(run.steps.values_list("key", flat=True)) == ["Helper.infer"]  # no wait stored
    assert not Wait.objects.filter(run=run, kind="step").exists()
    Run.objects.filter(pk=run.pk).update(wake_at=timezone.now())
    drain()
    assert Run.objects.get(pk=run.pk).status == RunStatus.WAITING
    durable.send_events({"name": "test/answer", "data": {"key": 5, "answer": "yes"}})
    drain()
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED, run.error
    assert run.output == [{"answer": "yes"}]  # the model never saw the database's error


# --- who acted is stored, not parsed out of keys --------------------------------------------------
@tool
def lookup(topic: str) -> dict:
    """Look something up."""
    return {"found": topic}


def odd_names_network():
    from agents import RoutingAgent

    tier2 = Agent(name="Tier 2. Support", system="x", tools=[lookup])
    billing = Agent(name="Billing.router.helper", system="y")
    model = ScriptedModel([
        tool_call("select_agent", {"name": "Tier 2. Support", "reason": "tech"}),
        tool_call("lookup", {"topic": "crash"}), text("Looked it up."),
        tool_call("select_agent", {"name": "Billing.router.helper", "reason": "money"}),
        text("Refunded."), tool_call("done", {"summary": "ok"}),
    ])  # fmt: skip
    return Network(name="n", agents=[tier2, billing], default_model=model,
                   router=RoutingAgent(name="Desk.route"))  # fmt: skip


@durable.function(id="test-odd-names", trigger="test/odd-names")
def odd_names(ctx):
    odd_names_network().run("help", step=ctx.step)
    return "ok"


def test_the_timeline_shows_who_acted_whatever_their_names(drain):
    from supportdesk.durable.timeline import run_timeline

    run = start("test/odd-names", {})
    drain()
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED, run.error
    entries = [(e.kind, e.actor, e.tool_name, e.is_routing) for e in run_timeline(run)]
    assert entries == [
        ("route", "Desk.route", "", True),
        ("infer", "Tier 2. Support", "", False),
        ("tool", "Tier 2. Support", "lookup", False),
        ("infer", "Tier 2. Support", "", False),
        ("route", "Desk.route", "", True),
        ("infer", "Billing.router.helper", "", False),
        ("route", "Desk.route", "", True),
    ]


def test_a_duration_too_long_to_schedule_fails_the_step_clearly(drain):
    @durable.function(id="test-long-sleep", trigger="test/long-sleep")
    def long_sleep(ctx):
        try:
            ctx.step.sleep("nap", 10**20)
        except durable.StepError as exc:
            return exc.message
        return "slept"

    run = start("test/long-sleep", {})
    drain()
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert run.output == "invalid duration 100000000000000000000: at most 366 days"


def test_the_framework_gets_the_same_step_keys_from_the_engine_and_its_test_double(drain):
    """`ReplayStep` re-implemented auto-indexing, so it could not show gaps or collisions: both now
    share `StepIds`, and the same network run gets the same keys from either."""
    from agents.testing import ReplayStep

    run = start("test/odd-names", {})
    drain()
    double = ReplayStep()
    odd_names_network().run("help", step=double)
    assert list(double.results) == list(
        Run.objects.get(pk=run.pk).steps.values_list("key", flat=True)
    )


def test_a_matching_failure_never_reaches_the_sender_of_a_committed_event(drain, monkeypatch):
    """A deadlock while matching reached the answer's sender as a 500 although its event was
    committed. Now the sender gets its ids, the event stays unprocessed, the sweeper matches it."""
    from supportdesk.durable import events

    run = start("test/wait", {"ticketId": 8})
    drain()
    real_match = events._match

    def deadlocked(*args):
        raise OperationalError("deadlock detected")

    monkeypatch.setattr(events, "_match", deadlocked)
    [event_id] = durable.send_events({"name": "test/answer", "data": {"ticketId": 8, "answer": 1}})
    assert Run.objects.get(pk=run.pk).status == RunStatus.WAITING
    monkeypatch.setattr(events, "_match", real_match)
    Event = events.Event
    Event.objects.filter(event_id=event_id).update(
        received_at=timezone.now() - timezone.timedelta(seconds=5)
    )
    assert sweep()["events_matched"] == 1
    drain()
    assert Run.objects.get(pk=run.pk).output["answer"] == 1
