"""Writes of the agents' questions: opened by `ask_developer`, answered once from any channel,
claimed, expired, cancelled. The question's ticket follows: waiting on a human while a question is
open, in progress again once it is answered or expired."""

import secrets
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from supportdesk import durable
from supportdesk.desk import observers
from supportdesk.desk.errors import Conflict, DeskError
from supportdesk.desk.models import Channel, Question, QuestionStatus, RequestKind, TicketStatus
from supportdesk.desk.services.base import (
    DEVELOPER_RESPONSE,
    clean_text,
    organization_tenant,
    user_display_name,
)
from supportdesk.desk.services.requests import request_route
from supportdesk.desk.services.status import lock_tickets, ticket_set_status


def question_open(
    *,
    question_id,
    ticket_id: int,
    run_id,
    agent: str,
    question: str,
    context: str,
    expires_at: datetime,
    team: str = "",
    group_id: int | None = None,
) -> Question:
    """Called by `ask_developer` inside the transaction that registers its wait; `team` is the
    team the agent chose (else the organization's routing rules decide), `group_id` the incident
    its grouping step chose."""
    question = Question.objects.create(
        id=question_id,
        ticket_id=ticket_id,
        run_id=run_id,
        agent=agent,
        question=clean_text(question, field="question", required=True),
        context=clean_text(context, field="context", required=False),
        expires_at=expires_at,
        group_id=group_id,
    )
    # Announced first, so that after the commit the inboxes hear of it before the routing's own
    # after-commit work (matching and enqueuing the reminders' event) runs: ~5 ms sooner.
    observers.announce(observers.QUESTION_OPENED, question.pk)
    request_route(question, chosen_team=team)
    ticket_set_status(ticket_id, TicketStatus.WAITING, f"{agent} asked a developer")
    return question


def question_answer(
    *,
    question: Question,
    answered_by: str,
    answer: str,
    user: User | None = None,
    channel: str = Channel.WEB,
    key_name: str = "",
    event_id: str = "",
) -> Question:
    """Answer a pending question, once, whatever the channel, and emit the response event that
    resumes its run. Records who answered, when, through which channel (and key).

    A second answer is refused with who answered and when; nothing is overwritten. The response
    event's id is unguessable (or the caller's own, for an answer that came as an event), so no
    client can take it first and have the answer deduplicated away.
    """
    if question.kind == RequestKind.APPROVAL:
        raise Conflict(
            "this is a proposed tool call, not a question: decide it (approve, edit, reject or "
            "respond) instead"
        )
    answer = clean_text(answer, field="answer", required=True)
    answered_by = clean_text(answered_by, field="answered by", required=True, limit=200)
    if channel not in Channel.values:
        raise DeskError(f"unknown channel {channel!r}")
    with transaction.atomic():
        lock_tickets(question.ticket_id)
        event = answer_locked(question, answer=answer, answered_by=answered_by, user=user,
                              channel=channel, key_name=key_name, event_id=event_id)  # fmt: skip
        if event is None:
            raise Conflict(question_closed_message(question))
        durable.send_events(event, tenant=organization_tenant(question.ticket.organization_id))
        # After the event: its matching (which resumes the run) runs first after the commit.
        observers.announce(observers.QUESTION_CHANGED, question.pk)
    return question


def answer_locked(
    question: Question,
    *,
    answer: str,
    answered_by: str,
    user: User | None,
    channel: str,
    key_name: str = "",
    event_id: str = "",
    with_group: bool = False,
) -> dict | None:
    """Answer `question` if it is still open, its ticket locked by the caller: the response event
    to send (in the caller's transaction), or None when it was answered, expired or cancelled
    first (`question` is refreshed either way). The one place an answer is written.

    The caller sends the event, then announces the change: after the commit, the run resumes
    before the inboxes are told (rendering a card for every open inbox takes milliseconds)."""
    now = timezone.now()
    won = Question.objects.filter(
        pk=question.pk, status=QuestionStatus.PENDING, expires_at__gt=now
    ).update(status=QuestionStatus.ANSWERED, answer=answer, answered_by=answered_by,
             answered_by_user=user, answered_at=now, closed_at=now, answered_via=channel,
             answered_key=key_name[:250], answered_with_group=with_group)  # fmt: skip
    question.refresh_from_db()
    if not won:
        return None
    ticket_back_to_work(question.ticket_id, f"{answered_by} answered the developer question")
    return {
        "name": DEVELOPER_RESPONSE,
        "id": event_id or response_event_id(question),
        "data": {
            "ticketId": question.ticket_id,
            "questionId": str(question.pk),
            "answer": answer,
            "answeredBy": answered_by,
            "timestamp": now.isoformat(),
        },
    }


def ticket_back_to_work(ticket_id: int, reason: str) -> None:
    """No question of the ticket waits any more: its run works on."""
    if not Question.objects.filter(ticket_id=ticket_id, status=QuestionStatus.PENDING).exists():
        ticket_set_status(ticket_id, TicketStatus.IN_PROGRESS, reason, when=(TicketStatus.WAITING,))


def response_event_id(question: Question) -> str:
    """A fresh, unguessable id for the event that carries an answer (or a decision) to its run."""
    what = "tool-decision" if question.kind == RequestKind.APPROVAL else "developer-response"
    return f"{what}-{question.pk}-{secrets.token_hex(8)}"


def question_claim(*, question: Question, user: User) -> Question:
    """Claim a pending question, so other reviewers see someone is on it."""
    with transaction.atomic():
        claimed = Question.objects.filter(
            Q(claimed_by__isnull=True) | Q(claimed_by=user),
            pk=question.pk, status=QuestionStatus.PENDING,
        ).update(claimed_by=user, claimed_at=timezone.now())  # fmt: skip
        question.refresh_from_db()
        if not claimed:
            if question.status != QuestionStatus.PENDING:
                raise Conflict(question_closed_message(question))
            raise Conflict(f"already claimed by {user_display_name(question.claimed_by)}")
        observers.announce(observers.QUESTION_CHANGED, question.pk)
    return question


def question_release(*, question: Question, user: User) -> Question:
    with transaction.atomic():
        released = Question.objects.filter(pk=question.pk, claimed_by=user).update(
            claimed_by=None, claimed_at=None
        )
        question.refresh_from_db()
        if not released:
            raise Conflict("you have not claimed this question")
        observers.announce(observers.QUESTION_CHANGED, question.pk)
    return question


def question_closed_message(question: Question) -> str:
    if question.status == QuestionStatus.ANSWERED and question.decision:
        return (
            f"already decided by {question.answered_by} at "
            f"{question.answered_at:%Y-%m-%d %H:%M:%S} UTC: {question.get_decision_display()}"
        )
    if question.status == QuestionStatus.ANSWERED:
        return (
            f"already answered by {question.answered_by} at "
            f"{question.answered_at:%Y-%m-%d %H:%M:%S} UTC"
        )
    if question.status == QuestionStatus.CANCELLED:
        return "this question was cancelled: its ticket was closed or its run stopped"
    return f"this question expired at {question.expires_at:%Y-%m-%d %H:%M:%S} UTC"


def question_expire(*, question_id) -> bool:
    """The agent's wait timed out: the question can no longer be answered."""
    with transaction.atomic():
        lock_tickets(*Question.objects.filter(pk=question_id).values_list("ticket_id", flat=True))
        expired = Question.objects.filter(pk=question_id, status=QuestionStatus.PENDING).update(
            status=QuestionStatus.EXPIRED, closed_at=timezone.now()
        )
        if expired:
            observers.announce(observers.QUESTION_EXPIRED, question_id)
            ticket_id = Question.objects.values_list("ticket_id", flat=True).get(pk=question_id)
            ticket_back_to_work(
                ticket_id, "the developer question expired; the agent goes on without an answer"
            )
    return bool(expired)


def questions_cancel_for_run(run_id) -> None:
    pending = Question.objects.filter(run_id=run_id, status=QuestionStatus.PENDING)
    lock_tickets(*pending.values_list("ticket_id", flat=True))
    questions_cancel(pending)


def questions_cancel(pending) -> None:
    ids = list(pending.values_list("pk", flat=True))
    Question.objects.filter(pk__in=ids, status=QuestionStatus.PENDING).update(
        status=QuestionStatus.CANCELLED, closed_at=timezone.now()
    )
    for question_id in ids:
        observers.announce(observers.QUESTION_CHANGED, question_id)
