"""Fair scheduling between tenants, so that one tenant's flood cannot starve the others.

- **A concurrency limit per tenant** (Inngest's concurrency key): at most `limit` executions of a
  tenant's runs at once. An execution that finds its tenant at the limit hands its run back
  (queued, marked *throttled*, holding no queue message); when an execution of that tenant ends,
  the oldest throttled run is enqueued again. The sweeper does the same for any tenant with
  throttled runs and free slots, should a message be lost. A tenant can therefore never occupy
  more than `limit` workers; with the limit below the number of workers, others always find one.
- **Priorities**: a run is enqueued with a priority that falls with how much its tenant enqueued
  lately (a decaying count per process), so a new ticket of a quiet tenant is taken before the
  backlog of a flooding one — both queues (Huey on SQLite, Huey on Redis) pop the highest first.

The limit of a tenant comes from the domain above (the desk: an organization's setting in admin),
through `set_limit_resolver`; without one, from `DURABLE["TENANT_CONCURRENCY"]` (None: no limit).
"""

import math
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from supportdesk.durable.models import Run, RunStatus

LIMIT_CACHE_SECONDS = 5.0
PRIORITY_HALF_LIFE_SECONDS = 30.0

_resolver: Callable[[str], int | None] | None = None
_limits: dict[str, tuple[float, int | None]] = {}
_pressure: dict[str, tuple[float, float]] = {}
_lock = threading.Lock()


def set_limit_resolver(resolver: Callable[[str], int | None] | None) -> None:
    """`resolver(tenant)` gives the tenant's limit (None: the engine's default)."""
    global _resolver
    _resolver = resolver
    _limits.clear()


def tenant_limit(tenant: str) -> int | None:
    """How many executions of the tenant may run at once; None: no limit."""
    now = time.monotonic()
    cached = _limits.get(tenant)
    if cached is not None and now - cached[0] < LIMIT_CACHE_SECONDS:
        return cached[1]
    limit = _resolver(tenant) if _resolver is not None else None
    if limit is None:
        limit = settings.DURABLE.get("TENANT_CONCURRENCY")
    _limits[tenant] = (now, limit)
    return limit


def forget() -> None:
    """Forget cached limits and recent pressure (tests; a changed setting is seen within
    LIMIT_CACHE_SECONDS anyway)."""
    _limits.clear()
    with _lock:
        _pressure.clear()


def priority(tenant: str) -> int:
    """The queue priority of a run of `tenant` enqueued now: 0 for a quiet tenant, falling by one
    for each run the tenant enqueued lately (the count halves every PRIORITY_HALF_LIFE_SECONDS)."""
    now = time.monotonic()
    with _lock:
        at, count = _pressure.get(tenant, (now, 0.0))
        count = count * math.pow(0.5, (now - at) / PRIORITY_HALF_LIFE_SECONDS)
        _pressure[tenant] = (now, count + 1)
    return -round(count)


def over_limit(run: Run) -> bool:
    """True if this execution, just acquired, is beyond its tenant's limit: the executions that
    acquired earlier keep their slots (ties broken by id), so two racers never both give way."""
    limit = tenant_limit(run.tenant)
    if limit is None:
        return False
    earlier = Run.objects.filter(tenant=run.tenant, status=RunStatus.RUNNING).filter(
        Q(running_since__lt=run.running_since) | Q(running_since=run.running_since, pk__lt=run.pk)
    )
    return earlier.count() >= limit


def throttle(run: Run, token: str) -> bool:
    """Hand the run back to the queue, throttled: it waits for a slot of its tenant, holding
    no queue message. Returns whether this execution still held it."""
    from supportdesk.durable.db import lease_update
    from supportdesk.durable.services import run_transition

    now = timezone.now()
    with transaction.atomic():
        first_time = run.throttled_at is None
        released = lease_update(
            run.pk, token, status=RunStatus.QUEUED, lease_owner="", lease_expires_at=None,
            running_since=None, throttled_at=run.throttled_at or now, updated_at=now,
        )  # fmt: skip
        if released and first_time:
            limit = tenant_limit(run.tenant)
            reason = f"waiting for a free slot: its tenant runs {limit} at a time"
            run_transition(run.pk, RunStatus.QUEUED, reason)
        if released:
            # The slot's holder may have ended before this run was marked: look again.
            transaction.on_commit(lambda: dispatch_throttled(run.tenant))
    return released


def dispatch_throttled(tenant: str) -> int:
    """Enqueue the tenant's oldest throttled runs, as many as it has free slots."""
    from supportdesk.durable import dispatch

    limit = tenant_limit(tenant)
    throttled = Run.objects.filter(
        tenant=tenant, status=RunStatus.QUEUED, throttled_at__isnull=False
    ).order_by("throttled_at", "pk")
    if limit is None:
        free = throttled.count()
    else:
        running = Run.objects.filter(tenant=tenant, status=RunStatus.RUNNING).count()
        free = max(limit - running, 0)
    run_ids = list(throttled.values_list("pk", flat=True)[:free]) if free else []
    for run_id in run_ids:
        dispatch.enqueue_run_now(run_id, tenant=tenant)
    return len(run_ids)


def dispatch_all_throttled() -> int:
    """The sweeper's safety net: every tenant with throttled runs gets its free slots filled."""
    tenants = (
        Run.objects.filter(status=RunStatus.QUEUED, throttled_at__isnull=False)
        .values_list("tenant", flat=True)
        .distinct()
    )
    return sum(dispatch_throttled(tenant) for tenant in list(tenants))
