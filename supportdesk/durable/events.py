"""Events in: validate, store with id dedup, start triggered runs, then match waits after commit.

Matching runs after the event's commit, so a wait committed before the event always sees it. An
event whose sender died before matching stays unprocessed and the sweeper matches it later.
"""

import json
import logging
import time
import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from supportdesk.durable import dispatch, registry
from supportdesk.durable.expressions import compile_conditions, evaluate, event_match_keys
from supportdesk.durable.models import Event, Run, RunStatus, Wait, WaitKind, WaitStatus
from supportdesk.durable.services import run_cancel, run_transition, wait_resolve

logger = logging.getLogger(__name__)


class EventIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=255)
    data: dict[str, Any] = Field(default_factory=dict)
    id: str | None = Field(default=None, max_length=255)
    ts: int | None = Field(default=None, ge=0, le=253_402_300_799_999)  # through year 9999

    @field_validator("name")
    @classmethod
    def name_has_no_spaces_at_ends(cls, name: str) -> str:
        if name != name.strip():
            raise ValueError("must not start or end with white space")
        return name

    @field_validator("id")
    @classmethod
    def empty_id_means_none(cls, event_id: str | None) -> str | None:
        return event_id or None

    @field_validator("data")
    @classmethod
    def data_is_storable_json(cls, data: dict) -> dict:
        """What every database can store: no NaN or Infinity, no NUL characters."""
        try:
            text = json.dumps(data, allow_nan=False)
        except ValueError:
            raise ValueError("must not contain NaN or Infinity") from None
        if "\\u0000" in text:
            raise ValueError("must not contain NUL characters")
        return data


class InvalidEvent(ValueError):
    """Carries a message for humans: which event, which field, what is wrong."""


def validate_events(raw: list[dict] | dict) -> list[EventIn]:
    items = raw if isinstance(raw, list) else [raw]
    validated = []
    for index, item in enumerate(items):
        try:
            validated.append(EventIn.model_validate(item))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in error['loc']) or 'event'}: {error['msg']}"
                for error in exc.errors()
            )
            raise InvalidEvent(f"event {index}: {problems}") from None
    return validated


def events_send(raw: list[dict] | dict, *, tenant: str = "") -> list[str]:
    """Store events (an id seen before is accepted and ignored) and start the runs they trigger.

    Returns the events' ids, generated where the sender gave none. Events of a `tenant` start
    runs of that tenant and resolve only that tenant's waits.
    """
    events = validate_events(raw)
    ids, new_events = [], []
    with transaction.atomic():
        for event_in in events:
            event_id = event_in.id or uuid.uuid4().hex
            ids.append(event_id)
            event = _store_event(event_in, event_id, tenant)
            if event is not None:
                new_events.append(event)
                _start_runs(event)
        if new_events:
            event_pks = [e.pk for e in new_events]
            transaction.on_commit(lambda: events_process(event_pks))
    return ids


def _store_event(event_in: EventIn, event_id: str, tenant: str) -> Event | None:
    event = Event(
        event_id=event_id,
        tenant=tenant,
        name=event_in.name,
        data=event_in.data,
        ts=event_in.ts if event_in.ts is not None else int(time.time() * 1000),
    )
    try:
        with transaction.atomic():
            event.save()
    except IntegrityError:
        return None  # A duplicate id: the event was accepted before.
    return event


def _start_runs(event: Event) -> None:
    for function in registry.functions_triggered_by(event.name):
        run = Run.objects.create(function_id=function.id, event=event, tenant=event.tenant)
        run_transition(run.pk, RunStatus.QUEUED, f"triggered by {event.name}")
        for cancel in function.cancel_on:
            clauses, key = compile_conditions(
                trigger_event=event.as_dict(), match=cancel.match, if_exp=cancel.if_exp
            )
            Wait.objects.create(
                run=run,
                tenant=event.tenant,
                kind=WaitKind.CANCEL,
                event_name=cancel.event,
                match_key=key,
                conditions=clauses,
                expression=cancel.match or cancel.if_exp or "",
            )
        dispatch.enqueue_run(run.pk)


def events_process(event_pks: list[int]) -> None:
    """Resolve the waits and apply the cancellations these committed events match."""
    for event in Event.objects.filter(pk__in=event_pks, processed_at__isnull=True):
        event_dict = event.as_dict()
        pending = Wait.objects.filter(
            status=WaitStatus.PENDING, tenant=event.tenant, event_name=event.name
        )
        candidates = pending.filter(match_key__in=event_match_keys(event_dict)) | pending.filter(
            match_key__isnull=True
        )
        for wait in candidates.order_by("pk"):
            if not evaluate(wait.conditions, event_dict):
                continue
            if wait.kind == WaitKind.CANCEL:
                run_cancel(wait.run_id, reason=f"cancel_on {event.name} {event.event_id}")
            else:
                wait_resolve(wait, event)
        Event.objects.filter(pk=event.pk).update(processed_at=timezone.now())


def events_process_stale(older_than_seconds: float = 2.0) -> int:
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    pks = list(
        Event.objects.filter(processed_at__isnull=True, received_at__lt=cutoff).values_list(
            "pk", flat=True
        )[:1000]
    )
    events_process(pks)
    return len(pks)
