"""Races the engine must win: answer against timeout, event right after wait, duplicate ids."""

import random
import statistics
import time

import pytest
from django.db import connection
from django.utils import timezone

from supportdesk import durable
from supportdesk.durable.engine import execute_run
from supportdesk.durable.models import Event, Run, RunStatus, Step, Wait, WaitKind, WaitStatus
from supportdesk.durable.services import wait_expire
from supportdesk.durable.sweeper import sweep
from tests.conftest import in_threads
from tests.durable.workflows import side_effects

pytestmark = [pytest.mark.django_db(transaction=True)]


def answer_event(ticket: int, answer: str = "a") -> dict:
    return {"name": "test/answer", "data": {"ticketId": ticket, "answer": answer}}


def start_runs(name: str, data: list[dict]) -> list:
    ids = durable.send_events([{"name": name, "data": d} for d in data])
    return list(Run.objects.filter(event__event_id__in=ids).values_list("pk", flat=True))


def test_answer_and_timeout_racing_on_one_wait_resolve_it_exactly_once(drain):
    trials, calibration = 150, 10
    rng = random.Random(20261125)
    durable.send_events(
        [{"name": "test/wait", "data": {"ticketId": n}} for n in range(trials + calibration)]
    )
    drain()
    waits = list(
        Wait.objects.filter(kind=WaitKind.STEP).select_related("run__event").order_by("pk")
    )
    assert len(waits) == trials + calibration
    ticket_of = {wait.pk: wait.run.event.data["ticketId"] for wait in waits}
    # How long an answer takes to reach its wait, unopposed, in a thread of its own as in the
    # race. The timeout racer starts at a random point of twice that span, a span nudged after
    # every trial towards the point where either side wins as often: both orders happen often.
    answer_seconds = []
    for wait in waits[:calibration]:

        def timed_answer(w=wait.pk):
            started = time.perf_counter()
            durable.send_events(answer_event(ticket_of[w]))
            answer_seconds.append(time.perf_counter() - started)

        assert in_threads(timed_answer) == []
    head_start = calibrated = 2 * statistics.median(answer_seconds)
    racing = waits[calibration:]
    Wait.objects.filter(pk__in=[w.pk for w in racing]).update(expires_at=timezone.now())  # due

    answer_ids: dict[int, str] = {}
    timeout_won: dict[int, bool] = {}
    for wait in racing:
        delay = rng.random() * head_start

        def answer(w=wait.pk):
            [answer_ids[w]] = durable.send_events(answer_event(ticket_of[w]))

        def time_out(w=wait.pk, d=delay):
            time.sleep(d)  # not a busy loop: it would hold the GIL the answer needs
            timeout_won[w] = wait_expire(w)

        assert in_threads(answer, time_out) == []  # a barrier: both start together
        nudged = head_start * (1.1 if timeout_won[wait.pk] else 0.9)
        head_start = min(max(nudged, calibrated / 4), calibrated * 4)
    drain()

    outcomes = {WaitStatus.RESOLVED: 0, WaitStatus.TIMED_OUT: 0}
    for wait in Wait.objects.filter(pk__in=[w.pk for w in racing]).select_related(
        "run", "resolved_by"
    ):
        run = wait.run
        # Exactly one racer reports winning: the timeout through wait_expire's answer, the
        # answer by being the event that resolved the wait.
        answer_won = (
            wait.resolved_by is not None and wait.resolved_by.event_id == answer_ids[wait.pk]
        )
        assert answer_won != timeout_won[wait.pk], (wait.pk, wait.status, timeout_won[wait.pk])
        assert wait.status == (WaitStatus.RESOLVED if answer_won else WaitStatus.TIMED_OUT)
        outcomes[wait.status] += 1
        # The resumed run saw the winner's outcome, and resumed exactly once.
        expected = "a" if answer_won else None
        assert run.status == RunStatus.COMPLETED and run.output["answer"] == expected
        assert run.transitions.filter(status=RunStatus.QUEUED).count() == 2  # start + resume
        assert Step.objects.get(run=run, key="answer").output == (
            wait.resolved_by.as_dict() if answer_won else None
        )
    # Both sides won races: the race was real, not decided by who always starts first.
    floor = trials // 5
    assert outcomes[WaitStatus.RESOLVED] >= floor and outcomes[WaitStatus.TIMED_OUT] >= floor, (
        outcomes
    )


def test_an_event_committed_after_its_wait_always_matches(drain):
    trials = 60
    durable.send_events([{"name": "test/wait", "data": {"ticketId": n}} for n in range(trials)])
    answered: list[int] = []

    def answer_each_wait_as_soon_as_it_is_committed():
        seen: set[int] = set()
        while len(seen) < trials:
            for wait in Wait.objects.filter(kind=WaitKind.STEP).exclude(pk__in=seen):
                seen.add(wait.pk)
                ticket = Run.objects.get(pk=wait.run_id).event.data["ticketId"]
                durable.send_events({"name": "test/answer", "data": {"ticketId": ticket}})
                answered.append(ticket)

    assert in_threads(drain, answer_each_wait_as_soon_as_it_is_committed) == []
    drain()
    assert sorted(answered) == list(range(trials))
    assert Wait.objects.filter(kind=WaitKind.STEP, status=WaitStatus.RESOLVED).count() == trials
    assert Run.objects.filter(status=RunStatus.COMPLETED).count() == trials


def test_an_event_whose_sender_died_before_matching_is_matched_by_the_sweeper(drain):
    [event_id] = durable.send_events({"name": "test/wait", "data": {"ticketId": 9}})
    drain()
    # The sender committed the event and died before matching it (no on_commit processing).
    Event.objects.create(
        event_id="orphan", name="test/answer", data={"ticketId": 9, "answer": "late but kept"},
        ts=0, received_at=timezone.now() - timezone.timedelta(seconds=5),
    )  # fmt: skip
    assert sweep()["events_matched"] == 1
    drain()
    assert Run.objects.get(event__event_id=event_id).output["answer"] == "late but kept"


def test_duplicate_event_ids_sent_concurrently_start_one_run():
    results: list[list[str]] = []
    event = {"name": "test/steps", "data": {"count": 1}, "id": "same-id"}
    assert in_threads(*[lambda: results.append(durable.send_events(event)) for _ in range(8)]) == []
    assert results == [["same-id"]] * 8
    assert Event.objects.filter(event_id="same-id").count() == 1
    assert Run.objects.count() == 1


# With the tenant in the message, PostgreSQL takes the lease in one statement; SQLite reads the
# run first either way, so that case would only repeat the first there.
ONE_STATEMENT = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's path")


@pytest.mark.parametrize("tenant", [None, pytest.param("", marks=ONE_STATEMENT)],
                         ids=["run read first", "tenant in the message"])  # fmt: skip
def test_two_executions_of_one_run_at_once_let_exactly_one_proceed(drain, side_effect_log, tenant):
    """A redelivered message, or the sweeper enqueuing a run whose message was only late: two
    executions of one run start together. One proceeds, the other leaves it be; every step body
    runs once. (With the tenant in the message, PostgreSQL takes the lease in one statement.)"""
    runs = 40
    resumed = start_runs("test/wait", [{"ticketId": 1000 + n} for n in range(runs)])
    due = start_runs("test/sleep", [{"seconds": 3600}] * runs)
    drain()  # the waits wait, the sleeps sleep
    fresh = start_runs("test/steps", [{"count": 3}] * runs)
    durable.send_events([answer_event(1000 + n, "late") for n in range(runs)])
    now = timezone.now()  # every sleep is due (however long the drain above took)
    Run.objects.filter(pk__in=due).update(wake_at=now)
    Step.objects.filter(run_id__in=due, key="nap").update(wake_at=now)
    assert Run.objects.filter(pk__in=fresh + resumed, status=RunStatus.QUEUED).count() == 2 * runs
    assert Run.objects.filter(pk__in=due, status=RunStatus.SLEEPING).count() == runs

    outcomes: dict = {}
    for run_id in fresh + resumed + due:
        outcomes[run_id] = []
        racers = [lambda r=run_id: outcomes[r].append(execute_run(r, tenant)) for _ in range(2)]
        assert in_threads(*racers) == []  # a barrier: both start together
    for run_id, pair in outcomes.items():
        assert sorted(pair) == ["completed", "not runnable"], (run_id, pair)

    lines = side_effects(side_effect_log)
    for run_id in fresh:
        assert [line for line in lines if line.startswith(f"{run_id} ")] == [
            f"{run_id} step {n} {edge}" for n in range(3) for edge in ("start", "end")
        ]
        assert Run.objects.get(pk=run_id).output == {"total": 0 + 1 + 2}
    for run_id in resumed:  # "before" ran before the wait, "after" once after it
        assert [line for line in lines if line.startswith(f"{run_id} ")] == [
            f"{run_id} before",
            f"{run_id} after",
        ]
        assert Run.objects.get(pk=run_id).output["answer"] == "late"
    for run_id in due:  # one execution went on from the sleep and sent its event once
        assert Event.objects.filter(name="test/slept", data__run=str(run_id)).count() == 1
    # One execution of each pair took the run: one "running" transition per execution that ran.
    runnings = {
        run_id: Run.objects.get(pk=run_id).transitions.filter(status=RunStatus.RUNNING).count()
        for run_id in outcomes
    }
    assert {runnings[r] for r in fresh} == {1}
    assert {runnings[r] for r in resumed + due} == {2}
