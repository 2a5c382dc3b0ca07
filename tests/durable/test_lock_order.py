"""One lock order: an answer (or a timeout) and a cancel of the same run, at the same moment,
never deadlock. They locked Wait → Step → Run and Run → Waits: on PostgreSQL 16 to 40 % of such
pairs deadlocked, the answer's sender got a 500 and the cancel was silently not applied.

Deadlocks are retried now (db.retrying), which would hide a lock order gone wrong: the tests also
assert that no transaction was retried after one."""

import logging

import pytest
from django.utils import timezone

from supportdesk import durable
from supportdesk.durable.models import Run, RunStatus, Wait, WaitKind, WaitStatus
from supportdesk.durable.services import run_cancel, wait_expire
from tests.conftest import in_threads

pytestmark = [pytest.mark.django_db(transaction=True)]
PAIRS = 40


@pytest.fixture
def retried_deadlocks(caplog):
    """The deadlocks PostgreSQL broke during the test (each logged by db.retrying)."""
    caplog.set_level(logging.INFO, logger="supportdesk.durable.db")
    return lambda: [r.getMessage() for r in caplog.records if "deadlock" in r.getMessage()]


def waiting_runs(drain, count: int) -> list[Run]:
    durable.send_events([{"name": "test/wait", "data": {"ticketId": n}} for n in range(count)])
    drain()
    runs = list(Run.objects.order_by("created_at"))
    assert all(run.status == RunStatus.WAITING for run in runs)
    return runs


def test_an_answer_and_a_cancel_at_once_never_deadlock(drain, retried_deadlocks):
    for run in waiting_runs(drain, PAIRS):
        ticket = run.event.data["ticketId"]
        errors = in_threads(
            lambda t=ticket: durable.send_events(
                {"name": "test/answer", "data": {"ticketId": t, "answer": "a"}}
            ),
            lambda t=ticket: durable.send_events({"name": "test/close", "data": {"ticketId": t}}),
        )
        assert errors == []
    # Every cancel was applied, whichever came first; no wait is left pending.
    assert Run.objects.filter(status=RunStatus.CANCELLED).count() == PAIRS
    assert not Wait.objects.filter(status=WaitStatus.PENDING).exists()
    assert retried_deadlocks() == []


def test_a_timeout_and_a_cancel_at_once_never_deadlock(drain, retried_deadlocks):
    runs = waiting_runs(drain, PAIRS)
    Wait.objects.filter(kind=WaitKind.STEP).update(expires_at=timezone.now())
    for run in runs:
        wait = Wait.objects.get(run=run, kind=WaitKind.STEP)
        cancelled: list[bool] = []
        errors = in_threads(
            lambda w=wait.pk: wait_expire(w),
            lambda r=run.pk, c=cancelled: c.append(run_cancel(r, reason="operator")),
        )
        assert errors == [] and cancelled == [True]
    assert Run.objects.filter(status=RunStatus.CANCELLED).count() == PAIRS
    assert retried_deadlocks() == []
