"""The step protocol through which a durable engine drives the framework, and an inline step.

`InlineStep` runs everything directly (no durability) for scripts and unit tests.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel

Duration = float | timedelta | str
EventSource = Iterable[dict] | Callable[[str], dict | None]

_DURATION = re.compile(r"(?:\d+[smhd])+")
_DURATION_PART = re.compile(r"(\d+)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Waits and sleeps longer than this are refused: a year is as far as any engine schedules, and
# beyond it dates overflow.
MAX_DURATION = timedelta(days=366)


class Step(Protocol):
    """What the framework needs from a durable engine; ids repeated in one run are auto-indexed
    (see `StepIds`)."""

    def run(
        self,
        step_id: str,
        fn: Callable[..., Any],
        *args: Any,
        kind: str = "run",
        meta: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run `fn(*args, **kwargs)` once and return its JSON result; `kind` labels timelines and
        is checked on replay; `meta` says who acted (`actor`) and with which `tool`."""
        ...

    def wait_for_event(
        self,
        step_id: str,
        *,
        event: str,
        timeout: Duration,
        match: str | None = None,
        if_exp: str | None = None,
        on_register: Callable[[], Any] | None = None,
    ) -> dict | None:
        """Return the matching event `{id, name, data, ts}`, or None at timeout."""
        ...

    def sleep(self, step_id: str, duration: Duration) -> None: ...

    def send_event(self, step_id: str, events: dict | list[dict]) -> list[str]: ...


class StepIds:
    """Turns the step ids a run reaches, in order, into unique keys.

    The first `fetch` is `fetch`, repeats are `fetch:1`, `fetch:2`, ...; a key already taken (a
    caller's own `fetch:1`, say) is skipped, so every sequence of ids gets unique keys and the same
    sequence always gets the same keys (a replay finds its steps).
    """

    def __init__(self) -> None:
        self._repeats: Counter[str] = Counter()
        self._taken: set[str] = set()

    def key(self, step_id: str) -> str:
        count = self._repeats[step_id]
        key = step_id if count == 0 else f"{step_id}:{count}"
        while key in self._taken:
            count += 1
            key = f"{step_id}:{count}"
        self._repeats[step_id] = count + 1
        self._taken.add(key)
        return key


def jsonable(value: Any) -> Any:
    """Round-trip `value` through JSON as the durable engine stores it (pydantic models dumped,
    datetimes in ISO format)."""
    return json.loads(dumps(value))


def dumps(value: Any) -> str:
    """A step result as JSON text; raises TypeError for what JSON can't hold."""
    return json.dumps(value, default=_dump_model)


def _dump_model(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"step results must be JSON-serializable, got {type(value).__name__}")


def parse_duration(value: Duration) -> timedelta:
    """Parse a duration: a timedelta, seconds as a number, or a string like "30s", "4h", "1h30m"."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and _DURATION.fullmatch(value.strip()):
        parts = _DURATION_PART.findall(value.strip())
        seconds = sum(int(amount) * _UNIT_SECONDS[unit] for amount, unit in parts)
    else:
        raise ValueError(
            f"invalid duration {value!r}: use seconds, a timedelta, or a string of whole numbers "
            "with units s/m/h/d such as '30s', '10m', '4h', '1d' or '1h30m'"
        )
    if seconds < 0:
        raise ValueError(f"invalid duration {value!r}: must not be negative")
    if not seconds <= MAX_DURATION.total_seconds():  # also NaN
        raise ValueError(f"invalid duration {value!r}: at most {MAX_DURATION.days} days")
    return timedelta(seconds=seconds)


def make_event(raw: dict, *, event_id: str, name: str | None = None) -> dict:
    """Complete an event dict to the `{id, name, data, ts}` shape; `name` is the fallback name."""
    name = raw.get("name") or name
    if not name:
        raise ValueError(f"an event needs a name: {raw!r}")
    return {
        "id": raw.get("id") or event_id,
        "name": name,
        "data": raw.get("data") or {},
        "ts": raw.get("ts") or int(time.time() * 1000),
    }


class InlineStep:
    """Runs steps immediately and remembers nothing; waits take events from `events`, if given.

    `events` is an iterable of event dicts consumed in order, or a callable given the awaited
    event name; no event (or None) behaves like a timeout.
    """

    def __init__(self, events: EventSource | None = None, *, real_sleep: bool = False) -> None:
        self._events = events if events is None or callable(events) else iter(events)
        self.real_sleep = real_sleep
        self.sent: list[dict] = []
        self._ids = itertools.count(1)

    def run(
        self,
        step_id: str,
        fn: Callable[..., Any],
        *args: Any,
        kind: str = "run",
        meta: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        return jsonable(fn(*args, **kwargs))

    def wait_for_event(
        self,
        step_id: str,
        *,
        event: str,
        timeout: Duration,
        match: str | None = None,
        if_exp: str | None = None,
        on_register: Callable[[], Any] | None = None,
    ) -> dict | None:
        parse_duration(timeout)  # reject a bad timeout here just as the engine would
        if on_register is not None:
            on_register()
        if self._events is None:
            return None
        received = self._events(event) if callable(self._events) else next(self._events, None)
        if received is None:
            return None
        return make_event(received, event_id=f"evt-{next(self._ids)}", name=event)

    def sleep(self, step_id: str, duration: Duration) -> None:
        seconds = parse_duration(duration).total_seconds()
        if self.real_sleep:
            time.sleep(seconds)

    def send_event(self, step_id: str, events: dict | list[dict]) -> list[str]:
        batch = [events] if isinstance(events, dict) else events
        sent = [make_event(e, event_id=f"evt-{next(self._ids)}") for e in batch]
        self.sent.extend(sent)
        return [e["id"] for e in sent]
