"""Executes a run: takes its lease, replays the function against its stored steps, and runs new
steps until the function suspends (wait, sleep, retry delay) or ends. One task, many steps."""

import json
import logging
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from agents.step import dumps, parse_duration
from supportdesk.durable import dispatch, observers, registry
from supportdesk.durable.errors import (
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
from supportdesk.durable.models import Run, RunStatus, Step, StepStatus, Wait, WaitStatus
from supportdesk.durable.services import run_transition

logger = logging.getLogger(__name__)


def durable_settings() -> dict:
    return settings.DURABLE


def to_json(value: Any) -> Any:
    """Round-trip through JSON so a fresh result equals what a replay will read back."""

    try:
        text = dumps(value)
    except (TypeError, ValueError) as exc:
        raise NonRetriableError(f"the step's result cannot be stored as JSON: {exc}") from None
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

    def __init__(self, *, run: Run, token: str, function: registry.DurableFunction, event: dict):
        self.run_id = run.pk
        self.tenant = run.tenant
        self.token = token
        self.function = function
        self.event = event
        self.stored: dict[str, Step] = {s.key: s for s in run.steps.all()}
        self.stored_by_position = {s.position: s for s in self.stored.values()}
        self.position = 0
        self.seen_ids: Counter[str] = Counter()

    # --- the public step API -------------------------------------------------------------------
    def run(self, step_id: str, fn: Callable[..., Any], *args: Any, kind: str = "run", **kw: Any):
        key, position, stored = self._reach(step_id)
        return self._run_step(key, position, stored, kind, lambda: fn(*args, **kw))

    def send_event(self, step_id: str, events: dict | list[dict]) -> list[str]:
        from supportdesk.durable.events import events_send

        key, position, stored = self._reach(step_id)
        batch = [dict(e) for e in (events if isinstance(events, list) else [events])]
        for index, event in enumerate(batch):
            # A deterministic id: if the worker dies after sending but before the checkpoint,
            # the step's second attempt sends the same ids and dedup drops them.
            event.setdefault("id", f"{self.run_id}:{key}:{index}")
        return self._run_step(
            key, position, stored, "send", lambda: events_send(batch, tenant=self.tenant)
        )

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
        key, position, stored = self._reach(step_id)
        if stored is not None and stored.status == StepStatus.COMPLETED:
            return stored.output
        if stored is not None:  # Still pending: executed again before its event or timeout.
            self._suspend(RunStatus.WAITING, f"{key}: still waiting for {event}")
        try:
            clauses, key_to_match = compile_conditions(
                trigger_event=self.event, match=match, if_exp=if_exp
            )
            expires_at = timezone.now() + parse_duration(timeout)
        except (ExpressionError, ValueError) as exc:
            raise StepError(key, str(exc)) from None
        with transaction.atomic():
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
                match_key=key_to_match,
                conditions=clauses,
                expression=match or if_exp or "",
                expires_at=expires_at,
            )
            run_transition(self.run_id, RunStatus.WAITING, f"{key}: waiting for {event}")
            if on_register is not None:
                on_register()
            dispatch.schedule_wait_expiry(wait.pk, expires_at)
        raise Suspend()

    def sleep(self, step_id: str, duration: float | timedelta | str) -> None:
        key, position, stored = self._reach(step_id)
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
        wake_at = now + parse_duration(duration)
        with transaction.atomic():
            self._fence(status=RunStatus.SLEEPING, wake_at=wake_at)
            Step.objects.create(
                run_id=self.run_id, key=key, position=position, kind="sleep",
                status=StepStatus.SLEEPING, wake_at=wake_at,
            )  # fmt: skip
            run_transition(self.run_id, RunStatus.SLEEPING, f"{key}: until {wake_at:%H:%M:%S}")
            dispatch.enqueue_run(self.run_id, at=wake_at)
        raise Suspend()

    # --- replay bookkeeping ----------------------------------------------------------------------
    def _reach(self, step_id: str) -> tuple[str, int, Step | None]:
        """The code reached `step_id`: give it its key and check it against the stored order."""
        if not isinstance(step_id, str) or not step_id:
            raise NonRetriableError("a step id must be a non-empty string")
        count = self.seen_ids[step_id]
        self.seen_ids[step_id] += 1
        key = step_id if count == 0 else f"{step_id}:{count}"
        position = self.position
        self.position += 1
        stored = self.stored.get(key)
        if (stored is None and position in self.stored_by_position) or (
            stored is not None and stored.position != position
        ):
            there = self.stored_by_position.get(position)
            raise NonDeterminismError(
                f"replay reached step {key!r} as step {position + 1}, but the stored run has "
                f"{there.key if there else 'no step'!r} there"
                + (f" and {key!r} as step {stored.position + 1}" if stored else "")
                + ": the function's step order changed since the run started"
            )
        return key, position, stored

    def check_all_reached(self) -> None:
        if self.position < len(self.stored):
            missed = [s.key for s in self.stored.values() if s.position >= self.position]
            raise NonDeterminismError(
                f"the function ended without reaching stored steps {missed}: "
                "the function's step order changed since the run started"
            )

    # --- executing and storing steps -----------------------------------------------------------
    def _run_step(self, key: str, position: int, stored: Step | None, kind: str, call) -> Any:
        if stored is not None and stored.status == StepStatus.COMPLETED:
            return stored.output
        if stored is not None and stored.status == StepStatus.FAILED:
            raise StepError(key, stored.error)
        attempt = (stored.attempts + 1) if stored is not None else 1
        started = timezone.now()
        crash_point("before_step", key)
        try:
            output = to_json(call())
        except Interrupt:
            raise
        except Exception as exc:
            self._step_failed(key, position, stored, kind, attempt, exc, started)
        crash_point("after_step", key)
        self._checkpoint(
            key, position, kind, stored, output=output, started=started, attempt=attempt
        )
        crash_point("after_checkpoint", key)
        return output

    def _checkpoint(self, key, position, kind, stored, *, output, started, attempt=1) -> None:
        now = timezone.now()
        with transaction.atomic():
            self._fence()
            if stored is None:
                Step.objects.create(
                    run_id=self.run_id, key=key, position=position, kind=kind,
                    status=StepStatus.COMPLETED, output=output, attempts=attempt,
                    started_at=started, ended_at=now,
                )  # fmt: skip
            else:
                Step.objects.filter(pk=stored.pk).update(
                    status=StepStatus.COMPLETED, output=output, attempts=attempt,
                    started_at=started, ended_at=now, error="",
                )  # fmt: skip
            observers.run_changed(self.run_id, progress=True)

    def _step_failed(self, key, position, stored, kind, attempt, exc, started) -> None:
        message = f"{type(exc).__name__}: {exc}"
        final = isinstance(exc, NonRetriableError) or attempt > self.function.retries
        now = timezone.now()
        fields = {"status": StepStatus.FAILED if final else StepStatus.RETRYING, "error": message,
                  "attempts": attempt, "started_at": started, "ended_at": now}  # fmt: skip
        with transaction.atomic():
            if final:
                self._fence()
            else:
                wake_at = now + timedelta(seconds=retry_delay(attempt))
                self._fence(status=RunStatus.RETRYING, wake_at=wake_at)
                run_transition(
                    self.run_id, RunStatus.RETRYING,
                    f"{key}: attempt {attempt} failed ({message}); next at {wake_at:%H:%M:%S}",
                )  # fmt: skip
                dispatch.enqueue_run(self.run_id, at=wake_at)
            if stored is None:
                Step.objects.create(
                    run_id=self.run_id, key=key, position=position, kind=kind, **fields
                )
            else:
                Step.objects.filter(pk=stored.pk).update(**fields)
        if final:
            raise StepError(key, message) from exc
        raise Suspend()

    def _suspend(self, status: str, reason: str, wake_at: datetime | None = None) -> None:
        with transaction.atomic():
            self._fence(status=status, wake_at=wake_at)
            run_transition(self.run_id, status, reason)
            if wake_at is not None:
                dispatch.enqueue_run(self.run_id, at=wake_at)
        raise Suspend()

    def _fence(self, *, status: str | None = None, wake_at: datetime | None = None) -> None:
        """Renew the lease, or leave RUNNING for `status` and release it; only while we hold it.

        Inside the checkpoint's transaction, so a worker that lost its lease (it was presumed
        dead, or the run was cancelled) can never write a step.
        """
        now = timezone.now()
        if status is None:
            changes = {"lease_expires_at": now + lease_duration(), "updated_at": now}
        else:
            changes = {"status": status, "wake_at": wake_at, "lease_owner": "",
                       "lease_expires_at": None, "updated_at": now}  # fmt: skip
        held = Run.objects.filter(
            pk=self.run_id, lease_owner=self.token, status=RunStatus.RUNNING
        ).update(**changes)
        if not held:
            raise LeaseLost()


def lease_duration() -> timedelta:
    return timedelta(seconds=durable_settings()["LEASE_SECONDS"])


class LeaseKeeper:
    """Renews the lease while a long step (a slow model call) runs, so the sweeper leaves it be."""

    def __init__(self, run_id, token: str):
        self.run_id, self.token = run_id, token
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._renew, name=f"lease-{run_id}", daemon=True)

    def __enter__(self) -> "LeaseKeeper":
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopped.set()
        self.thread.join()

    def _renew(self) -> None:
        interval = lease_duration().total_seconds() / 3
        try:
            while not self.stopped.wait(interval):
                Run.objects.filter(
                    pk=self.run_id, lease_owner=self.token, status=RunStatus.RUNNING
                ).update(lease_expires_at=timezone.now() + lease_duration())
        except Exception:
            logger.warning("renewing the lease of run %s failed", self.run_id, exc_info=True)
        finally:
            connection.close()


def execute_run(run_id) -> str:
    """Execute the run until it suspends or ends. Returns what happened, for logs and tests."""
    token = uuid.uuid4().hex
    now = timezone.now()
    acquired = (
        Run.objects.filter(pk=run_id)
        .filter(
            Q(status=RunStatus.QUEUED)
            | Q(status__in=[RunStatus.SLEEPING, RunStatus.RETRYING], wake_at__lte=now)
            | Q(status=RunStatus.RUNNING, lease_expires_at__lt=now)
        )
        .update(
            status=RunStatus.RUNNING,
            lease_owner=token,
            lease_expires_at=now + lease_duration(),
            started_at=Coalesce(F("started_at"), now),
            updated_at=now,
            wake_at=None,
        )
    )
    if not acquired:
        return "not runnable"
    run = Run.objects.select_related("event").get(pk=run_id)
    run_transition(run.pk, RunStatus.RUNNING, f"execution {token[:8]}", at=now)
    function = registry.get_function(run.function_id)
    if function is None:
        missing = f"no durable function is registered with id {run.function_id!r}"
        return _finish(run, token, RunStatus.FAILED, error=missing)
    step = StepApi(run=run, token=token, function=function, event=run.event.as_dict())
    ctx = Context(event=run.event.as_dict(), step=step, run_id=str(run.pk), attempt=run.attempt,
                  tenant=run.tenant)  # fmt: skip
    with LeaseKeeper(run.pk, token):
        try:
            output = to_json(function(ctx))
            step.check_all_reached()
        except Suspend:
            return "suspended"
        except LeaseLost:
            return "lease lost"
        except (NonDeterminismError, StepError, NonRetriableError) as exc:
            return _finish(run, token, RunStatus.FAILED, error=str(exc))
        except Exception as exc:
            return _retry_or_fail(run, token, function, exc)
    return _finish(run, token, RunStatus.COMPLETED, output=output)


def _retry_or_fail(run: Run, token: str, function: registry.DurableFunction, exc: Exception) -> str:
    message = f"{type(exc).__name__}: {exc}"
    logger.warning("run %s raised outside a step: %s", run.pk, message, exc_info=exc)
    if run.attempt >= function.retries:
        return _finish(run, token, RunStatus.FAILED, error=message)
    now = timezone.now()
    wake_at = now + timedelta(seconds=retry_delay(run.attempt + 1))
    with transaction.atomic():
        held = Run.objects.filter(pk=run.pk, lease_owner=token, status=RunStatus.RUNNING).update(
            status=RunStatus.RETRYING, attempt=F("attempt") + 1, wake_at=wake_at,
            lease_owner="", lease_expires_at=None, updated_at=now, error=message,
        )  # fmt: skip
        if held:
            run_transition(run.pk, RunStatus.RETRYING, f"function raised ({message})")
            dispatch.enqueue_run(run.pk, at=wake_at)
    return "retrying"


def _finish(run: Run, token: str, status: str, *, output: Any = None, error: str = "") -> str:
    now = timezone.now()
    with transaction.atomic():
        held = Run.objects.filter(pk=run.pk, lease_owner=token, status=RunStatus.RUNNING).update(
            status=status, output=output, error=error, ended_at=now, updated_at=now,
            lease_owner="", lease_expires_at=None,
        )  # fmt: skip
        if not held:
            return "lease lost"
        Wait.objects.filter(run_id=run.pk, status=WaitStatus.PENDING).update(
            status=WaitStatus.CANCELLED, resolved_at=now
        )
        run_transition(run.pk, status, error[:2000], at=now)
    return status
