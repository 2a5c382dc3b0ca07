"""The durable execution engine: Inngest-style steps, replay and waits on Django models + Huey.

Public API: `function` (register), `send_events`, `NonRetriableError`, `StepError`, `Context`.
Import it from here; the modules behind it are the engine's own.
"""

from supportdesk.durable.errors import NonRetriableError, StepError
from supportdesk.durable.registry import function


def send_events(events: list[dict] | dict, *, tenant: str = "") -> list[str]:
    from supportdesk.durable.events import events_send

    return events_send(events, tenant=tenant)


__all__ = ["NonRetriableError", "StepError", "function", "send_events"]
