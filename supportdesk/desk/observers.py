"""Who wants to hear what the desk did: the inbox (live pages, notifications) subscribes. The desk
announces a change once its transaction commits; a listener's failure is logged and never touches
the desk. So the desk never imports the inbox: data flows one way, news flows back by subscription.
"""

import logging
from collections import defaultdict
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)

QUESTION_OPENED = "question.opened"
QUESTION_CHANGED = "question.changed"  # answered, claimed, released, cancelled
QUESTION_EXPIRED = "question.expired"
TICKET_CHANGED = "ticket.changed"
TICKET_NEEDS_ATTENTION = "ticket.needs-attention"  # its run failed, or it ended unresolved
REQUEST_NUDGED = "request.nudged"  # reminded, escalated or assigned: its people are told

_listeners: dict[str, list[Callable[[object], None]]] = defaultdict(list)


def subscribe(topic: str, listener: Callable[[object], None]) -> None:
    if listener not in _listeners[topic]:
        _listeners[topic].append(listener)


def unsubscribe(topic: str, listener: Callable[[object], None]) -> None:
    if listener in _listeners[topic]:
        _listeners[topic].remove(listener)


def announce(topic: str, subject_id) -> None:
    """Tell the listeners of `topic` about `subject_id` once the current transaction commits."""
    if _listeners[topic]:
        transaction.on_commit(lambda: tell(topic, subject_id))


def tell(topic: str, subject_id) -> None:
    """Tell the listeners now (the change is already committed)."""
    for listener in _listeners[topic]:
        try:
            listener(subject_id)
        except Exception:
            logger.warning("desk listener %r failed for %s %s", listener, topic, subject_id,
                           exc_info=True)  # fmt: skip
