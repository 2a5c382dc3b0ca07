"""Races the engine must win: answer against timeout, event right after wait, duplicate ids."""

import random

import pytest
from django.utils import timezone

from supportdesk import durable
from supportdesk.durable.models import Event, Run, RunStatus, Step, Wait, WaitKind, WaitStatus
from supportdesk.durable.services import wait_expire
from supportdesk.durable.sweeper import sweep
from tests.conftest import in_threads

pytestmark = [pytest.mark.django_db(transaction=True)]


def spin(seconds: float) -> None:
    end = timezone.now() + timezone.timedelta(seconds=seconds)
    while timezone.now() < end:
        pass


def test_answer_and_timeout_racing_on_one_wait_resolve_it_exactly_once(drain):
    trials = 150
    rng = random.Random(20261125)
    durable.send_events([{"name": "test/wait", "data": {"ticketId": n}} for n in range(trials)])
    drain()
    waits = list(Wait.objects.filter(kind=WaitKind.STEP).order_by("pk"))
    assert len(waits) == trials
    Wait.objects.filter(kind=WaitKind.STEP).update(expires_at=timezone.now())  # due now

    for wait in waits:
        ticket = Run.objects.get(pk=wait.run_id).event.data["ticketId"]
        answer_delay, timeout_delay = rng.random() / 1000, rng.random() / 1000
        assert (
            in_threads(
                lambda t=ticket, d=answer_delay: (
                    spin(d)
                    or durable.send_events(
                        {"name": "test/answer", "data": {"ticketId": t, "answer": "a"}}
                    )
                ),
                lambda w=wait.pk, d=timeout_delay: spin(d) or wait_expire(w),
            )
            == []
        )
    drain()

    outcomes = {"resolved": 0, "timed_out": 0}
    for wait in Wait.objects.filter(kind=WaitKind.STEP).select_related("run"):
        run = wait.run
        assert wait.status in (WaitStatus.RESOLVED, WaitStatus.TIMED_OUT)
        outcomes[wait.status] += 1
        # The resumed run saw the same outcome as the wait records, and resumed exactly once.
        expected = "a" if wait.status == WaitStatus.RESOLVED else None
        assert run.status == RunStatus.COMPLETED and run.output["answer"] == expected
        assert run.transitions.filter(status=RunStatus.QUEUED).count() == 2  # start + resume
        assert Step.objects.get(run=run, key="answer").output == (
            wait.resolved_by.as_dict() if expected else None
        )
    assert sum(outcomes.values()) == trials


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
