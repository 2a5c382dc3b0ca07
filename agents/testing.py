"""`ReplayStep`: a memoizing step double that replays a run the way the durable engine does."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from agents.step import Duration, StepIds, jsonable, make_event, parse_duration


class Suspended(BaseException):
    """Raised where the engine would suspend the run: a wait that has no event yet."""


class ReplayStep:
    """Stores each step's result under its auto-indexed id (`infer`, `infer:1`, ...).

    Call `replay()` before running the same code again: stored steps return their results
    without running. A wait registers once (running `on_register`), takes the first delivered
    event with its name (`match` is not evaluated) and otherwise raises `Suspended`, or returns
    None once `expire()` was called.
    """

    def __init__(self) -> None:
        self.results: dict[str, Any] = {}
        self.executed: list[tuple[str, str]] = []  # (id, kind) of each function really run
        self.sent: list[dict] = []
        self._inbox: list[dict] = []
        self._registered: set[str] = set()
        self._expired = False
        self._ids = StepIds()
        self._event_ids = itertools.count(1)

    def replay(self) -> ReplayStep:
        self._ids = StepIds()
        return self

    def deliver(self, event: dict) -> None:
        self._inbox.append(make_event(event, event_id=f"evt-{next(self._event_ids)}"))

    def expire(self) -> None:
        self._expired = True

    def _key(self, step_id: str) -> str:
        return self._ids.key(step_id)

    def run(
        self,
        step_id: str,
        fn: Callable[..., Any],
        *args: Any,
        kind: str = "run",
        meta: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        key = self._key(step_id)
        if key not in self.results:
            self.results[key] = jsonable(fn(*args, **kwargs))
            self.executed.append((key, kind))
        return self.results[key]

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
        key = self._key(step_id)
        if key in self.results:
            return self.results[key]
        parse_duration(timeout)
        if key not in self._registered:
            self._registered.add(key)
            if on_register is not None:
                on_register()
        received = next((e for e in self._inbox if e["name"] == event), None)
        if received is None and not self._expired:
            raise Suspended(key)
        if received is not None:
            self._inbox.remove(received)
        self.results[key] = received
        return received

    def sleep(self, step_id: str, duration: Duration) -> None:
        parse_duration(duration)
        self.results.setdefault(self._key(step_id), None)

    def send_event(self, step_id: str, events: dict | list[dict]) -> list[str]:
        def send() -> list[str]:
            batch = [events] if isinstance(events, dict) else events
            sent = [make_event(e, event_id=f"evt-{next(self._event_ids)}") for e in batch]
            self.sent.extend(sent)
            return [e["id"] for e in sent]

        return self.run(step_id, send, kind="send")
