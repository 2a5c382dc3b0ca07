"""Writes of the desk: tickets, replies, questions and their answers.

Keyword-only and typed; views, API endpoints, tools, tasks and commands call these and nothing else.
"""

import hashlib
import secrets
from datetime import datetime

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from supportdesk import durable
from supportdesk.desk import observers
from supportdesk.desk.errors import Conflict, DeskError
from supportdesk.desk.models import (
    Channel,
    Organization,
    Priority,
    Question,
    QuestionStatus,
    Reply,
    Ticket,
    TicketStatus,
)
from supportdesk.desk.text import single_line
from supportdesk.durable.models import Run
from supportdesk.durable.values import text_problem

TICKET_CREATED = "app/support.ticket.created"
TICKET_CLOSED = "app/support.ticket.closed"
DEVELOPER_RESPONSE = "app/support.ticket.developer-response"
MAX_TEXT = 20_000


def organization_tenant(organization_id: int) -> str:
    """The durable engine's tenant of an organization: its events touch only its runs."""
    return str(organization_id)


def _clean_text(value: str, *, field: str, required: bool, limit: int = MAX_TEXT) -> str:
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


def ticket_create(
    *,
    organization: Organization,
    title: str,
    body: str = "",
    priority: str = Priority.MEDIUM,
    customer: str = "",
) -> Ticket:
    """Create a ticket and start its support workflow (through `app/support.ticket.created`).
    The title is one line: it heads emails and Slack messages."""
    title = single_line(_clean_text(title, field="title", required=True, limit=300))
    body = _clean_text(body, field="body", required=False)
    customer = _clean_text(customer, field="customer", required=False, limit=200)
    if priority not in Priority.values:
        raise DeskError(f"priority must be one of {', '.join(Priority.values)}, not {priority!r}")
    with transaction.atomic():
        ticket = Ticket.objects.create(
            organization=organization, title=title, body=body, priority=priority, customer=customer
        )
        [event_id] = durable.send_events(
            {"name": TICKET_CREATED, "data": {"ticketId": ticket.pk}},
            tenant=organization_tenant(organization.pk),
        )
        ticket.runs.add(*Run.objects.filter(event__event_id=event_id))
    return ticket


def ticket_start_work(*, ticket_id: int) -> None:
    Ticket.objects.filter(pk=ticket_id, status=TicketStatus.OPEN).update(
        status=TicketStatus.IN_PROGRESS, updated_at=timezone.now()
    )


def ticket_reply(*, ticket_id: int, run_id, agent: str, body: str) -> Reply:
    """Record a reply sent to the customer; the same reply from the same run is recorded once."""
    body = _clean_text(body, field="reply", required=True)
    key = f"{run_id}:{agent}:{hash_text(body)}"
    try:
        with transaction.atomic():
            reply = Reply.objects.create(
                ticket_id=ticket_id, run_id=run_id, agent=agent, body=body, idempotency_key=key
            )
    except IntegrityError:
        return Reply.objects.get(idempotency_key=key)
    observers.announce(observers.TICKET_CHANGED, ticket_id)
    return reply


def hash_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def ticket_store_result(*, ticket_id: int, resolution: str) -> Ticket:
    """The workflow's last step: what the agents concluded, and whether the customer heard back."""
    ticket = Ticket.objects.get(pk=ticket_id)
    if ticket.status != TicketStatus.CLOSED:
        replied = ticket.replies.exists()
        ticket.status = TicketStatus.RESOLVED if replied else TicketStatus.NEEDS_ATTENTION
    ticket.resolution = resolution
    ticket.updated_at = timezone.now()
    ticket.save(update_fields=["status", "resolution", "updated_at"])
    observers.announce(observers.TICKET_CHANGED, ticket.pk)
    return ticket


def ticket_close(*, ticket: Ticket) -> Ticket:
    """Close the ticket: its open questions are cancelled and its runs stop (`cancel_on`)."""
    with transaction.atomic():
        now = timezone.now()
        Ticket.objects.filter(pk=ticket.pk).update(status=TicketStatus.CLOSED, updated_at=now)
        _questions_cancel(Question.objects.filter(ticket=ticket, status=QuestionStatus.PENDING))
        observers.announce(observers.TICKET_CHANGED, ticket.pk)
        durable.send_events(
            {"name": TICKET_CLOSED, "data": {"ticketId": ticket.pk}},
            tenant=organization_tenant(ticket.organization_id),
        )
    ticket.refresh_from_db()
    return ticket


def question_open(
    *,
    question_id,
    ticket_id: int,
    run_id,
    agent: str,
    question: str,
    context: str,
    expires_at: datetime,
) -> Question:
    """Called by `ask_developer` inside the transaction that registers its wait."""
    question = Question.objects.create(
        id=question_id,
        ticket_id=ticket_id,
        run_id=run_id,
        agent=agent,
        question=_clean_text(question, field="question", required=True),
        context=_clean_text(context, field="context", required=False),
        expires_at=expires_at,
    )
    observers.announce(observers.QUESTION_OPENED, question.pk)
    observers.announce(observers.TICKET_CHANGED, ticket_id)
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
    answer = _clean_text(answer, field="answer", required=True)
    answered_by = _clean_text(answered_by, field="answered by", required=True, limit=200)
    if channel not in Channel.values:
        raise DeskError(f"unknown channel {channel!r}")
    now = timezone.now()
    with transaction.atomic():
        won = Question.objects.filter(
            pk=question.pk, status=QuestionStatus.PENDING, expires_at__gt=now
        ).update(status=QuestionStatus.ANSWERED, answer=answer, answered_by=answered_by,
                 answered_by_user=user, answered_at=now, answered_via=channel,
                 answered_key=key_name[:250])  # fmt: skip
        question.refresh_from_db()
        if not won:
            raise Conflict(question_closed_message(question))
        durable.send_events(
            {
                "name": DEVELOPER_RESPONSE,
                "id": event_id or response_event_id(question),
                "data": {
                    "ticketId": question.ticket_id,
                    "questionId": str(question.pk),
                    "answer": answer,
                    "answeredBy": answered_by,
                    "timestamp": now.isoformat(),
                },
            },
            tenant=organization_tenant(question.ticket.organization_id),
        )
        observers.announce(observers.QUESTION_CHANGED, question.pk)
    return question


def response_event_id(question: Question) -> str:
    """A fresh, unguessable id for the event that carries an answer to its run."""
    return f"developer-response-{question.pk}-{secrets.token_hex(8)}"


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


def user_display_name(user: User | None) -> str:
    if user is None:
        return "nobody"
    return user.get_full_name() or user.get_username()


def question_closed_message(question: Question) -> str:
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
        expired = Question.objects.filter(pk=question_id, status=QuestionStatus.PENDING).update(
            status=QuestionStatus.EXPIRED
        )
        if expired:
            observers.announce(observers.QUESTION_EXPIRED, question_id)
    return bool(expired)


def questions_cancel_for_run(run_id) -> None:
    _questions_cancel(Question.objects.filter(run_id=run_id, status=QuestionStatus.PENDING))


def _questions_cancel(pending) -> None:
    ids = list(pending.values_list("pk", flat=True))
    Question.objects.filter(pk__in=ids, status=QuestionStatus.PENDING).update(
        status=QuestionStatus.CANCELLED
    )
    for question_id in ids:
        observers.announce(observers.QUESTION_CHANGED, question_id)
