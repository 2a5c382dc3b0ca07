"""Fair scheduling between tenants, so that one tenant's flood cannot starve the others.

- **A concurrency limit per tenant** (Inngest's concurrency key): at most `limit` executions of a
  tenant's runs at once, counted and taken under a per-tenant lock. A run that finds its tenant
  at the limit stays queued, marked *throttled*, holding no queue message; when an execution of
  that tenant ends, the oldest throttled run is enqueued again. The sweeper does the same for
  any tenant with throttled runs and free slots, should a message be lost. A tenant can
  therefore never occupy more than `limit` workers; with the limit below the number of workers,
  others always find one.
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
from django.db import connection
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


def lock_tenant(tenant: str) -> None:
    """Serialize the acquisitions of one tenant's runs until the transaction ends, so that the
    count and the take are one step. (SQLite's IMMEDIATE transactions serialize every writer.)"""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"tenant:{tenant}"])


def running_count(tenant: str, *, excluding) -> int:
    return Run.objects.filter(tenant=tenant, status=RunStatus.RUNNING).exclude(pk=excluding).count()


def throttle(run_id, limit: int) -> bool:
    """The run is due but its tenant has no free slot: it waits queued and *throttled*, holding
    no queue message, until an execution of its tenant ends (or the sweeper finds a slot).
    Returns False if the run was not runnable anyway."""
    from supportdesk.durable.services import run_transition

    now = timezone.now()
    due = (
        Q(status=RunStatus.QUEUED)
        | Q(status__in=[RunStatus.SLEEPING, RunStatus.RETRYING], wake_at__lte=now)
        | Q(status=RunStatus.RUNNING, lease_expires_at__lt=now)
    )
    first_time = Run.objects.filter(due, pk=run_id, throttled_at__isnull=True).update(
        status=RunStatus.QUEUED, throttled_at=now, lease_owner="", lease_expires_at=None,
        wake_at=None, updated_at=now,
    )  # fmt: skip
    if first_time:
        reason = f"waiting for a free slot: its tenant runs {limit} at a time"
        run_transition(run_id, RunStatus.QUEUED, reason)
        return True
    return Run.objects.filter(due, pk=run_id).exists()


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
