"""Two state changes on the resume path, each in one PostgreSQL statement instead of five.

On PostgreSQL every statement is a round trip to the server, and a resume makes two changes that
each took several: deciding a wait (lock the run, decide the wait, complete its step, requeue
the run, record the transition) and taking a run's lease (read the run, take the lease, record
the transition, inside BEGIN … COMMIT). Written here as data-modifying CTEs, they keep the ORM
paths' order of locks and conditions exactly: the run row is locked first (`FOR UPDATE` in the
first CTE, which every later part joins), every change is conditional, and a concurrent commit is
re-checked by PostgreSQL's own EvalPlanQual. SQLite (the embedded mode: one writer at a time,
and no data-modifying CTEs) uses the ORM paths of services.py and engine.py.
"""

from datetime import datetime

from django.db import connection

from supportdesk.durable.models import (
    Event,
    Run,
    RunStatus,
    RunTransition,
    Step,
    StepStatus,
    Wait,
    WaitStatus,
)


def in_use() -> bool:
    """Whether this connection takes the one-statement paths (else the ORM paths)."""
    return connection.vendor == "postgresql"


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _columns(model, prefix: str) -> str:
    """The model's columns, in the order `_instance` reads them."""
    quote = connection.ops.quote_name
    return ", ".join(f"{prefix}.{quote(field.column)}" for field in model._meta.concrete_fields)


def _instance(model, values):
    """A model instance from a row of its `_columns`, converted as the ORM converts them."""
    fields = model._meta.concrete_fields
    converted = []
    for field, value in zip(fields, values, strict=True):
        column = field.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        for converter in converters:
            value = converter(value, column, connection)
        converted.append(value)
    return model.from_db(connection.alias, [field.attname for field in fields], converted)


def decide_wait(wait: Wait, *, status: str, output, event_id: int | None, reason: str,
                now: datetime, only_expired: bool = False) -> tuple[bool, bool]:  # fmt: skip
    """Decide a pending step wait (`status`: resolved or timed out), complete its step with
    `output`, and requeue its run if it is waiting. Returns (decided, requeued)."""
    expired = "AND w.expires_at <= %(now)s" if only_expired else ""
    sql = f"""
        WITH locked AS (
            SELECT id FROM {_table(Run)} WHERE id = %(run)s FOR UPDATE
        ), decided AS (
            UPDATE {_table(Wait)} w SET status = %(status)s, resolved_at = %(now)s,
                                        resolved_by_id = %(event)s
            WHERE w.id = %(wait)s AND w.status = %(pending)s {expired}
              AND w.run_id IN (SELECT id FROM locked)
            RETURNING w.run_id
        ), completed AS (
            UPDATE {_table(Step)} SET status = %(completed)s, output = %(output)s,
                                      ended_at = %(now)s
            WHERE run_id IN (SELECT run_id FROM decided) AND key = %(key)s
        ), requeued AS (
            UPDATE {_table(Run)} SET status = %(queued)s, updated_at = %(now)s
            WHERE id IN (SELECT run_id FROM decided) AND status = %(waiting)s
            RETURNING id
        ), recorded AS (
            INSERT INTO {_table(RunTransition)} (run_id, status, at, reason)
            SELECT id, %(queued)s, %(now)s, %(reason)s FROM requeued
        )
        SELECT EXISTS (SELECT 1 FROM decided), EXISTS (SELECT 1 FROM requeued)
    """  # the names are ours; every value is a parameter
    params = {
        "run": Run._meta.pk.get_db_prep_value(wait.run_id, connection),
        "wait": wait.pk, "status": status, "now": now, "event": event_id, "key": wait.step_key,
        "output": Step._meta.get_field("output").get_db_prep_save(output, connection),
        "pending": WaitStatus.PENDING.value, "completed": StepStatus.COMPLETED.value,
        "queued": RunStatus.QUEUED.value, "waiting": RunStatus.WAITING.value, "reason": reason,
    }  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        decided, requeued = cursor.fetchone()
    return decided, requeued


def take_lease(run_id, token: str, *, expires_at: datetime, now: datetime,
               reason: str) -> tuple[Run | None, str]:  # fmt: skip
    """Take the run's lease if it is due (queued, or sleeping/retrying past its wake time) or its
    last execution's lease expired (a recovery, counted). A start records its RUNNING transition
    with `reason` in the same statement; a recovery's transition names the function's limit,
    which only the caller knows, so the caller records it. Returns the run as taken, its event
    loaded, and "started" or "recovered"; (None, "") if the run is not runnable."""
    sql = f"""
        WITH previous AS (
            SELECT id, status FROM {_table(Run)} WHERE id = %(run)s FOR UPDATE
        ), taken AS (
            UPDATE {_table(Run)} r SET
                status = %(running)s, lease_owner = %(token)s, lease_expires_at = %(expires)s,
                updated_at = %(now)s, wake_at = NULL, started_at = COALESCE(r.started_at, %(now)s),
                running_since = %(now)s, throttled_at = NULL,
                recoveries = r.recoveries
                             + CASE WHEN previous.status = %(running)s THEN 1 ELSE 0 END
            FROM previous
            WHERE r.id = previous.id AND (
                previous.status = %(queued)s
                OR (previous.status IN (%(sleeping)s, %(retrying)s) AND r.wake_at <= %(now)s)
                OR (previous.status = %(running)s AND r.lease_expires_at < %(now)s))
            RETURNING r.*, previous.status = %(running)s AS recovered
        ), recorded AS (
            INSERT INTO {_table(RunTransition)} (run_id, status, at, reason)
            SELECT id, %(running)s, %(now)s, %(reason)s FROM taken WHERE NOT recovered
        )
        SELECT {_columns(Run, "taken")}, taken.recovered, {_columns(Event, "e")}
        FROM taken JOIN {_table(Event)} e ON e.id = taken.event_id
    """  # the names are ours; every value is a parameter
    params = {
        "run": Run._meta.pk.get_db_prep_value(run_id, connection), "token": token,
        "expires": expires_at, "now": now, "reason": reason,
        "running": RunStatus.RUNNING.value, "queued": RunStatus.QUEUED.value,
        "sleeping": RunStatus.SLEEPING.value, "retrying": RunStatus.RETRYING.value,
    }  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None, ""
    count = len(Run._meta.concrete_fields)
    run, event = _instance(Run, row[:count]), _instance(Event, row[count + 1 :])
    Run.event.field.set_cached_value(run, event)
    return run, "recovered" if row[count] else "started"
