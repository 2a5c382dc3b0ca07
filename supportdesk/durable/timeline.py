"""A run's timeline for people: its steps with kind, status, duration and attempts, the model's
text and tool calls, tool results, and what resolved each wait. Shared by the CLI and the pages."""

import json
from dataclasses import dataclass, field
from typing import Any

from supportdesk.durable.models import Run, Step, Wait


@dataclass
class ToolUse:
    name: str
    input: Any


@dataclass
class TimelineEntry:
    position: int
    key: str
    kind: str
    status: str
    attempts: int
    duration_ms: float | None
    error: str = ""
    text: str = ""
    label: str = ""
    tool_uses: list[ToolUse] = field(default_factory=list)
    input_tokens: int | None = None
    output_tokens: int | None = None
    result: Any = None
    is_error: bool = False
    resolution: str = ""  # for developers: event names and ids
    wait_summary: str = ""  # for reviewers: what the run waited for, in words
    actor: str = ""  # who acted (an agent, a router), as the framework stored it on the step
    tool_name: str = ""

    @property
    def is_routing(self) -> bool:
        return self.kind == "route"

    @property
    def is_inference(self) -> bool:
        return self.kind in ("infer", "route")


_EVENT_DESCRIPTIONS: dict[str, str] = {}


def describe_event(name: str, description: str) -> None:
    """How a wait for event `name` reads to a person ("a developer's answer"): the app that owns
    the event says it, so that no internal name reaches the pages."""
    _EVENT_DESCRIPTIONS[name] = description


def run_timeline(run: Run) -> list[TimelineEntry]:
    waits = {w.step_key: w for w in Wait.objects.filter(run=run, kind="step").select_related(
        "resolved_by")}  # fmt: skip
    return [_entry(step, waits.get(step.key)) for step in run.steps.order_by("position")]


def _entry(step: Step, wait: Wait | None) -> TimelineEntry:
    entry = TimelineEntry(
        position=step.position, key=step.key, kind=step.kind, status=step.status,
        attempts=step.attempts, duration_ms=step.duration_ms, error=step.error,
        actor=step.actor, tool_name=step.tool,
    )  # fmt: skip
    output = step.output
    if step.kind in ("infer", "route") and isinstance(output, dict):
        blocks = output.get("content") or []
        entry.text = "\n".join(b.get("text", "") for b in blocks if b.get("type") == "text")
        entry.tool_uses = [ToolUse(b["name"], b.get("input")) for b in blocks
                           if b.get("type") == "tool_use"]  # fmt: skip
        entry.label = output.get("label") or ""
        usage = output.get("usage") or {}
        entry.input_tokens, entry.output_tokens = (
            usage.get("input_tokens"),
            usage.get("output_tokens"),
        )
    elif step.kind == "tool" and isinstance(output, dict) and "result" in output:
        entry.result, entry.is_error = output["result"], bool(output.get("is_error"))
    elif step.kind == "wait":
        entry.resolution = _resolution(step, wait)
        entry.wait_summary = _wait_summary(wait)
    else:
        entry.result = output
    return entry


def _resolution(step: Step, wait: Wait | None) -> str:
    if wait is None:
        return ""
    if wait.status == "resolved" and wait.resolved_by is not None:
        return f"resolved by {wait.resolved_by.name} ({wait.resolved_by.event_id})"
    if wait.status == "timed_out":
        return "timed out"
    if wait.status == "cancelled":
        return "cancelled"
    return f"waiting for {wait.event_name} until {wait.expires_at:%Y-%m-%d %H:%M:%S} UTC"


def _wait_summary(wait: Wait | None) -> str:
    if wait is None:
        return ""
    what = _EVENT_DESCRIPTIONS.get(wait.event_name, "an event")
    if wait.status == "resolved":
        return f"Got {what}."
    if wait.status == "timed_out":
        return f"No {what.removeprefix('a ').removeprefix('an ')} in time: went on without one."
    if wait.status == "cancelled":
        return "Stopped waiting: the run was stopped."
    return f"Waiting for {what} until {wait.expires_at:%Y-%m-%d %H:%M} UTC."


def compact(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"
