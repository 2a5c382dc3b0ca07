"""Pushes to open browsers, sent after commit. They are hints: the database is the truth, and a
browser that missed one converges when its WebSocket reconnects and gets the full list again."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)


def inbox_group(organization_id: int) -> str:
    return f"inbox-{organization_id}"


def ticket_group(ticket_id: int) -> str:
    return f"ticket-{ticket_id}"


def run_group(run_id) -> str:
    return f"run-{run_id}"


def question_changed(question_id) -> None:
    """Tell the organization's open inboxes, once the current transaction commits."""
    transaction.on_commit(lambda: publish_question(question_id))


def ticket_changed(ticket_id: int) -> None:
    transaction.on_commit(lambda: _send(ticket_group(ticket_id), {"type": "ticket.changed"}))


def run_changed(run_id) -> None:
    _send(run_group(run_id), {"type": "ticket.changed"})


def publish_question(question_id) -> None:
    """Render the question's card once and send it, with what consumers filter on, to its org."""
    from supportdesk.desk.models import Question

    question = (
        Question.objects.select_related("ticket", "claimed_by").filter(pk=question_id).first()
    )
    if question is None:
        return
    message = {
        "type": "question.changed",
        "question_id": str(question.pk),
        "pending": question.status == "pending",
        "priority": question.ticket.priority,
        "claimed_by_id": question.claimed_by_id,
    }
    if message["pending"]:
        message["card"] = render_to_string(
            "inbox/inbox.html#question-card", {"question": question, "oob": True}
        ).strip()
    _send(inbox_group(question.ticket.organization_id), message)


def _send(group: str, message: dict) -> None:
    try:
        async_to_sync(get_channel_layer().group_send)(group, message)
    except Exception:  # A push is a hint; the page converges on reconnect.
        logger.warning("push to %s failed", group, exc_info=True)
