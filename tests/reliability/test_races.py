"""Races at scale: 50 concurrent answers to one question, answer against timeout over 1,000
barrier-paired races, duplicate event ids from many threads."""

import random
import threading
import time

import pytest
from django.db.models import Count, Q
from django.utils import timezone

from supportdesk import durable
from supportdesk.desk import services
from supportdesk.desk.demo_data import demo_seed
from supportdesk.desk.errors import Conflict
from supportdesk.desk.models import Question, QuestionStatus
from supportdesk.durable.engine import execute_run
from supportdesk.durable.models import Event, Run, RunStatus, Step, Wait, WaitKind, WaitStatus
from supportdesk.durable.services import wait_expire
from tests.conftest import in_threads

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_fifty_concurrent_answers_to_one_question_accept_exactly_one(drain):
    organization = demo_seed(approvals=False)
    ticket = services.ticket_create(organization=organization, title="Crash", priority="critical")
    drain()
    question = ticket.questions.get()
    accepted: list[str] = []

    def answer(n: int):
        def attempt():
            fresh = Question.objects.get(pk=question.pk)  # each thread its own connection
            services.question_answer(question=fresh, answered_by=f"reviewer {n}", answer=f"#{n}")
            accepted.append(f"reviewer {n}")

        return attempt

    errors = in_threads(*[answer(n) for n in range(50)])
    assert len(accepted) == 1
    assert len(errors) == 49 and all(isinstance(e, Conflict) for e in errors)
    assert all(f"already answered by {accepted[0]} at" in str(e) for e in errors)
    question.refresh_from_db()
    assert (question.status, question.answered_by) == (QuestionStatus.ANSWERED, accepted[0])
    assert Event.objects.filter(name=services.DEVELOPER_RESPONSE).count() == 1
    drain()
    assert ticket.runs.get().status == RunStatus.COMPLETED


TRIALS = 1_000


def test_answer_against_timeout_over_a_thousand_seeded_races():
    """Two threads race over every wait, one answering, one timing it out, released together by
    a barrier per wait (in a seeded order, the timeout racer after a seeded random delay). This
    replaced 10,000 trials in which the two threads walked the waits independently, so few
    pairs ever met: 1,000 real races prove more, in a quarter of the time."""
    for offset in range(0, TRIALS, 500):
        durable.send_events(
            [{"name": "test/wait-only", "data": {"key": n}} for n in range(offset, offset + 500)]
        )
    run_ids = list(Run.objects.values_list("pk", flat=True))

    def park(share):
        return lambda: [execute_run(run_id) for run_id in share]

    assert in_threads(park(run_ids[::2]), park(run_ids[1::2])) == []  # two workers, as in prod
    waits = list(Wait.objects.filter(kind=WaitKind.STEP).values_list("pk", "run__event__data__key"))
    assert len(waits) == TRIALS
    Wait.objects.filter(kind=WaitKind.STEP).update(expires_at=timezone.now())
    random.Random(20261125).shuffle(waits)
    delays = random.Random(11252026)
    # The timeout racer's delay is drawn from a span nudged after each trial towards the point
    # where either side wins as often, so both orders keep happening whatever the machine's speed.
    span = {"seconds": 0.005}
    start_together = threading.Barrier(2, timeout=60)
    answer_ids: dict[int, str] = {}
    timeout_won: dict[int, bool] = {}

    def answer_each():
        try:
            for wait_id, key in waits:
                start_together.wait()
                event = {"name": "test/answer", "data": {"key": key, "answer": "a"}}
                [answer_ids[wait_id]] = durable.send_events(event)
        except BaseException:
            start_together.abort()
            raise

    def time_out_each():
        try:
            for wait_id, _ in waits:
                delay = delays.random() * span["seconds"]
                start_together.wait()
                time.sleep(delay)  # not a busy loop: the answering thread needs the CPU
                timeout_won[wait_id] = wait_expire(wait_id)
                nudged = span["seconds"] * (1.1 if timeout_won[wait_id] else 0.9)
                span["seconds"] = min(max(nudged, 0.0002), 0.05)
        except BaseException:
            start_together.abort()
            raise

    assert in_threads(answer_each, time_out_each) == []

    decided = Wait.objects.filter(kind=WaitKind.STEP)
    assert decided.filter(status=WaitStatus.PENDING).count() == 0
    # Exactly one racer of each pair reports winning: the timeout by wait_expire's answer, the
    # answer by being the event that resolved the wait.
    resolved_by = dict(decided.values_list("pk", "resolved_by__event_id"))
    both = [w for w, _ in waits if timeout_won[w] and resolved_by[w] == answer_ids[w]]
    neither = [w for w, _ in waits if not timeout_won[w] and resolved_by[w] != answer_ids[w]]
    assert (both, neither) == ([], [])
    resolved = decided.filter(status=WaitStatus.RESOLVED).count()
    timed_out = decided.filter(status=WaitStatus.TIMED_OUT).count()
    assert resolved == sum(not won for won in timeout_won.values())
    assert timed_out == sum(timeout_won.values())
    assert resolved >= TRIALS // 5 and timed_out >= TRIALS // 5, (resolved, timed_out)
    # Each wait's step holds the outcome of the one winner, and every run was requeued once.
    steps = Step.objects.filter(key="answer")
    assert steps.count() == TRIALS
    assert steps.filter(status="completed", output__isnull=True).count() == timed_out
    assert steps.filter(status="completed", output__isnull=False).count() == resolved
    assert Run.objects.filter(status=RunStatus.QUEUED).count() == TRIALS
    requeues = Run.objects.annotate(
        queued=Count("transitions", filter=Q(transitions__status=RunStatus.QUEUED))
    )
    assert list(requeues.exclude(queued=2).values_list("pk", "queued")) == []  # start + resume


def test_duplicate_event_ids_from_many_threads_start_one_run():
    event = {"name": "test/steps", "data": {"count": 1}, "id": "dup-under-load"}
    results: list[list[str]] = []
    errors = in_threads(*[lambda: results.append(durable.send_events(event)) for _ in range(16)])
    assert errors == [] and results == [["dup-under-load"]] * 16
    assert Run.objects.count() == 1
