"""Durable functions: registered with a trigger event, found by id when a run replays."""

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings
from django.utils.module_loading import autodiscover_modules

from supportdesk.durable.expressions import compile_conditions


@dataclass(frozen=True)
class CancelOn:
    event: str
    match: str | None = None
    if_exp: str | None = None


@dataclass(frozen=True)
class DurableFunction:
    id: str
    trigger: str
    handler: Callable[[Any], Any]
    retries: int = 4
    cancel_on: tuple[CancelOn, ...] = field(default_factory=tuple)
    # Called with (run id, reason) inside the transaction that cancels, or fails, a run of this
    # function (Inngest's onFailure), so the domain can close what the run left open and say why.
    on_cancel: Callable[[Any, str], None] | None = None
    on_failure: Callable[[Any, str], None] | None = None

    def __call__(self, ctx: Any) -> Any:
        return self.handler(ctx)


_functions: dict[str, DurableFunction] = {}


def function(
    *,
    id: str,
    trigger: str,
    retries: int = 4,
    cancel_on: list[dict] | None = None,
    on_cancel: Callable[[Any, str], None] | None = None,
    on_failure: Callable[[Any, str], None] | None = None,
) -> Callable[[Callable[[Any], Any]], DurableFunction]:
    """Register `handler(ctx)` to run durably for every `trigger` event.

    `retries` applies to each step (and to code outside steps); `cancel_on` is a list of
    `{"event": name, "match": "data.x"}` or `{"event": name, "if_exp": "..."}`. `on_cancel` and
    `on_failure(run_id, reason)` run inside the transaction that ends the run so.
    """
    cancels = tuple(CancelOn(**spec) for spec in cancel_on or [])
    for cancel in cancels:  # Fail at import, not at the first run.
        compile_conditions(trigger_event={}, match=cancel.match, if_exp=cancel.if_exp)

    def register(handler: Callable[[Any], Any]) -> DurableFunction:
        durable_function = DurableFunction(
            id=id,
            trigger=trigger,
            handler=handler,
            retries=retries,
            cancel_on=cancels,
            on_cancel=on_cancel,
            on_failure=on_failure,
        )
        _functions[id] = durable_function
        return durable_function

    return register


def get_function(function_id: str) -> DurableFunction | None:
    return _functions.get(function_id)


def functions_triggered_by(event_name: str) -> list[DurableFunction]:
    return [f for f in _functions.values() if f.trigger == event_name]


def unregister(function_id: str) -> None:
    _functions.pop(function_id, None)


def import_workflow_modules() -> None:
    """Import every app's `workflows` module, and the extra modules settings name."""
    if apps.ready or apps.apps_ready:
        autodiscover_modules("workflows")
    for module in getattr(settings, "DURABLE_WORKFLOW_MODULES", []):
        importlib.import_module(module)
