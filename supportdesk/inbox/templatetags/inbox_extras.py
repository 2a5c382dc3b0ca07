"""Template filters of the reviewer pages."""

import json

from django import template

register = template.Library()


@register.filter
def pretty_json(value) -> str:
    """Tool arguments and results as people read JSON (the template escapes the text)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


@register.filter
def readable_arguments(arguments) -> list[tuple[str, str, bool]]:
    """A proposed call's arguments as its reader will see them: `(label, text, is_prose)` — a
    reply as the text the customer will read, not as JSON."""
    if not isinstance(arguments, dict):
        return [("input", pretty_json(arguments), False)]
    shown = []
    for name, value in arguments.items():
        label = name.replace("_", " ").capitalize()
        if isinstance(value, str):
            shown.append((label, value, True))
        else:
            shown.append((label, pretty_json(value), False))
    return shown


@register.filter
def nudges(question) -> str:
    """"reminded 10:42 · escalated to on-call 11:05", for a request's card."""
    from supportdesk.desk.services import nudges_summary

    return nudges_summary(question)


@register.filter
def call_summary(value, limit: int = 90) -> str:
    """One line for a tool's arguments or result: `query: "refund policy"`, `3 items`."""
    if isinstance(value, dict):
        parts = [f"{name}: {_short(item)}" for name, item in value.items()]
        text = ", ".join(parts)
    elif isinstance(value, list):
        text = f"{len(value)} item{'' if len(value) == 1 else 's'}"
    else:
        text = _short(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short(value) -> str:
    if isinstance(value, str):
        line = " ".join(value.split())
        return f"“{line[:60]}…”" if len(line) > 60 else f"“{line}”"
    if isinstance(value, list | dict):
        return f"{len(value)} item{'' if len(value) == 1 else 's'}"
    return json.dumps(value, default=str)
