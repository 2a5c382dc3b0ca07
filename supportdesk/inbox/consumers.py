"""The live layer: reviewers' WebSockets. On every (re)connect the full current list; afterwards
changes as HTML fragments swapped by htmx's ws extension (the page's own partials).

A socket lives only as long as its session: signing out, deactivation and removal as a reviewer
close it at once (`session.revoked` to the user's group), and every socket checks its session
again every INBOX_SESSION_RECHECK_SECONDS in case such news was lost.
"""

import asyncio
import contextlib
import json
from importlib import import_module
from types import SimpleNamespace

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib import auth
from django.template.loader import render_to_string

from supportdesk.desk import selectors
from supportdesk.desk.errors import NotFound
from supportdesk.inbox import hub, live
from supportdesk.inbox.filters import InboxFilters

CLOSED_SESSION_ENDED = 4001


class SessionBoundConsumer(AsyncWebsocketConsumer):
    """A reviewer's socket, closed when their session ends or they stop being a reviewer."""

    async def join_as_reviewer(self):
        """The reviewer behind this socket (None: refuse it), with the user's group joined."""
        reviewer = await database_sync_to_async(selectors.reviewer_for)(self.scope["user"])
        if reviewer is None:
            return None
        self.user_id = self.scope["user"].pk
        self.user_group = live.user_group(self.user_id)
        await self.channel_layer.group_add(self.user_group, self.channel_name)
        self.recheck = asyncio.create_task(self._recheck_session())
        return reviewer

    async def leave(self) -> None:
        if hasattr(self, "recheck"):
            self.recheck.cancel()
        if hasattr(self, "user_group"):
            await self.channel_layer.group_discard(self.user_group, self.channel_name)

    async def session_revoked(self, event: dict) -> None:
        await self.close(code=CLOSED_SESSION_ENDED)

    async def _recheck_session(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            while True:
                await asyncio.sleep(settings.INBOX_SESSION_RECHECK_SECONDS)
                if not await self._still_a_reviewer():
                    await self.close(code=CLOSED_SESSION_ENDED)
                    return

    @database_sync_to_async
    def _still_a_reviewer(self) -> bool:
        # A fresh read of the session (the scope's copy is cached), through auth's own check of
        # the session's hash: a changed password ends it too.
        engine = import_module(settings.SESSION_ENGINE)
        session_key = getattr(self.scope.get("session"), "session_key", None)
        user = auth.get_user(SimpleNamespace(session=engine.SessionStore(session_key)))
        if not user.is_authenticated or user.pk != self.user_id or not user.is_active:
            return False
        return selectors.reviewer_for(user) is not None


class InboxConsumer(SessionBoundConsumer):
    """A reviewer's inbox: its first page on every (re)connect, the next pages on request ("show
    more" over the socket), then changes pushed by this process's hub (supportdesk/inbox/hub.py):
    a request that sorts within the pages loaded is inserted, one beyond them only counted."""

    backlog: list | None = None
    transport = None

    async def connect(self) -> None:
        reviewer = await self.join_as_reviewer()
        if reviewer is None:
            await self.close()  # before accept: the handshake is refused (403)
            return
        self.filters = InboxFilters.from_query_string(self.scope.get("query_string", b""))
        self.my_team_ids = await database_sync_to_async(
            lambda: frozenset(reviewer.teams.values_list("pk", flat=True))
        )()
        self.filter_key = self.filters.filter_key(user_id=self.user_id,
                                                  my_team_ids=self.my_team_ids)  # fmt: skip
        self.organization_id = reviewer.organization_id
        self.shown: set[str] = set()
        self.window_end = None
        self.sending: set = set()
        self.transport = hub.daphne_transport(self.base_send)
        # Join before rendering the list: a change committed in between is held, then pushed.
        self.backlog = []
        await hub.hub().join(self)
        await self.accept()
        html = await database_sync_to_async(self._page)(reviewer, "")
        await self.send(text_data=html)
        backlog, self.backlog = self.backlog, None
        for message in backlog:
            self.push(message, hub.Frames(hub.hub(), message), {})

    def _page(self, reviewer, after: str) -> str:
        """The first page (the whole list is replaced) or the page after a cursor (appended),
        with the "show more" link and the counts; what it shows is remembered."""
        page = selectors.inbox_page(organization=reviewer.organization, filters=self.filters,
                                    user_id=self.user_id, after=after)  # fmt: skip
        context = {"questions": page.questions, "page": page, "filters": self.filters,
                   "total_for_filter": page.total_for_filter,
                   "total_pending": page.total_pending, "oob": True}  # fmt: skip
        if after:
            cards = render_to_string("inbox/_inbox_more.html#appended", context)
        else:
            self.shown = set()
            cards = render_to_string("inbox/inbox.html#question-list", context)
        self.shown.update(str(q.pk) for q in page.questions)
        self.window_end = page.window_end
        more = render_to_string("inbox/_inbox_more.html#more", context)
        totals = render_to_string("inbox/_inbox_more.html#totals", context)
        return cards.strip() + more.strip() + totals.strip()

    async def disconnect(self, code: int) -> None:
        await self.leave()
        if getattr(self, "organization_id", None) is not None:
            await hub.hub().leave(self)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        """Show more, asked over the socket (htmx ws-send: `{"more": cursor}`); else ignored."""
        try:
            cursor = json.loads(text_data or "{}").get("more", "")
        except (ValueError, AttributeError):
            return
        if not isinstance(cursor, str) or self.filters.parse_cursor(cursor) is None:
            return
        if self.window_end is None or self.filters.cursor(self.window_end) != cursor:
            return  # not where this inbox's list ends (a stale button): nothing to append
        reviewer = await database_sync_to_async(selectors.reviewer_for)(self.scope["user"])
        if reviewer is None:
            return
        await self.send(text_data=await database_sync_to_async(self._page)(reviewer, cursor))

    def push(self, message: dict, frames, judged: dict) -> None:
        """A change of the organization, from the hub: what this inbox shows follows it. No
        waiting here: the frame goes out before the hub turns to the next socket."""
        if self.backlog is not None:
            self.backlog.append(message)
            return
        question_id = message["question_id"]
        wanted = judged.get(self.filter_key)
        if wanted is None:
            wanted = judged[self.filter_key] = message["pending"] and self.filters.accepts(
                priority=message["priority"], claimed_by_id=message["claimed_by_id"],
                user_id=self.user_id, kind=message.get("kind", "question"),
                team_id=message.get("team_id"),
                assignee_user_id=message.get("assignee_user_id"), my_team_ids=self.my_team_ids,
            )  # fmt: skip
        if wanted and question_id in self.shown:
            kind = "replace"
        elif wanted and self._within_window(message):
            self.shown.add(question_id)
            kind = "insert"
        elif not wanted and question_id in self.shown:
            self.shown.discard(question_id)
            kind = "delete"
        else:
            return
        hub.write(self, frames.get(kind))

    def _within_window(self, message: dict) -> bool:
        """Does the request sort among the pages loaded? Beyond them it would show out of order
        (the next "show more" brings it)."""
        if self.window_end is None:
            return True
        if "expires_us" not in message:
            return False
        key = self.filters.sort_key(priority=message["priority"], pk=message["question_id"],
                                    expires_us=message["expires_us"],
                                    created_us=message["created_us"])  # fmt: skip
        return key <= self.window_end


def render_counts(organization_id: int, inboxes: list) -> dict:
    """The counts frame of each filter key: one query per key, one for the organization."""
    from supportdesk.desk.models import Organization

    pending = selectors.questions_pending(organization=Organization(pk=organization_id))
    texts = {}
    for key, socket in inboxes:
        counts = selectors.inbox_counts(pending, socket.filters.condition(user_id=socket.user_id))
        context = {**counts, "oob": True}
        texts[key] = render_to_string("inbox/_inbox_more.html#totals", context).strip()
    return texts


class QuestionConsumer(SessionBoundConsumer):
    """A question's page: its state (answered, expired, claimed by whom) redrawn as it changes,
    while the reviewer's half-written answer stays untouched."""

    async def connect(self) -> None:
        question_id = self.scope["url_route"]["kwargs"]["question_id"]
        reviewer = await self.join_as_reviewer()
        self.question_id = None
        if reviewer is not None:
            self.question_id = await database_sync_to_async(self._visible)(question_id, reviewer)
        if self.question_id is None:
            await self.close()
            return
        self.group = live.question_group(self.question_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.question_state({})  # what changed while the page loaded or the socket was down

    def _visible(self, question_id, reviewer):
        try:
            return selectors.question_get(question_id, organization=reviewer.organization).pk
        except NotFound:
            return None

    async def disconnect(self, code: int) -> None:
        await self.leave()
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        """Nothing to receive."""

    async def question_state(self, event: dict) -> None:
        await self.send(text_data=await database_sync_to_async(self._render)())

    def _render(self) -> str:
        question = selectors.question_get(self.question_id)
        return render_to_string("inbox/question.html#state",
                                {"question": question, "user": self.scope["user"], "oob": True})


class TicketConsumer(SessionBoundConsumer):
    """A ticket page: its replies, questions and run timelines, re-rendered as the runs progress."""

    async def connect(self) -> None:
        ticket_id = self.scope["url_route"]["kwargs"]["ticket_id"]
        reviewer = await self.join_as_reviewer()
        self.ticket = None
        if reviewer is not None:
            self.ticket = await database_sync_to_async(self._ticket)(ticket_id, reviewer)
        if self.ticket is None:
            await self.close()
            return
        run_ids = await database_sync_to_async(
            lambda: list(self.ticket.runs.values_list("pk", flat=True))
        )()
        self.groups_joined = [live.ticket_group(self.ticket.pk), *map(live.run_group, run_ids)]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.ticket_changed({})

    def _ticket(self, ticket_id, reviewer):
        try:
            return selectors.ticket_get(ticket_id, organization=reviewer.organization)
        except NotFound:
            return None

    async def disconnect(self, code: int) -> None:
        await self.leave()
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        """Nothing to receive."""

    async def ticket_changed(self, event: dict) -> None:
        await self.send(text_data=await database_sync_to_async(self._render)())

    def _render(self) -> str:
        from supportdesk.inbox.views import ticket_context

        self.ticket.refresh_from_db()
        return render_to_string("inbox/ticket.html#live", {**ticket_context(self.ticket),
                                                           "oob": True})  # fmt: skip
