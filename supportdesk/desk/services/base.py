"""What every desk service shares: the desk's event names, text rules, tenants and names."""

import hashlib

from django.contrib.auth.models import User

from supportdesk.desk.errors import DeskError
from supportdesk.durable.values import text_problem

TICKET_CREATED = "app/support.ticket.created"
TICKET_CLOSED = "app/support.ticket.closed"
DEVELOPER_RESPONSE = "app/support.ticket.developer-response"
TOOL_DECISION = "app/support.ticket.tool-decision"
REQUEST_OPENED = "app/support.request.opened"  # starts the request's reminders
MAX_TEXT = 20_000


def organization_tenant(organization_id: int) -> str:
    """The durable engine's tenant of an organization: its events touch only its runs."""
    return str(organization_id)


def clean_text(value: str, *, field: str, required: bool, limit: int = MAX_TEXT) -> str:
    """Text from a person or a model, refused with a message for humans if it can't be stored."""
    if value is not None and not isinstance(value, str):
        raise DeskError(f"{field} must be text, not {type(value).__name__}")
    value = (value or "").strip()
    problem = text_problem(value)
    if problem:
        raise DeskError(f"{field} {problem}: remove it and try again")
    if required and not value:
        raise DeskError(f"{field} must not be blank")
    if len(value) > limit:
        raise DeskError(f"{field} is {len(value):,} characters long; the limit is {limit:,}")
    return value


def hash_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def user_display_name(user: User | None) -> str:
    if user is None:
        return "nobody"
    return user.get_full_name() or user.get_username()
