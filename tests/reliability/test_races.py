"""Races at scale: 50 concurrent answers to one question, answer against timeout over 10,000
seeded trials, duplicate event ids from many threads."""

import random

import pytest
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
    organization = demo_seed()
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


TRIALS = 10_000


def test_answer_against_timeout_over_ten_thousand_seeded_trials():
    """Two threads race over every wait, one answering, one timing out, in seeded random orders."""
    for offset in range(0, TRIALS, 1000):
        durable.send_events(
            [{"name": "test/wait-only", "data": {"key": n}} for n in range(offset, offset + 1000)]
        )
    run_ids = list(Run.objects.values_list("pk", flat=True))

    def park(share):
        return lambda: [execute_run(run_id) for run_id in share]

    assert in_threads(park(run_ids[::2]), park(run_ids[1::2])) == []  # two workers, as in prod
    waits = list(Wait.objects.filter(kind=WaitKind.STEP).values_list("pk", "run__event__data__key"))
    assert len(waits) == TRIALS
    Wait.objects.filter(kind=WaitKind.STEP).update(expires_at=timezone.now())
    answer_order, timeout_order = list(waits), list(waits)
    random.Random(20261125).shuffle(answer_order)
    random.Random(11252026).shuffle(timeout_order)

    def answer_all():
        for _, key in answer_order:
            durable.send_events({"name": "test/answer", "data": {"key": key, "answer": "a"}})

    def time_out_all():
        for wait_id, _ in timeout_order:
            wait_expire(wait_id)

    assert in_threads(answer_all, time_out_all) == []

    decided = Wait.objects.filter(kind=WaitKind.STEP)
    assert decided.filter(status=WaitStatus.PENDING).count() == 0
    resolved = decided.filter(status=WaitStatus.RESOLVED).count()
    timed_out = decided.filter(status=WaitStatus.TIMED_OUT).count()
    assert resolved + timed_out == TRIALS and resolved > 0 and timed_out > 0
    # Each wait's step holds the outcome of the one winner, and its run was requeued once.
    steps = Step.objects.filter(key="answer")
    assert steps.count() == TRIALS
    assert steps.filter(status="completed", output__isnull=True).count() == timed_out
    assert steps.filter(status="completed", output__isnull=False).count() == resolved
    assert Run.objects.filter(status=RunStatus.QUEUED).count() == TRIALS
    requeues = Run.objects.get(pk=Wait.objects.first().run_id).transitions.filter(status="queued")
    assert requeues.count() == 2  # started, then resumed once


def test_duplicate_event_ids_from_many_threads_start_one_run():
    event = {"name": "test/steps", "data": {"count": 1}, "id": "dup-under-load"}
    results: list[list[str]] = []
    errors = in_threads(*[lambda: results.append(durable.send_events(event)) for _ in range(16)])
    assert errors == [] and results == [["dup-under-load"]] * 16
    assert Run.objects.count() == 1
