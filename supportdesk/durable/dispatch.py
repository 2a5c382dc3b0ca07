"""Waking workers after commit. The queue only wakes: if a message is lost (the broker is down, a
consumer is killed) the sweeper finds the run by its state in the database and enqueues it again."""

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from supportdesk.durable import fairness
from supportdesk.durable.faults import crash_point

logger = logging.getLogger(__name__)


def enqueue_run(run_id, *, at: datetime | None = None, tenant: str | None = None) -> None:
    """Enqueue the run's execution once the current transaction commits. With its `tenant`, the
    message gets the tenant's fair priority (fairness.py)."""
    transaction.on_commit(lambda: enqueue_run_now(run_id, at=at, tenant=tenant))


def enqueue_run_now(run_id, *, at: datetime | None = None, tenant: str | None = None) -> None:
    from supportdesk.durable.tasks import execute_run_task

    crash_point("before_enqueue", str(run_id))
    priority = fairness.priority(tenant) if tenant is not None else None
    try:
        delay = (at - timezone.now()).total_seconds() if at else 0
        if delay > 0:
            execute_run_task.schedule(args=(str(run_id), tenant), delay=delay,
                                      priority=priority)  # fmt: skip
        else:
            execute_run_task(str(run_id), tenant, priority=priority)
    except Exception:  # The broker is down: the sweeper will enqueue it again.
        logger.warning(
            "could not enqueue run %s; the sweeper will pick it up", run_id, exc_info=True
        )


def schedule_wait_expiry(wait_id: int, at: datetime) -> None:
    def schedule() -> None:
        from supportdesk.durable.tasks import expire_wait_task

        try:
            delay = max((at - timezone.now()).total_seconds(), 0)
            expire_wait_task.schedule(args=(wait_id,), delay=delay)
        except Exception:
            logger.warning("could not schedule expiry of wait %s", wait_id, exc_info=True)

    transaction.on_commit(schedule)
