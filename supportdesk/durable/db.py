"""The engine's database discipline, written once: one lock order, one lease-conditional update,
retries of transient conflicts, and the line between infrastructure errors and user errors.

- Every transaction that touches a run and its waits or steps locks the run row first
  (`lock_run`, or an UPDATE of the run as its first statement). Two transactions can then never
  hold one each of the rows the other wants: no deadlock between an answer and a cancel.
- A write by the execution that holds a run's lease is conditional on still holding it
  (`lease_update`): a worker presumed dead, or a cancelled run's worker, can never write.
- Deadlocks, serialization failures and SQLite's "database is locked" are retried (`retrying`).
- A database failure inside the step API is the infrastructure's, not the function's: it becomes
  `InfrastructureError` (`infrastructure()`), which no user or tool code can catch as an Exception.
"""

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TypeVar

from django.conf import settings
from django.db import DatabaseError, OperationalError, connection

from supportdesk.durable.errors import InfrastructureError
from supportdesk.durable.models import Run, RunStatus

logger = logging.getLogger(__name__)
T = TypeVar("T")

# SQLSTATEs of PostgreSQL conflicts that succeed when simply tried again.
TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03"}  # serialization, deadlock, lock not available
TRANSIENT_SQLITE_MESSAGES = ("database is locked", "database table is locked")


def lock_run(run_id) -> None:
    """Lock the run's row for the rest of the transaction: the first lock of any transaction that
    touches the run with its waits or steps. (SQLite's IMMEDIATE transactions already serialize
    every writer; this orders PostgreSQL's row locks: on SQLite it is skipped.)"""
    if connection.vendor == "sqlite":
        return
    list(Run.objects.select_for_update().filter(pk=run_id).values_list("pk", flat=True))


def lease_duration() -> timedelta:
    return timedelta(seconds=settings.DURABLE["LEASE_SECONDS"])


def lease_update(run_id, token: str, **changes) -> bool:
    """Apply `changes` to the run only while `token` holds its lease (it is running, and nobody
    took it over or cancelled it). Returns whether it did."""
    return bool(
        Run.objects.filter(pk=run_id, lease_owner=token, status=RunStatus.RUNNING).update(**changes)
    )


def lease_held(run_id, token: str) -> bool:
    """Inside a transaction: whether `token` still holds the run's lease, keeping it so until the
    commit. PostgreSQL locks the row (a takeover or a cancel waits for our commit); SQLite's
    IMMEDIATE transaction already holds the database's write lock. Cheaper than renewing the
    lease: no new row version, no index entries, and one statement prepared once."""
    run = Run._meta
    pk = run.pk.get_db_prep_value(run_id, connection)
    lock = " FOR NO KEY UPDATE" if connection.vendor == "postgresql" else ""
    sql = (
        f"SELECT 1 FROM {connection.ops.quote_name(run.db_table)} "
        "WHERE id = %s AND lease_owner = %s AND status = %s" + lock
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk, token, RunStatus.RUNNING.value])
        return cursor.fetchone() is not None


def is_transient(exc: BaseException) -> bool:
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    if getattr(cause, "sqlstate", None) in TRANSIENT_SQLSTATES:
        return True
    return any(message in str(exc) for message in TRANSIENT_SQLITE_MESSAGES)


def retrying(operation: Callable[[], T], *, attempts: int = 5, what: str = "") -> T:
    """Run `operation` (which opens its own transaction), again when it hits a transient
    conflict. Inside an outer transaction it runs once: only the outermost can be retried."""
    if connection.in_atomic_block:
        return operation()
    for attempt in range(1, attempts + 1):
        try:
            return operation()
        except OperationalError as exc:
            if attempt == attempts or not is_transient(exc):
                raise
            logger.info("retrying %s after a transient conflict: %s", what or "a transaction", exc)
            time.sleep(0.005 * 2**attempt)
    raise AssertionError("unreachable")


@contextlib.contextmanager
def infrastructure(what: str) -> Iterator[None]:
    """Database failures inside this block belong to the infrastructure: they interrupt the
    execution as an `InfrastructureError` instead of reaching the function or a tool."""
    try:
        yield
    except DatabaseError as exc:
        raise InfrastructureError(f"{what}: {type(exc).__name__}: {exc}") from exc
