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
