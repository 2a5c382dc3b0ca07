"""Pushes to open browsers, sent after commit. They are hints: the database is the truth, and a
browser that missed one converges when its WebSocket reconnects and gets the full list again."""

import asyncio
import atexit
import logging
import os
import threading
import time

from channels.layers import get_channel_layer
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)


def inbox_group(organization_id: int) -> str:
    return f"inbox-{organization_id}"


def ticket_group(ticket_id: int) -> str:
    return f"ticket-{ticket_id}"


def run_group(run_id) -> str:
    return f"run-{run_id}"


def question_group(question_id) -> str:
    """The pages open on one question: they redraw its state when someone answers or claims."""
    return f"question-{question_id}"


def user_group(user_id: int) -> str:
    """Every socket a user has open, so that they can all be closed at once."""
    return f"user-{user_id}"


def close_user_sockets(user_id: int) -> None:
    """The user signed out, was deactivated or is no reviewer any more: close their sockets."""
    _send(user_group(user_id), {"type": "session.revoked"})


def publish_ticket(ticket_id: int) -> None:
    _send(ticket_group(ticket_id), {"type": "ticket.changed"})


def run_changed(run_id) -> None:
    _send(run_group(run_id), {"type": "ticket.changed"})


def publish_question(question_id) -> None:
    """Render the question's card once and send it, with what inboxes filter and sort on, to its
    organization's group: one message per server process (its hub), whatever the sockets."""
    from supportdesk.desk.models import Question
    from supportdesk.inbox.filters import microseconds

    question = (
        Question.objects.select_related("ticket", "claimed_by", "team", "assignee__user")
        .filter(pk=question_id)
        .first()
    )
    if question is None:
        return
    _send(question_group(question.pk), {"type": "question.state"})
    message = {
        "type": "question.changed",
        "organization_id": question.ticket.organization_id,
        "question_id": str(question.pk),
        "pending": question.is_open,  # past its deadline it leaves the list, grace or not
        "priority": question.ticket.priority,
        "claimed_by_id": question.claimed_by_id,
        "kind": question.kind,
        "team_id": question.team_id,
        "assignee_user_id": question.assignee.user_id if question.assignee_id else None,
        # Where it sorts: an inbox showing only its first pages inserts it only among them.
        "expires_us": microseconds(question.expires_at),
        "created_us": microseconds(question.created_at),
    }
    if message["pending"]:
        message["card"] = render_to_string(
            "inbox/inbox.html#question-card", {"question": question, "oob": True}
        ).strip()
    _send(inbox_group(question.ticket.organization_id), message)


def _send(group: str, message: dict) -> None:
    if _through_outbox:
        from supportdesk.inbox.models import Push

        Push.objects.create(group=group, message=message)
    else:
        _publisher.send(group, message)


_through_outbox = False


def use_outbox() -> None:
    """This process's channel layer reaches no socket (a command in the embedded mode): write
    pushes to the outbox table, for the server to relay."""
    global _through_outbox
    _through_outbox = True


class OutboxRelay:
    """In the embedded server: sends the pushes other processes wrote to the outbox."""

    POLL_SECONDS = 0.25
    KEEP_SECONDS = 60

    def __init__(self) -> None:
        from supportdesk.inbox.models import Push

        self.seen = Push.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    def start(self) -> None:
        threading.Thread(target=self._relay_forever, name="outbox-relay", daemon=True).start()

    def relay(self) -> int:
        from django.utils import timezone

        from supportdesk.inbox.models import Push

        pushes = list(Push.objects.filter(pk__gt=self.seen).order_by("pk")[:500])
        for push in pushes:
            _publisher.send(push.group, push.message)
            self.seen = push.pk
        if pushes:
            old = timezone.now() - timezone.timedelta(seconds=self.KEEP_SECONDS)
            Push.objects.filter(created_at__lt=old).delete()
        return len(pushes)

    def _relay_forever(self) -> None:
        from django.db import close_old_connections

        while True:
            close_old_connections()
            try:
                self.relay()
            except Exception:  # the database is away a moment: next time
                logger.warning("relaying pushes from the outbox failed", exc_info=True)
            time.sleep(self.POLL_SECONDS)


class Publisher:
    """Sends pushes from sync code (views, services, workers) without blocking them.

    One background thread runs an event loop that sends queued messages in order; the caller only
    enqueues (microseconds), where `async_to_sync(group_send)` costs ~0.5 ms a call — on every
    step checkpoint of every run, that added up. A process that exits (a command: `ticket close
    3`) first sends what it queued, for up to EXIT_FLUSH_SECONDS: the thread is a daemon, and
    what it still held was lost with it.
    """

    EXIT_FLUSH_SECONDS = 5.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue | None = None
        self._pid: int | None = None

    def send(self, group: str, message: dict) -> None:
        loop = self._running_loop()
        loop.call_soon_threadsafe(self._queue.put_nowait, (group, message))

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():  # new, or inherited by a fork
                ready = threading.Event()
                threading.Thread(target=self._run, args=(ready,), name="live-publisher",
                                 daemon=True).start()  # fmt: skip
                ready.wait()
                if self._pid is None:
                    atexit.register(self._flush_at_exit)
                self._pid = os.getpid()
            return self._loop

    def _run(self, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._queue = asyncio.Queue()
        ready.set()
        self._loop.run_until_complete(self._deliver())

    async def _deliver(self) -> None:
        layer = get_channel_layer()
        while True:
            group, message = await self._queue.get()
            try:
                await layer.group_send(group, message)
            except Exception:  # A push is a hint; the page converges on reconnect.
                logger.warning("push to %s failed", group, exc_info=True)
            finally:
                self._queue.task_done()

    def flush(self, timeout: float = 5) -> None:
        """Wait until every queued push was handed to the channel layer (tests, benchmarks)."""
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._queue.join(), self._loop).result(timeout)

    def _flush_at_exit(self) -> None:
        if self._pid != os.getpid():  # a forked child that never pushed: the loop is not its own
            return
        try:
            self.flush(self.EXIT_FLUSH_SECONDS)
        except Exception:  # a push is a hint: the pages converge on reconnect
            logger.warning("pushes still queued at exit were not all sent", exc_info=True)


_publisher = Publisher()
