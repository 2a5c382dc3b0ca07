"""The live layer: reviewers' WebSockets. On every (re)connect the full current list; afterwards
changes as HTML fragments swapped by htmx's ws extension (the page's own partials).

A socket lives only as long as its session: signing out, deactivation and removal as a reviewer
close it at once (`session.revoked` to the user's group), and every socket checks its session
again every INBOX_SESSION_RECHECK_SECONDS in case such news was lost.
"""

import asyncio
import contextlib
from importlib import import_module
from types import SimpleNamespace

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib import auth
from django.template.loader import render_to_string

from supportdesk.desk import selectors
from supportdesk.desk.errors import NotFound
from supportdesk.inbox import live
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
    async def connect(self) -> None:
        reviewer = await self.join_as_reviewer()
        if reviewer is None:
            await self.close()  # before accept: the handshake is refused (403)
            return
        self.filters = InboxFilters.from_query_string(self.scope.get("query_string", b""))
        self.my_team_ids = await database_sync_to_async(
            lambda: frozenset(reviewer.teams.values_list("pk", flat=True))
        )()
        self.group = live.inbox_group(reviewer.organization_id)
        # Join before rendering the list: a change committed in between is pushed, not lost.
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        html, shown = await database_sync_to_async(self._full_list)(reviewer)
        self.shown = shown
        await self.send(text_data=html)

    def _full_list(self, reviewer) -> tuple[str, set[str]]:
        questions = list(
            self.filters.apply(
                selectors.questions_pending(organization=reviewer.organization),
                user_id=self.user_id,
            ).select_related("claimed_by", "team", "assignee__user").prefetch_related("activity")
        )
        html = render_to_string("inbox/inbox.html#question-list", {"questions": questions,
                                                                   "oob": True})  # fmt: skip
        return html, {str(q.pk) for q in questions}

    async def disconnect(self, code: int) -> None:
        await self.leave()
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        """The inbox sends nothing over the socket; anything received is ignored."""

    async def question_changed(self, event: dict) -> None:
        question_id = event["question_id"]
        wanted = event["pending"] and self.filters.accepts(
            priority=event["priority"], claimed_by_id=event["claimed_by_id"], user_id=self.user_id,
            kind=event.get("kind", "question"), team_id=event.get("team_id"),
            assignee_user_id=event.get("assignee_user_id"), my_team_ids=self.my_team_ids,
        )
        if wanted and question_id in self.shown:
            html = event["card"]  # carries hx-swap-oob="true": replaces the card in place
        elif wanted:
            self.shown.add(question_id)
            html = f'<div hx-swap-oob="afterbegin:#question-list">{event["card"]}</div>'
        elif question_id in self.shown:
            self.shown.discard(question_id)
            html = f'<div id="question-{question_id}" hx-swap-oob="delete"></div>'
        else:
            return
        await self.send(text_data=html)


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
