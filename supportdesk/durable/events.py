"""Events in: validate, store with id dedup, start triggered runs, then match waits after commit.

Matching runs after the event's commit, so a wait committed before the event always sees it. An
event whose sender died before matching, or whose matching failed, stays unprocessed and the
sweeper matches it later: a committed event is never refused to its sender because of matching.
"""

import logging
import time
import uuid
from collections import defaultdict
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from supportdesk.durable import registry
from supportdesk.durable.db import retrying
from supportdesk.durable.expressions import evaluate, event_match_keys
from supportdesk.durable.models import Event, Wait, WaitKind, WaitStatus
from supportdesk.durable.services import run_cancel, run_start, wait_resolve
from supportdesk.durable.values import storable_problem

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

    @field_validator("name", "id")
    @classmethod
    def text_is_storable(cls, text: str | None) -> str | None:
        problem = storable_problem(text)
        if problem:
            raise ValueError(problem.removeprefix("$: the string "))
        return text

    @field_validator("data")
    @classmethod
    def data_is_storable_json(cls, data: dict) -> dict:
        """What every database can store: no NaN or Infinity, no NUL characters or unpaired
        surrogates, nesting within bounds."""
        problem = storable_problem(data)
        if problem:
            raise ValueError(f"cannot be stored: {problem.replace('$', 'data', 1)}")
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
    ids = [event_in.id or uuid.uuid4().hex for event_in in events]
    with transaction.atomic():
        new_events = _store_events(events, ids, tenant)
        for event in new_events:
            _start_runs(event)
        if new_events:
            transaction.on_commit(lambda: _process_committed(new_events))
    return ids


INSERT_CHUNK = 500


def _store_events(events: list[EventIn], ids: list[str], tenant: str) -> list[Event]:
    """The events whose ids are new, stored: one `INSERT … ON CONFLICT DO NOTHING RETURNING` per
    500 events, which is the dedup check too (both databases: an id seen before, or stored by a
    racing sender meanwhile, inserts nothing and returns nothing). No savepoint, no pre-query."""
    received = int(time.time() * 1000)
    now = timezone.now()
    fresh: dict[str, Event] = {}
    for event_in, event_id in zip(events, ids, strict=True):
        if event_id not in fresh:  # the same id twice in one batch: the first one counts
            fresh[event_id] = Event(
                event_id=event_id, tenant=tenant, name=event_in.name, data=event_in.data,
                ts=event_in.ts if event_in.ts is not None else received, received_at=now,
            )  # fmt: skip
    batch = list(fresh.values())
    stored: list[Event] = []
    for offset in range(0, len(batch), INSERT_CHUNK):
        stored += _insert_new(batch[offset : offset + INSERT_CHUNK])
    return stored


_COLUMNS = ("event_id", "tenant", "name", "data", "ts", "received_at")


def _insert_new(batch: list[Event]) -> list[Event]:
    fields = [Event._meta.get_field(name) for name in _COLUMNS]
    quote = connection.ops.quote_name
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {quote(Event._meta.db_table)} "
        f"({', '.join(quote(f.column) for f in fields)}) VALUES {', '.join([row] * len(batch))} "
        f"ON CONFLICT ({quote('tenant')}, {quote('event_id')}) DO NOTHING "
        f"RETURNING {quote('id')}, {quote('event_id')}"
    )
    params = [
        field.get_db_prep_save(getattr(event, field.attname), connection)
        for event in batch
        for field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        inserted = dict((event_id, pk) for pk, event_id in cursor.fetchall())
    new = []
    for event in batch:
        if event.event_id in inserted:
            event.pk = inserted[event.event_id]
            event._state.adding, event._state.db = False, connection.alias
            new.append(event)
    return new


def _start_runs(event: Event) -> None:
    for function in registry.functions_triggered_by(event.name):
        run_start(function, event)


def _process_committed(events: list[Event]) -> None:
    try:
        _process(events)
    except Exception:  # the database went away after the commit: the sweeper takes over
        logger.warning("matching events %s failed; the sweeper matches them again",
                       [e.pk for e in events], exc_info=True)  # fmt: skip


def events_process(event_pks: list[int]) -> None:
    """Resolve the waits and apply the cancellations these committed events match.

    Never raises: an event whose matching fails stays unprocessed, and the sweeper matches it
    again (its sender already has its answer: the event is committed).
    """
    _process(list(Event.objects.filter(pk__in=event_pks, processed_at__isnull=True)))


def _process(events: list[Event]) -> None:
    groups: dict[tuple[str, str], list[Event]] = defaultdict(list)
    for event in sorted(events, key=lambda e: e.pk):
        groups[(event.tenant, event.name)].append(event)
    for (tenant, name), group in groups.items():
        try:
            retrying(lambda t=tenant, n=name, g=group: _match(t, n, g),
                     what=f"matching {len(group)} {name!r} event(s)")  # fmt: skip
        except Exception:
            logger.warning(
                "matching %d %r event(s) of tenant %r failed; they stay unprocessed and the "
                "sweeper matches them again", len(group), name, tenant, exc_info=True,
            )  # fmt: skip


def waits_matching(tenant: str, name: str, event: dict) -> list[Wait]:
    """The pending waits of (tenant, name) that `event` satisfies, in the order they wait."""
    return [wait for wait in _candidates(tenant, name, [event]) if evaluate(wait.conditions, event)]


def _candidates(tenant: str, name: str, events: list[dict]) -> list[Wait]:
    """Every pending wait whose indexed clause one of `events` satisfies, and every wait without
    an indexed clause: a superset of the matches, found through the index."""
    pending = Wait.objects.filter(status=WaitStatus.PENDING, tenant=tenant, event_name=name)
    paths = pending_match_paths(tenant, name)
    keys = {key for event in events for key in event_match_keys(event, paths)}
    candidates = pending.filter(match_key__isnull=True)
    if keys:
        candidates = candidates | pending.filter(match_key__in=keys)
    return list(candidates.order_by("pk"))


def _match(tenant: str, name: str, group: list[Event]) -> None:
    """The candidates found first (reads: no lock held), then one transaction for the group's
    resolutions and cancellations and its events marked processed. (Two groups that lock the
    same runs in another order are a deadlock PostgreSQL breaks; the loser is retried whole, and
    every resolution is a conditional update.)"""
    dicts = {event.pk: event.as_dict() for event in group}
    candidates = _candidates(tenant, name, list(dicts.values()))
    with transaction.atomic():
        decided: set[int] = set()
        for event in group:
            for wait in candidates:
                if wait.pk in decided or not evaluate(wait.conditions, dicts[event.pk]):
                    continue
                decided.add(wait.pk)
                if wait.kind == WaitKind.CANCEL:
                    run_cancel(wait.run_id, reason=f"cancel_on {event.name} {event.event_id}")
                else:
                    wait_resolve(wait, event)
        Event.objects.filter(pk__in=list(dicts), processed_at__isnull=True).update(
            processed_at=timezone.now()
        )


def pending_match_paths(tenant: str, name: str) -> list[str]:
    """The distinct paths pending waits of (tenant, name) are indexed by: usually one or two.

    A loose index scan (each step one probe of the `wait_pending_path` index), so the cost does
    not grow with the number of waiting runs.
    """
    table = connection.ops.quote_name(Wait._meta.db_table)
    pending = f"status = '{WaitStatus.PENDING}' AND tenant = %s AND event_name = %s"
    sql = f"""
        WITH RECURSIVE paths(path) AS (
            SELECT MIN(match_path) FROM {table} WHERE {pending} AND match_path IS NOT NULL
            UNION ALL
            SELECT (SELECT MIN(match_path) FROM {table} WHERE {pending} AND match_path > paths.path)
            FROM paths WHERE paths.path IS NOT NULL
        )
        SELECT path FROM paths WHERE path IS NOT NULL
    """  # the table name and the status are ours; the values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [tenant, name, tenant, name])
        return [row[0] for row in cursor.fetchall()]


def events_process_stale(older_than_seconds: float = 2.0) -> int:
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    pks = list(
        Event.objects.filter(processed_at__isnull=True, received_at__lt=cutoff).values_list(
            "pk", flat=True
        )[:1000]
    )
    events_process(pks)
    return len(pks)
