"""Executes a run: takes its lease, replays the function against its stored steps, and runs new
steps until the function suspends (wait, sleep, retry delay) or ends. One task, many steps."""

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from agents.step import StepIds, dumps, parse_duration
from supportdesk.durable import dispatch, fairness, observers, postgres, registry
from supportdesk.durable.db import infrastructure, lease_duration, lease_held, lease_update
from supportdesk.durable.errors import (
    InfrastructureError,
    Interrupt,
    LeaseLost,
    NonDeterminismError,
    NonRetriableError,
    StepError,
    StepOutputTooLarge,
    Suspend,
)
from supportdesk.durable.expressions import ExpressionError, compile_conditions
from supportdesk.durable.faults import crash_point
from supportdesk.durable.models import Run, RunStatus, Step, StepStatus, Wait
from supportdesk.durable.services import run_transition, waits_cancel_pending
from supportdesk.durable.values import storable_problem, storable_text, text_problem

logger = logging.getLogger(__name__)


def durable_settings() -> dict:
    return settings.DURABLE


MAX_STEP_ID_LENGTH = 200  # a key is the id plus a repeat suffix, stored in 255 characters
MAX_KEY_LENGTH = 255
MAX_KIND_LENGTH = 16
MAX_EVENT_NAME_LENGTH = 255


def to_json(value: Any) -> Any:
    """Round-trip through JSON so a fresh result equals what a replay will read back; refuse what
    either database would refuse (the same in both modes)."""

    try:
        text = dumps(value)
    except (TypeError, ValueError) as exc:
        raise NonRetriableError(f"the step's result cannot be stored as JSON: {exc}") from None
    # `dumps` escapes to ASCII: NUL and surrogates can only hide behind these (rarely true).
    if "\\u0000" in text or "\\ud" in text:
        problem = storable_problem(value)
        if problem:
            raise NonRetriableError(
                f"the step's result cannot be stored: {problem}; PostgreSQL refuses it, so both "
                "modes do"
            )
    limit = durable_settings()["MAX_STEP_OUTPUT_BYTES"]
    if len(text) > limit:
        raise StepOutputTooLarge(
            f"the step's result is {len(text):,} bytes; the limit is {limit:,} bytes "
            "(DURABLE_MAX_STEP_OUTPUT_BYTES). Store large data elsewhere and return a reference."
        )
    return json.loads(text)


def retry_delay(attempt: int) -> float:
    config = durable_settings()
    return min(config["RETRY_BASE_SECONDS"] * 2 ** (attempt - 1), config["RETRY_MAX_SECONDS"])


@dataclass
class Context:
    """What a durable function receives."""

    event: dict
    step: "StepApi"
    run_id: str
    attempt: int
    tenant: str = ""


class StepApi:
    """The `step` object: memoized steps over one execution of a run (satisfies agents.Step)."""

    def __init__(
        self,
        *,
        run: Run,
        token: str,
        function: registry.DurableFunction,
        event: dict,
        keeper: "LeaseKeeper | None" = None,
    ):
        self.run_id = run.pk
        self.tenant = run.tenant
        self.token = token
        self.function = function
        self.event = event
        self.keeper = keeper
        # Replay reads a stored step's place, kind, state and result, never when it ended or
        # who took it: those columns stay unread (half the timestamps to parse on a big run),
        # and the steps are read by run id, so no back-reference to the run is set on each.
        steps = list(Step.objects.filter(run_id=run.pk).defer("ended_at", "actor", "tool"))
        self.stored: dict[str, Step] = {s.key: s for s in steps}
        self.stored_by_position = {s.position: s for s in steps}
        self.highest_stored = max(self.stored_by_position, default=-1)
        self.position = 0
        self.ids = StepIds()

    # --- the public step API -------------------------------------------------------------------
    def run(
        self,
        step_id: str,
        fn: Callable[..., Any],
        *args: Any,
        kind: str = "run",
        meta: dict[str, str] | None = None,
        **kw: Any,
    ):
        if not isinstance(kind, str) or not kind or len(kind) > MAX_KIND_LENGTH:
            raise NonRetriableError(f"a step kind is 1 to {MAX_KIND_LENGTH} characters: {kind!r}")
        key, position, stored = self._reach(step_id, kind)
        return self._run_step(key, position, stored, kind, lambda: fn(*args, **kw), meta=meta)

    def send_event(self, step_id: str, events: dict | list[dict]) -> list[str]:
        from supportdesk.durable.events import events_send

        key, position, stored = self._reach(step_id, "send")
        batch = [dict(e) for e in (events if isinstance(events, list) else [events])]
        for index, event in enumerate(batch):
            # A deterministic id: if the worker dies after sending but before the checkpoint,
            # the step's second attempt sends the same ids and dedup drops them.
            event.setdefault("id", f"{self.run_id}:{key}:{index}")

        def send() -> list[str]:
            with infrastructure(f"{key}: sending events"):
                return events_send(batch, tenant=self.tenant)

        return self._run_step(key, position, stored, "send", send)

    def wait_for_event(
        self,
        step_id: str,
        *,
        event: str,
        timeout: float | timedelta | str,
        match: str | None = None,
        if_exp: str | None = None,
        on_register: Callable[[], Any] | None = None,
    ) -> dict | None:
        key, position, stored = self._reach(step_id, "wait")
        if stored is not None and stored.status == StepStatus.COMPLETED:
            return stored.output
        if stored is not None:  # Still pending: executed again before its event or timeout.
            self._suspend(RunStatus.WAITING, f"{key}: still waiting for {event}")
        try:
            if not isinstance(event, str) or not 0 < len(event) <= MAX_EVENT_NAME_LENGTH:
                raise ValueError(f"the event name must be 1 to 255 characters: {event!r:.80}")
            compiled = compile_conditions(trigger_event=self.event, match=match, if_exp=if_exp)
            expires_at = timezone.now() + parse_duration(timeout)
        except (ExpressionError, ValueError) as exc:
            raise StepError(key, str(exc)) from None
        self._check_new(key, position)
        with infrastructure(f"{key}: registering the wait"), transaction.atomic():
            self._fence(status=RunStatus.WAITING)
            Step.objects.create(
                run_id=self.run_id, key=key, position=position, kind="wait",
                status=StepStatus.WAITING, attempts=1,
            )  # fmt: skip
            wait = Wait.objects.create(
                run_id=self.run_id,
                tenant=self.tenant,
                step_key=key,
                event_name=event,
                match_path=compiled.match_path,
                match_key=compiled.match_key,
                conditions=compiled.clauses,
                expression=storable_text(match or if_exp or ""),
                expires_at=expires_at,
            )
            run_transition(self.run_id, RunStatus.WAITING, f"{key}: waiting for {event}")
            if on_register is not None:
                on_register()
            dispatch.schedule_wait_expiry(wait.pk, expires_at)
        raise Suspend()

    def sleep(self, step_id: str, duration: float | timedelta | str) -> None:
        key, position, stored = self._reach(step_id, "sleep")
        now = timezone.now()
        if stored is not None and stored.status == StepStatus.COMPLETED:
            return None
        if stored is not None:
            if stored.wake_at <= now:
                self._checkpoint(
                    key, position, "sleep", stored, output=None, started=stored.started_at
                )
                return None
            self._suspend(RunStatus.SLEEPING, f"{key}: sleeping", wake_at=stored.wake_at)
        try:
            wake_at = now + parse_duration(duration)
        except ValueError as exc:
            raise StepError(key, str(exc)) from None
        self._check_new(key, position)
        with infrastructure(f"{key}: going to sleep"), transaction.atomic():
            self._fence(status=RunStatus.SLEEPING, wake_at=wake_at)
            Step.objects.create(
                run_id=self.run_id, key=key, position=position, kind="sleep",
                status=StepStatus.SLEEPING, wake_at=wake_at,
            )  # fmt: skip
            run_transition(self.run_id, RunStatus.SLEEPING, f"{key}: until {wake_at:%H:%M:%S}")
            dispatch.enqueue_run(self.run_id, at=wake_at, tenant=self.tenant)
        raise Suspend()

    # --- replay bookkeeping ----------------------------------------------------------------------
    def _reach(self, step_id: str, kind: str) -> tuple[str, int, Step | None]:
        """The code reached `step_id` (a step boundary): give it its key and check it against the
        stored run — the same step, of the same kind, at the same position, and nothing new
        below what the run already stored."""
        if not isinstance(step_id, str) or not step_id:
            raise NonRetriableError("a step id must be a non-empty string")
        if len(step_id) > MAX_STEP_ID_LENGTH or text_problem(step_id):
            raise NonRetriableError(
                f"a step id is at most {MAX_STEP_ID_LENGTH} characters of storable text: "
                f"{step_id[:60]!r}…"
            )
        if self.keeper is not None and self.keeper.lapsed():
            raise LeaseLost()  # another worker may own the run by now: run nothing more
        key = self.ids.key(step_id)
        if len(key) > MAX_KEY_LENGTH:
            raise NonRetriableError(f"step id {step_id[:60]!r} is repeated too often")
        position = self.position
        self.position += 1
        stored = self.stored.get(key)
        changed = ": the function's step order changed since the run started"
        if stored is not None and stored.position != position:
            there = self.stored_by_position.get(position)
            raise NonDeterminismError(
                f"replay reached step {key!r} as step {position + 1}, but the stored run has "
                f"{there.key if there else 'no step'!r} there and {key!r} as step "
                f"{stored.position + 1}{changed}"
            )
        if stored is None and position in self.stored_by_position:
            raise NonDeterminismError(
                f"replay reached step {key!r} as step {position + 1}, but the stored run has "
                f"{self.stored_by_position[position].key!r} there{changed}"
            )
        if stored is not None and stored.kind != kind:
            raise NonDeterminismError(
                f"replay reached step {key!r} as a {kind!r} step, but the stored run has a "
                f"{stored.kind!r} step there{changed}"
            )
        return key, position, stored

    def _check_new(self, key: str, position: int) -> None:
        """Before a new step is stored (or its body runs): never below what the run already
        stored. A step that an earlier execution reached without storing anything (its wait was
        refused, say) and that now would store something forks the run's history."""
        if position <= self.highest_stored:
            last = self.stored_by_position[self.highest_stored]
            raise NonDeterminismError(
                f"replay reached step {key!r} as step {position + 1}, but the stored run already "
                f"went on to {last.key!r} (step {last.position + 1}): the function's step order "
                "changed since the run started"
            )

    def check_all_reached(self) -> None:
        if self.highest_stored >= self.position:
            missed = [s.key for s in self.stored.values() if s.position >= self.position]
            raise NonDeterminismError(
                f"the function ended without reaching stored steps {missed}"
                ": the function's step order changed since the run started"
            )

    # --- executing and storing steps -----------------------------------------------------------
    def _run_step(
        self, key: str, position: int, stored: Step | None, kind: str, call, meta=None
    ) -> Any:
        if stored is not None and stored.status == StepStatus.COMPLETED:
            return stored.output
        if stored is not None and stored.status == StepStatus.FAILED:
            raise StepError(key, stored.error)
        if stored is None:
            self._check_new(key, position)
        attempt = (stored.attempts + 1) if stored is not None else 1
        started = timezone.now()
        crash_point("before_step", key)
        try:
            output = to_json(call())
        except Interrupt:
            raise
        except Exception as exc:
            self._step_failed(key, position, stored, kind, attempt, exc, started, meta)
        crash_point("after_step", key)
        self._checkpoint(
            key, position, kind, stored, output=output, started=started, attempt=attempt,
            meta=meta,
        )  # fmt: skip
        crash_point("after_checkpoint", key)
        return output

    def _checkpoint(
        self, key, position, kind, stored, *, output, started, attempt=1, meta=None
    ) -> None:
        now = timezone.now()
        with infrastructure(f"{key}: storing the result"), transaction.atomic():
            self._fence()
            if stored is None:
                Step.objects.create(
                    run_id=self.run_id, key=key, position=position, kind=kind,
                    status=StepStatus.COMPLETED, output=output, attempts=attempt,
                    started_at=started, ended_at=now, **_meta_fields(meta),
                )  # fmt: skip
            else:
                Step.objects.filter(pk=stored.pk).update(
                    status=StepStatus.COMPLETED, output=output, attempts=attempt,
                    started_at=started, ended_at=now, error="",
                )  # fmt: skip
            observers.run_changed(self.run_id, progress=True)

    def _step_failed(self, key, position, stored, kind, attempt, exc, started, meta) -> None:
        message = storable_text(f"{type(exc).__name__}: {exc}")
        final = isinstance(exc, NonRetriableError) or attempt > self.function.retries
        now = timezone.now()
        fields = {"status": StepStatus.FAILED if final else StepStatus.RETRYING, "error": message,
                  "attempts": attempt, "started_at": started, "ended_at": now}  # fmt: skip
        with infrastructure(f"{key}: storing the failure"), transaction.atomic():
            if final:
                self._fence()
            else:
                wake_at = now + timedelta(seconds=retry_delay(attempt))
                self._fence(status=RunStatus.RETRYING, wake_at=wake_at)
                run_transition(
                    self.run_id, RunStatus.RETRYING,
                    f"{key}: attempt {attempt} failed ({message}); next at {wake_at:%H:%M:%S}",
                )  # fmt: skip
                dispatch.enqueue_run(self.run_id, at=wake_at, tenant=self.tenant)
            if stored is None:
                Step.objects.create(
                    run_id=self.run_id, key=key, position=position, kind=kind, **fields,
                    **_meta_fields(meta),
                )  # fmt: skip
            else:
                Step.objects.filter(pk=stored.pk).update(**fields)
        if final:
            raise StepError(key, message) from exc
        raise Suspend()

    def _suspend(self, status: str, reason: str, wake_at: datetime | None = None) -> None:
        with infrastructure(f"suspending ({reason})"), transaction.atomic():
            self._fence(status=status, wake_at=wake_at)
            run_transition(self.run_id, status, reason)
            if wake_at is not None:
                dispatch.enqueue_run(self.run_id, at=wake_at, tenant=self.tenant)
        raise Suspend()

    def _fence(self, *, status: str | None = None, wake_at: datetime | None = None) -> None:
        """Check that this execution still holds the lease (renewing it when due), or leave
        RUNNING for `status` and release it; only while we hold it.

        Inside the checkpoint's transaction, so a worker that lost its lease (it was presumed
        dead, or the run was cancelled) can never write a step. A step boundary renews the lease
        only when the keeper's renewal is due anyway; otherwise it locks the run row held by our
        token until the commit (SQLite's IMMEDIATE transaction already holds the write lock):
        a takeover or a cancel waits for our commit and then wins, or came first and we see it.
        """
        if status is None and self.keeper is not None and not self.keeper.renewal_due():
            if not lease_held(self.run_id, self.token):
                raise LeaseLost()
            return
        now = timezone.now()
        renewed_from = time.monotonic()
        if status is None:
            changes = {"lease_expires_at": now + lease_duration(), "updated_at": now}
        else:
            changes = {"status": status, "wake_at": wake_at, "lease_owner": "",
                       "lease_expires_at": None, "updated_at": now}  # fmt: skip
        if not lease_update(self.run_id, self.token, **changes):
            raise LeaseLost()
        if status is None and self.keeper is not None:
            self.keeper.renewed(renewed_from)


def _meta_fields(meta: dict | None) -> dict[str, str]:
    meta = meta or {}
    return {"actor": storable_text(str(meta.get("actor") or ""))[:200],
            "tool": storable_text(str(meta.get("tool") or ""))[:200]}  # fmt: skip


def renew_lease(run_id, token: str) -> bool:
    """One renewal of an execution's lease; False if the execution no longer holds it."""
    now = timezone.now()
    return lease_update(run_id, token, lease_expires_at=now + lease_duration(), updated_at=now)


class LeaseKeeper:
    """Renews the lease while the execution runs, so the sweeper leaves it be.

    One renewal every RENEW_FRACTION of the lease, counted from the last renewal, whoever made
    it (this thread, or a step boundary that found it due): a run costs the same writes per
    second whether it runs one long step or a thousand short ones.

    A failed renewal (the database is locked a moment, the pool timed out) is tried again soon;
    renewal stops only with the execution. If the lease could not be renewed before it lapsed,
    or another execution took it, `lapsed()` says so and the execution stops at its next step
    boundary: by then the sweeper may have handed the run to another worker.
    """

    RETRY_SECONDS = 0.5
    # Renewed when 60 % of the lease has passed: 40 % of it (3.2 s of the default 8 s) is left
    # for a slow renewal and its retries.
    RENEW_FRACTION = 0.6

    def __init__(self, run_id, token: str, *, acquired_at: float):
        self.run_id, self.token = run_id, token
        self.duration = lease_duration().total_seconds()
        self.interval = self.duration * self.RENEW_FRACTION
        self.renewed_at = acquired_at
        self.valid_until = acquired_at + self.duration
        self.lost = False
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._renew, name=f"lease-{run_id}", daemon=True)

    def __enter__(self) -> "LeaseKeeper":
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopped.set()
        self.thread.join()

    def lapsed(self) -> bool:
        return self.lost or time.monotonic() >= self.valid_until

    def renewal_due(self) -> bool:
        return time.monotonic() - self.renewed_at >= self.interval

    def renewed(self, started_at: float) -> None:
        """The lease was renewed by a statement that began at `started_at` (monotonic)."""
        self.renewed_at = max(self.renewed_at, started_at)
        self.valid_until = max(self.valid_until, started_at + self.duration)

    def _renew(self) -> None:
        pause = self.interval
        try:
            while not self.stopped.wait(pause):
                if not self.renewal_due():  # a step boundary renewed it meanwhile
                    pause = max(self.renewed_at + self.interval - time.monotonic(), 0.01)
                    continue
                started = time.monotonic()
                try:
                    held = renew_lease(self.run_id, self.token)
                except Exception:
                    logger.warning("renewing the lease of run %s failed; trying again",
                                   self.run_id, exc_info=True)  # fmt: skip
                    connection.close()  # the next attempt starts with a fresh connection
                    pause = min(self.RETRY_SECONDS, self.interval)
                    continue
                if not held:
                    self.lost = True
                    return
                self.renewed(started)
                pause = self.interval
        finally:
            connection.close()


def _acquire(run: Run, token: str) -> str:
    """Take the run's lease: "started" if it was due, "recovered" if its last execution's lease
    expired (its worker died, or the infrastructure failed), "throttled" if its tenant runs as
    many as its limit allows, "" if it is not runnable, "changed" if the run changed since it
    was read (read it again). The lease and the RUNNING transition are one transaction."""
    limit = fairness.tenant_limit(run.tenant)
    with transaction.atomic():
        if limit is not None:
            fairness.lock_tenant(run.tenant)  # count and take in one step per tenant: never over
            if fairness.running_count(run.tenant, excluding=run.pk) >= limit:
                return "throttled" if fairness.throttle(run.pk, limit) else ""
        acquired = _take_lease(run, token)
        if acquired == "recovered":
            _record_recovery(run, token)
        elif acquired == "started":
            run_transition(run.pk, RunStatus.RUNNING, _started_reason(token))
    return acquired


def _started_reason(token: str) -> str:
    return f"execution {token[:8]}"


def _record_recovery(run: Run, token: str) -> None:
    function = registry.get_function(run.function_id)
    limit = function.retries if function is not None else 0
    reason = (f"recovered: the worker's lease expired (recovery {run.recoveries} of at most "
              f"{limit}); execution {token[:8]}")  # fmt: skip
    run_transition(run.pk, RunStatus.RUNNING, reason)


def _acquire_in_one_statement(run_id, token: str) -> tuple[Run | None, str]:
    """PostgreSQL, a tenant without a concurrency limit: `_acquire` without reading the run
    first (postgres.py). A recovery's transition follows the lease in a statement of its own:
    should the worker die between the two, the count of recoveries is right and the history
    lacks that one line."""
    now = timezone.now()
    run, acquired = postgres.take_lease(run_id, token, expires_at=now + lease_duration(),
                                        now=now, reason=_started_reason(token))  # fmt: skip
    if acquired == "started":
        observers.run_changed(run.pk)
    elif acquired == "recovered":
        _record_recovery(run, token)
    return run, acquired


def _take_lease(run: Run, token: str) -> str:
    """The lease, taken by one conditional UPDATE. The run was read just before: its counters
    (attempt, recoveries) are part of the condition, so the copy in hand is the run as taken."""
    now = timezone.now()
    taken = {"status": RunStatus.RUNNING, "lease_owner": token,
             "lease_expires_at": now + lease_duration(), "updated_at": now, "wake_at": None,
             "started_at": Coalesce(F("started_at"), now), "running_since": now,
             "throttled_at": None}  # fmt: skip
    due = Q(status=RunStatus.QUEUED) | Q(
        status__in=[RunStatus.SLEEPING, RunStatus.RETRYING], wake_at__lte=now
    )
    same = Run.objects.filter(pk=run.pk, attempt=run.attempt, recoveries=run.recoveries)
    if same.filter(due).update(**taken):
        outcome = "started"
    elif same.filter(status=RunStatus.RUNNING, lease_expires_at__lt=now).update(
        **taken, recoveries=F("recoveries") + 1
    ):
        outcome = "recovered"
        run.recoveries += 1
    elif Run.objects.filter(pk=run.pk).exclude(attempt=run.attempt, recoveries=run.recoveries
                                               ).exists():  # fmt: skip
        return "changed"
    else:
        return ""
    run.status, run.lease_owner = RunStatus.RUNNING, token
    run.wake_at = run.throttled_at = None
    run.started_at = run.started_at or now
    run.running_since = run.updated_at = now
    run.lease_expires_at = taken["lease_expires_at"]
    return outcome


def execute_run(run_id, tenant: str | None = None) -> str:
    """Execute the run until it suspends or ends. Returns what happened, for logs and tests.
    `tenant`, the run's, when the caller knows it: the lease can then be taken without reading
    the run first (if the tenant has no concurrency limit, on PostgreSQL)."""
    token = uuid.uuid4().hex
    acquired_at = time.monotonic()
    if tenant is not None and postgres.in_use() and fairness.tenant_limit(tenant) is None:
        run, acquired = _acquire_in_one_statement(run_id, token)
        if run is None:
            return "not runnable"
        return _execute(run, token, acquired, acquired_at)
    for _ in range(3):
        run = Run.objects.select_related("event").filter(pk=run_id).first()
        if run is None:
            return "not runnable"
        acquired = _acquire(run, token)
        if acquired != "changed":
            break
    if acquired in ("", "changed"):
        return "not runnable"
    if acquired == "throttled":
        return "throttled"
    try:
        return _execute(run, token, acquired, acquired_at)
    finally:
        if fairness.tenant_limit(run.tenant) is not None:
            fairness.dispatch_throttled(run.tenant)  # this execution's slot is free now


def _execute(run: Run, token: str, acquired: str, acquired_at: float) -> str:
    function = registry.get_function(run.function_id)
    if acquired == "recovered":
        limit = function.retries if function is not None else 0
        if run.recoveries > limit:
            return _finish(run, token, RunStatus.FAILED, error=_crash_loop_reason(run))
    if function is None:
        missing = f"no durable function is registered with id {run.function_id!r}"
        return _finish(run, token, RunStatus.FAILED, error=missing)
    with LeaseKeeper(run.pk, token, acquired_at=acquired_at) as keeper:
        step = StepApi(
            run=run, token=token, function=function, event=run.event.as_dict(), keeper=keeper
        )
        ctx = Context(event=run.event.as_dict(), step=step, run_id=str(run.pk),
                      attempt=run.attempt, tenant=run.tenant)  # fmt: skip
        try:
            output = to_json(function(ctx))
            step.check_all_reached()
        except Suspend:
            return "suspended"
        except LeaseLost:
            return "lease lost"
        except InfrastructureError as exc:
            return _interrupted(run, token, function, exc)
        except (NonDeterminismError, StepError, NonRetriableError) as exc:
            return _finish(run, token, RunStatus.FAILED, error=str(exc))
        except Exception as exc:
            return _retry_or_fail(run, token, function, exc)
    return _finish(run, token, RunStatus.COMPLETED, output=output)


def _crash_loop_reason(run: Run) -> str:
    last = run.steps.order_by("-position").values_list("key", flat=True).first()
    after = f"after step {last!r}" if last else "before its first step"
    return (
        f"the run's execution ended without a verdict {run.recoveries} times (its worker died, "
        f"or the infrastructure failed), each time {after}: given up after more recoveries than "
        "the function's retries"
    )


def _interrupted(
    run: Run, token: str, function: registry.DurableFunction, exc: InfrastructureError
) -> str:
    """The infrastructure failed inside the step API: release the lease and retry the run later
    (counted as a recovery). If even that fails, the lease lapses and the sweeper recovers it."""
    logger.warning("run %s: %s; the execution stops and the run is retried", run.pk, exc)
    try:
        if run.recoveries + 1 > function.retries:
            run.recoveries += 1
            return _finish(run, token, RunStatus.FAILED, error=_crash_loop_reason(run))
        wake_at = timezone.now() + timedelta(seconds=retry_delay(run.recoveries + 1))
        with transaction.atomic():
            if lease_update(run.pk, token, status=RunStatus.RETRYING, wake_at=wake_at,
                            lease_owner="", lease_expires_at=None, updated_at=timezone.now(),
                            recoveries=F("recoveries") + 1):  # fmt: skip
                run_transition(run.pk, RunStatus.RETRYING,
                               f"interrupted: {storable_text(str(exc))[:500]}")  # fmt: skip
                dispatch.enqueue_run(run.pk, at=wake_at, tenant=run.tenant)
    except DatabaseError:
        logger.warning("run %s: could not release its lease either; the sweeper recovers it "
                       "once the lease expires", run.pk, exc_info=True)  # fmt: skip
    return "interrupted"


def _retry_or_fail(run: Run, token: str, function: registry.DurableFunction, exc: Exception) -> str:
    message = storable_text(f"{type(exc).__name__}: {exc}")
    logger.warning("run %s raised outside a step: %s", run.pk, message, exc_info=exc)
    if run.attempt >= function.retries:
        return _finish(run, token, RunStatus.FAILED, error=message)
    now = timezone.now()
    wake_at = now + timedelta(seconds=retry_delay(run.attempt + 1))
    with transaction.atomic():
        if lease_update(run.pk, token, status=RunStatus.RETRYING, attempt=F("attempt") + 1,
                        wake_at=wake_at, lease_owner="", lease_expires_at=None, updated_at=now,
                        error=message):  # fmt: skip
            run_transition(run.pk, RunStatus.RETRYING, f"function raised ({message})")
            dispatch.enqueue_run(run.pk, at=wake_at, tenant=run.tenant)
    return "retrying"


def _finish(run: Run, token: str, status: str, *, output: Any = None, error: str = "") -> str:
    now = timezone.now()
    error = storable_text(error)
    with transaction.atomic():
        if not lease_update(run.pk, token, status=status, output=output, error=error,
                            ended_at=now, updated_at=now, lease_owner="",
                            lease_expires_at=None):  # fmt: skip
            return "lease lost"
        waits_cancel_pending(run.pk, now=now)
        run_transition(run.pk, status, error[:2000], at=now)
        function = registry.get_function(run.function_id)
        if status == RunStatus.FAILED and function is not None and function.on_failure:
            function.on_failure(run.pk, error)
    return status
