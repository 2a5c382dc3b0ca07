"""State changes of runs and waits outside an execution: start, resolve, expire, cancel, retry,
recover.

Every change is a conditional update, so two racers (an answer and a timeout, a cancel and a
worker) can never both win; every transaction locks the run row first (db.py), so two of them
can never deadlock; transient conflicts are retried.
"""

import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from supportdesk.durable import dispatch, observers, postgres, registry
from supportdesk.durable.db import lease_duration, lock_run, retrying
from supportdesk.durable.expressions import compile_conditions
from supportdesk.durable.models import (
    TERMINAL_STATUSES,
    Event,
    Run,
    RunStatus,
    RunTransition,
    Step,
    StepStatus,
    Wait,
    WaitKind,
    WaitStatus,
)
from supportdesk.durable.values import storable_text

logger = logging.getLogger(__name__)


def run_transition(run_id, status: str, reason: str = "", *, at=None) -> None:
    RunTransition.objects.create(
        run_id=run_id, status=status, reason=storable_text(reason), at=at or timezone.now()
    )
    observers.run_changed(run_id)


def run_start(function: registry.DurableFunction, event: Event) -> Run:
    """A run of `function` for `event`, with its `cancel_on` waits, enqueued after commit. An
    event whose `ts` is in the future starts its runs then, as in Inngest: the run sleeps until
    that moment, holding no worker (as if its first step were a sleep)."""
    starts_at = datetime.fromtimestamp(event.ts / 1000, tz=UTC)
    if starts_at > timezone.now():
        run = Run.objects.create(function_id=function.id, event=event, tenant=event.tenant,
                                 status=RunStatus.SLEEPING, wake_at=starts_at)  # fmt: skip
        run_transition(run.pk, RunStatus.SLEEPING, f"triggered by {event.name}, scheduled for "
                       f"{starts_at.isoformat(timespec='seconds')} (the event's ts)")  # fmt: skip
    else:
        run = Run.objects.create(function_id=function.id, event=event, tenant=event.tenant)
        run_transition(run.pk, RunStatus.QUEUED, f"triggered by {event.name}")
    cancel_waits_register(run, function)
    dispatch.enqueue_run(run.pk, at=run.wake_at, tenant=run.tenant)
    return run


def cancel_waits_register(run: Run, function: registry.DurableFunction) -> None:
    """The waits through which a `cancel_on` event cancels the run."""
    trigger = run.event.as_dict()
    for cancel in function.cancel_on:
        compiled = compile_conditions(trigger_event=trigger, match=cancel.match,
                                      if_exp=cancel.if_exp)  # fmt: skip
        Wait.objects.create(
            run=run,
            tenant=run.tenant,
            kind=WaitKind.CANCEL,
            event_name=cancel.event,
            match_path=compiled.match_path,
            match_key=compiled.match_key,
            conditions=compiled.clauses,
            expression=cancel.match or cancel.if_exp or "",
        )


def waits_cancel_pending(run_id, *, now=None) -> int:
    """The run ended: none of its waits, of either kind, can be resolved any more."""
    return Wait.objects.filter(run_id=run_id, status=WaitStatus.PENDING).update(
        status=WaitStatus.CANCELLED, resolved_at=now or timezone.now()
    )


def _requeue_waiting_run(run_id, reason: str, *, tenant: str) -> None:
    now = timezone.now()
    updated = Run.objects.filter(pk=run_id, status=RunStatus.WAITING).update(
        status=RunStatus.QUEUED, updated_at=now
    )
    if updated:
        run_transition(run_id, RunStatus.QUEUED, reason, at=now)
        dispatch.enqueue_run(run_id, tenant=tenant)


def _decide_wait(wait: Wait, *, status: str, output, event: Event | None, reason: str,
                 only_expired: bool = False) -> bool:  # fmt: skip
    """Decide a pending step wait: its step completes with `output`, its run is requeued if it
    waits (an execution that is still suspending sees the decided wait). False if the wait was
    already decided. Inside an outer transaction (the matching's) no savepoint: a failure there
    fails it whole."""
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        if postgres.in_use():  # one statement, the same locks (postgres.py)
            decided, requeued = postgres.decide_wait(
                wait, status=status, output=output, event_id=event.pk if event else None,
                reason=storable_text(reason), now=now, only_expired=only_expired,
            )  # fmt: skip
            if requeued:
                observers.run_changed(wait.run_id)
                dispatch.enqueue_run(wait.run_id, tenant=wait.tenant)
            return decided
        lock_run(wait.run_id)
        pending = Wait.objects.filter(pk=wait.pk, status=WaitStatus.PENDING)
        if only_expired:
            pending = pending.filter(expires_at__lte=now)
        if not pending.update(status=status, resolved_at=now, resolved_by=event):
            return False
        Step.objects.filter(run_id=wait.run_id, key=wait.step_key).update(
            status=StepStatus.COMPLETED, output=output, ended_at=now
        )
        _requeue_waiting_run(wait.run_id, reason, tenant=wait.tenant)
    return True


def wait_resolve(wait: Wait, event: Event) -> bool:
    """Resolve a step wait with `event`. Returns False if the wait was already decided."""
    reason = f"{wait.step_key}: {event.name} {event.event_id}"

    def resolve() -> bool:
        return _decide_wait(wait, status=WaitStatus.RESOLVED, output=event.as_dict(),
                            event=event, reason=reason)  # fmt: skip

    return retrying(resolve, what=f"resolving wait {wait.pk}")


def wait_expire(wait_id: int) -> bool:
    """Time a step wait out: the step resolves to None. False if it was already decided."""
    wait = Wait.objects.filter(pk=wait_id).only("run_id", "step_key", "tenant").first()
    if wait is None:
        return False

    def expire() -> bool:
        return _decide_wait(wait, status=WaitStatus.TIMED_OUT, output=None, event=None,
                            reason=f"{wait.step_key}: timed out", only_expired=True)  # fmt: skip

    return retrying(expire, what=f"expiring wait {wait_id}")


def run_cancel(run_id, *, reason: str = "cancelled") -> bool:
    """Cancel a run that has not ended. A worker executing it stops at its next step boundary."""
    return retrying(lambda: _run_cancel(run_id, reason), what=f"cancelling run {run_id}")


def _run_cancel(run_id, reason: str) -> bool:
    now = timezone.now()
    with transaction.atomic():
        updated = (
            Run.objects.filter(pk=run_id)
            .exclude(status__in=TERMINAL_STATUSES)
            .update(
                status=RunStatus.CANCELLED,
                ended_at=now,
                updated_at=now,
                lease_owner="",
                lease_expires_at=None,
                wake_at=None,
            )
        )
        if not updated:
            return False
        waits_cancel_pending(run_id, now=now)
        run_transition(run_id, RunStatus.CANCELLED, reason, at=now)
        function = registry.get_function(
            Run.objects.values_list("function_id", flat=True).get(pk=run_id)
        )
        if function is not None and function.on_cancel is not None:
            function.on_cancel(run_id, reason)
    return True


def runs_cancel(run_ids: Iterable, *, reason: str) -> int:
    return sum(run_cancel(run_id, reason=reason) for run_id in run_ids)


def run_enqueue_due(now=None) -> list:
    """Enqueue runs whose lease expired (their worker died), whose timer is due, or whose queue
    message was lost. Returns the runs enqueued for recovery.

    Recovery itself is the execution's: it takes over an expired lease and counts the recovery
    (engine.execute_run), the one path whether the sweeper or a redelivered message got there.
    """
    now = now or timezone.now()
    stale = now - timezone.timedelta(seconds=settings.DURABLE["REQUEUE_AFTER_SECONDS"])
    expired = Run.objects.filter(status=RunStatus.RUNNING, lease_expires_at__lt=now)
    # Enqueued again only when not enqueued recently: a run nobody could take yet (all workers
    # busy) is not enqueued at every sweep.
    recovered = dict(
        expired.filter(updated_at__lt=now - lease_duration()).values_list("pk", "tenant")
    )
    # Timers the queue should have fired, and queued runs nobody picked up (their message was lost).
    overdue = now - timezone.timedelta(seconds=2)
    due = dict(
        Run.objects.filter(
            Q(status__in=[RunStatus.SLEEPING, RunStatus.RETRYING], wake_at__lte=overdue)
            | Q(status=RunStatus.QUEUED, updated_at__lt=stale, throttled_at__isnull=True)
        ).values_list("pk", "tenant")
    )
    # Stamped so that a long backlog is not enqueued again at every sweep.
    Run.objects.filter(pk__in=list(due), status=RunStatus.QUEUED).update(updated_at=now)
    Run.objects.filter(pk__in=list(recovered), status=RunStatus.RUNNING).update(updated_at=now)
    for run_id, tenant in (recovered | due).items():
        dispatch.enqueue_run_now(run_id, tenant=tenant)
    return list(recovered)


def waits_expire_due(now=None) -> int:
    now = now or timezone.now()
    due = Wait.objects.filter(
        status=WaitStatus.PENDING, kind=WaitKind.STEP, expires_at__lte=now
    ).values_list("pk", flat=True)
    return sum(wait_expire(wait_id) for wait_id in due)


def run_retry(run_id, *, reason: str = "retried") -> bool:
    """Run a failed run again from its failed step: completed steps stay memoized, the failed
    step (and anything after it) is forgotten and runs afresh. False if the run had not failed."""
    now = timezone.now()
    with transaction.atomic():
        updated = Run.objects.filter(pk=run_id, status=RunStatus.FAILED).update(
            status=RunStatus.QUEUED, error="", ended_at=None, attempt=0, recoveries=0,
            updated_at=now, output=None,
        )  # fmt: skip
        if not updated:
            return False
        failed = Step.objects.filter(run_id=run_id).exclude(status=StepStatus.COMPLETED)
        first_failed = failed.order_by("position").values_list("position", flat=True).first()
        if first_failed is not None:
            Step.objects.filter(run_id=run_id, position__gte=first_failed).delete()
        run = Run.objects.select_related("event").get(pk=run_id)
        function = registry.get_function(run.function_id)
        if function is not None:
            # The run's cancel_on waits were cancelled when it failed: a retried run must stop
            # for the same events as the first one.
            waits_cancel_pending(run_id, now=now)
            cancel_waits_register(run, function)
        run_transition(run_id, RunStatus.QUEUED, reason, at=now)
        dispatch.enqueue_run(run_id, tenant=run.tenant)
    return True
