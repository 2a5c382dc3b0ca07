"""The durable engine's state: events, runs with their transitions, memoized steps and waits."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone


class Event(models.Model):
    """An event as Inngest shapes it; `event_id` is the dedup key."""

    event_id = models.CharField(max_length=255)
    # Who sent it (an organization, for the desk). An event starts and resolves only its own
    # tenant's runs, so one tenant can never answer another's waits.
    tenant = models.CharField(max_length=64, blank=True, default="")
    name = models.CharField(max_length=255, db_index=True)
    data = models.JSONField(default=dict)
    ts = models.BigIntegerField(help_text="Epoch milliseconds, as sent or when received.")
    received_at = models.DateTimeField(default=timezone.now)
    # Set once the event's waits and cancellations have been applied; the sweeper finishes the
    # job for events whose sender died between commit and matching.
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # Ids deduplicate within a tenant: one tenant's id never swallows another's event.
            models.UniqueConstraint(fields=["tenant", "event_id"], name="event_unique_id")
        ]
        indexes = [
            models.Index(fields=["event_id"], name="event_id"),
            models.Index(
                fields=["received_at"],
                name="event_unprocessed",
                condition=Q(processed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.event_id})"

    def as_dict(self) -> dict:
        return {"id": self.event_id, "name": self.name, "data": self.data, "ts": self.ts}


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    SLEEPING = "sleeping"
    RETRYING = "retrying"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_STATUSES = (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED)


class Run(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    function_id = models.CharField(max_length=200, db_index=True)
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="runs")
    tenant = models.CharField(max_length=64, blank=True, default="", db_index=True)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    attempt = models.PositiveIntegerField(default=0, help_text="Retries of code outside steps.")
    recoveries = models.PositiveIntegerField(
        default=0,
        help_text="Executions that ended without a verdict: the worker died (its lease expired) "
        "or the infrastructure failed. Past the function's retries the run fails.",
    )
    output = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # When a sleeping or retrying run is due again.
    wake_at = models.DateTimeField(null=True, blank=True)
    # Each execution takes a fresh token; every checkpoint is conditional on still holding it.
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # When the current execution took the lease: of a tenant at its concurrency limit, the
    # executions that started first keep their slots (fairness.py).
    running_since = models.DateTimeField(null=True, blank=True)
    # Set while the run waits for a free slot of its tenant, holding no queue message.
    throttled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "lease_expires_at"], name="run_status_lease"),
            models.Index(fields=["status", "wake_at"], name="run_status_wake"),
            models.Index(fields=["status", "updated_at"], name="run_status_updated"),
            models.Index(fields=["tenant", "status"], name="run_tenant_status"),
        ]

    def __str__(self) -> str:
        return f"{self.function_id} {self.id} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class RunTransition(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="transitions")
    status = models.CharField(max_length=16, choices=RunStatus.choices)
    at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.status} at {self.at:%H:%M:%S.%f}"


class StepStatus(models.TextChoices):
    COMPLETED = "completed"
    FAILED = "failed"
    RETRYING = "retrying"
    WAITING = "waiting"
    SLEEPING = "sleeping"


class Step(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="steps")
    key = models.CharField(max_length=255, help_text="The step id, auto-indexed when repeated.")
    position = models.PositiveIntegerField(help_text="Order in which the function reaches it.")
    kind = models.CharField(max_length=16)
    # Who acted and with which tool, as the framework said (never parsed out of the key).
    actor = models.CharField(max_length=200, blank=True)
    tool = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=StepStatus.choices)
    output = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=1)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    wake_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["run", "key"], name="step_unique_key"),
            models.UniqueConstraint(fields=["run", "position"], name="step_unique_position"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"

    @property
    def duration_ms(self) -> float | None:
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds() * 1000


class WaitKind(models.TextChoices):
    STEP = "step", "wait_for_event step"
    CANCEL = "cancel", "cancel_on"


class WaitStatus(models.TextChoices):
    PENDING = "pending"
    RESOLVED = "resolved"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"


class Wait(models.Model):
    """A run waiting for an event: a `wait_for_event` step or a `cancel_on` trigger."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="waits")
    kind = models.CharField(max_length=8, choices=WaitKind.choices, default=WaitKind.STEP)
    tenant = models.CharField(max_length=64, blank=True, default="")
    step_key = models.CharField(max_length=255, blank=True)
    event_name = models.CharField(max_length=255)
    # One equality the incoming event must satisfy: its path, and a hash of path and value. The
    # index that keeps matching one of 10,000 waits as cheap as one of 10 (expressions.py).
    match_path = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001 (NULL: none)
    match_key = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 (NULL: none)
    conditions = models.JSONField(default=list, help_text="All clauses, evaluated on candidates.")
    expression = models.TextField(blank=True, help_text="The match or if_exp as written.")
    status = models.CharField(max_length=16, choices=WaitStatus.choices, default=WaitStatus.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="resolved_waits"
    )

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["tenant", "event_name", "match_key"],
                name="wait_pending_match",
                condition=Q(status="pending"),
            ),
            models.Index(
                fields=["tenant", "event_name", "match_path"],
                name="wait_pending_path",
                condition=Q(status="pending"),
            ),
            models.Index(
                fields=["expires_at"], name="wait_pending_expiry", condition=Q(status="pending")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} wait for {self.event_name} ({self.status})"
