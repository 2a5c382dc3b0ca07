"""Writes of a ticket's life: every entry point creates, closes, reopens, retries and follows up
through these, so that a ticket has at most one live run and its status always says why.

    open → in progress → waiting on a human → replied → resolved | needs attention | closed

Runs are started through `app/support.ticket.created` (the support workflow's trigger); the
workflow claims the ticket in its first step (`ticket_run_begin`) and reports how it ended
(`ticket_run_completed`, and the engine's `on_failure`/`on_cancel` handlers).
"""

import uuid

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q

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
    RequestKind,
    Ticket,
    TicketActivity,
    TicketMessage,
    TicketStatus,
)
from supportdesk.desk.services.base import (
    TICKET_CLOSED,
    TICKET_CREATED,
    clean_text,
    hash_text,
    organization_tenant,
)
from supportdesk.desk.services.questions import questions_cancel, questions_cancel_for_run
from supportdesk.desk.services.status import lock_tickets, ticket_set_status
from supportdesk.durable.models import TERMINAL_STATUSES, Run, RunStatus
from supportdesk.durable.services import run_retry
from supportdesk.durable.values import storable_text

ENDED = (TicketStatus.RESOLVED, TicketStatus.NEEDS_ATTENTION, TicketStatus.CLOSED)


def one_line(text: str) -> str:
    """Titles are headers (an email's subject, a Slack line): one line, single spaces."""
    return " ".join((text or "").split())


def ticket_create(
    *,
    organization: Organization,
    title: str,
    body: str = "",
    priority: str = Priority.MEDIUM,
    customer: str = "",
) -> Ticket:
    """Create a ticket and start its support workflow (one run, through
    `app/support.ticket.created`). Every entry point — API, CLI, admin — comes here."""
    title = clean_text(one_line(title), field="title", required=True, limit=300)
    body = clean_text(body, field="body", required=False)
    customer = clean_text(one_line(customer), field="customer", required=False, limit=200)
    if priority not in Priority.values:
        raise DeskError(f"priority must be one of {', '.join(Priority.values)}, not {priority!r}")
    with transaction.atomic():
        ticket = Ticket.objects.create(
            organization=organization, title=title, body=body, priority=priority, customer=customer
        )
        _start_run(ticket)
    return ticket


def ticket_admit(*, ticket: Ticket) -> Ticket:
    """A ticket saved by a form of its own (Django admin's add page): validate it as
    `ticket_create` would, and start its workflow."""
    ticket.title = clean_text(one_line(ticket.title), field="title", required=True, limit=300)
    ticket.body = clean_text(ticket.body, field="body", required=False)
    with transaction.atomic():
        ticket.status, ticket.status_reason = TicketStatus.OPEN, ""
        ticket.save()
        _start_run(ticket)
    return ticket


def _start_run(ticket: Ticket, *, event_id: str | None = None) -> Run | None:
    """Send the workflow's trigger for the ticket; the new run is live. None if one already is."""
    if _live_run_id(ticket.pk) is not None:
        return None
    [event_id] = durable.send_events(
        {"name": TICKET_CREATED, "data": {"ticketId": ticket.pk}, "id": event_id},
        tenant=organization_tenant(ticket.organization_id),
    )
    run = Run.objects.filter(event__event_id=event_id, tenant=ticket_tenant(ticket)).first()
    if run is not None:
        ticket.runs.add(run)
        Ticket.objects.filter(pk=ticket.pk).update(live_run=run)
    return run


def ticket_tenant(ticket: Ticket) -> str:
    return organization_tenant(ticket.organization_id)


def _live_run_id(ticket_id: int):
    """The ticket's run that has not ended, if any."""
    return (
        Ticket.objects.filter(pk=ticket_id, live_run__isnull=False)
        .exclude(live_run__status__in=TERMINAL_STATUSES)
        .values_list("live_run_id", flat=True)
        .first()
    )


def ticket_has_live_run(ticket_id: int) -> bool:
    return _live_run_id(ticket_id) is not None


def ticket_work_from_event(*, ticket: Ticket, event_id: str | None) -> str | None:
    """`app/support.ticket.created` from a client, for a ticket that exists: a run starts unless
    one is live already (then the event is accepted and starts nothing: idempotent). Returns the
    id of the event that started a run, None if nothing started."""
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.status == TicketStatus.CLOSED:
            raise Conflict(f"ticket {ticket.pk} is closed: reopen it to work on it again")
        run = _start_run(ticket, event_id=event_id)
    return run.event.event_id if run is not None else None


def ticket_run_begin(*, ticket_id: int, run_id) -> str | None:
    """The workflow's first step, in one transaction: the run claims the ticket (`_claim`) and
    reads what happened on it before (`_conversation`); None if another live run works it."""
    with transaction.atomic():
        if not _claim(ticket_id, run_id):
            return None
        return _conversation(ticket_id, run_id)


def _claim(ticket_id: int, run_id) -> bool:
    """This run works the ticket, unless another live run does. Either way the run is listed
    among the ticket's runs."""
    lock_tickets(ticket_id)
    listed = Ticket.runs.through(ticket_id=ticket_id, run_id=run_id)  # one INSERT, not two
    Ticket.runs.through.objects.bulk_create([listed], ignore_conflicts=True)
    live = _live_run_id(ticket_id)
    if live is not None and str(live) != str(run_id):
        return False
    Ticket.objects.filter(pk=ticket_id).update(live_run_id=run_id)
    ticket_set_status(ticket_id, TicketStatus.IN_PROGRESS, "the agents are working on it")
    return True


def _conversation(ticket_id: int, run_id) -> str:
    """What happened on the ticket before this run — replies, questions and their answers, the
    customer's follow-ups — as text for the agents; the follow-ups nobody read yet become this
    run's (a replayed step reads the same)."""
    read = TicketMessage.objects.filter(ticket_id=ticket_id, run__isnull=True).update(
        run_id=run_id
    )
    if not read and not _has_history(ticket_id, run_id):
        return ""  # a new ticket: one query instead of three
    entries = [
        (reply.created_at, f"Reply to the customer from {reply.agent}: {reply.body}")
        for reply in Reply.objects.filter(ticket_id=ticket_id)
    ]
    for question in Question.objects.filter(ticket_id=ticket_id).exclude(run_id=run_id):
        answer = (f"{question.answered_by} answered: {question.answer}"
                  if question.status == QuestionStatus.ANSWERED
                  else f"(no answer: {question.get_status_display()})")  # fmt: skip
        asked = f"{question.agent} asked a developer: {question.question} {answer}"
        entries.append((question.created_at, asked))
    for message in TicketMessage.objects.filter(ticket_id=ticket_id):
        new = " (new)" if str(message.run_id) == str(run_id) else ""
        entries.append((message.created_at, f"The customer wrote{new}: {message.body}"))
    entries.sort(key=lambda entry: entry[0])
    return "\n".join(text for _, text in entries)


def _has_history(ticket_id: int, run_id) -> bool:
    """Whether anything happened on the ticket before this run."""
    ticket = OuterRef("pk")
    return Ticket.objects.filter(
        Exists(Reply.objects.filter(ticket_id=ticket))
        | Exists(Question.objects.filter(ticket_id=ticket).exclude(run_id=run_id))
        | Exists(TicketMessage.objects.filter(ticket_id=ticket)),
        pk=ticket_id,
    ).exists()


def ticket_reply(*, ticket_id: int, run_id, agent: str, body: str) -> Reply:
    """Record an agent's reply to the customer; the same reply from the same run once."""
    body = clean_text(body, field="reply", required=True)
    key = f"{run_id}:{agent}:{hash_text(body)}"
    try:
        with transaction.atomic():
            reply = Reply.objects.create(
                ticket_id=ticket_id, run_id=run_id, agent=agent, body=body, idempotency_key=key
            )
            ticket_set_status(ticket_id, TicketStatus.REPLIED, f"{agent} replied to the customer")
    except IntegrityError:
        return Reply.objects.get(idempotency_key=key)
    observers.announce(observers.TICKET_CHANGED, ticket_id)
    return reply


HOLDING_REPLY = (
    "Thanks for your patience: this needs one of our engineers, and we have asked one. We will "
    "write again as soon as we hear back."
)


def ticket_holding_reply(*, ticket_id: int, run_id, agent: str) -> int:
    """A critical ticket's customer hears first that a person is looking into it (an
    organization's choice, `holding_reply`)."""
    return ticket_reply(ticket_id=ticket_id, run_id=run_id, agent=agent, body=HOLDING_REPLY).pk


def ticket_run_completed(*, ticket_id: int, run_id, resolution: str) -> int:
    """The workflow's last step: the ticket is resolved if this run replied to the customer and
    no developer question of it expired; otherwise it needs attention, and says why. Returns
    the ticket's id."""
    expired = list(Question.objects.filter(run_id=run_id, status=QuestionStatus.EXPIRED)
                   .order_by("pk"))  # fmt: skip
    question = next((q for q in expired if q.kind == RequestKind.QUESTION), None)
    approval = next((q for q in expired if q.kind == RequestKind.APPROVAL), None)
    replied = Reply.objects.filter(run_id=run_id).order_by("pk").first()
    if question is not None:
        status = TicketStatus.NEEDS_ATTENTION
        reason = f"the developer question expired unanswered: {question.question[:200]}"
    elif approval is not None and replied is None:
        status = TicketStatus.NEEDS_ATTENTION
        reason = (f"nobody decided on {approval.agent}'s call of {approval.tool} in time: "
                  "it did not run")  # fmt: skip
    elif replied is not None:
        status, reason = TicketStatus.RESOLVED, f"{replied.agent} replied to the customer"
    else:
        status = TicketStatus.NEEDS_ATTENTION
        reason = "the run ended without a reply to the customer"
    with transaction.atomic():
        Ticket.objects.filter(pk=ticket_id).update(resolution=storable_text(resolution))
        ticket_set_status(ticket_id, status, reason)
        _release(ticket_id, run_id)
        _follow_up_if_the_customer_wrote(ticket_id)
    return ticket_id


def ticket_run_failed(run_id, reason: str) -> None:
    """The engine failed the run (on_failure): its tickets need attention, with the reason;
    reviewers are told (inbox, email, Slack); it can be retried from its failed step."""
    lock_tickets(*_tickets_of(run_id))
    questions_cancel_for_run(run_id)
    for ticket_id in _tickets_of(run_id):
        ticket_set_status(ticket_id, TicketStatus.NEEDS_ATTENTION, f"the run failed: {reason}")
        _release(ticket_id, run_id)


def ticket_run_cancelled(run_id, reason: str) -> None:
    """The engine cancelled the run (on_cancel): its questions close; unless the ticket was
    closed (then it says so already), it needs attention."""
    lock_tickets(*_tickets_of(run_id))
    questions_cancel_for_run(run_id)
    for ticket_id in _tickets_of(run_id):
        ticket_set_status(ticket_id, TicketStatus.NEEDS_ATTENTION,
                          f"its run was cancelled ({reason})")  # fmt: skip
        _release(ticket_id, run_id)


def _tickets_of(run_id) -> list[int]:
    return list(
        Ticket.objects.filter(Q(live_run_id=run_id) | Q(runs__id=run_id))
        .values_list("pk", flat=True)
        .distinct()
    )


def _release(ticket_id: int, run_id) -> None:
    Ticket.objects.filter(pk=ticket_id, live_run_id=run_id).update(live_run=None)


def _audit(ticket: Ticket, actor: str, action: str, detail: str = "") -> None:
    TicketActivity.objects.create(
        ticket=ticket, actor=storable_text(actor)[:250], action=action,
        detail=storable_text(detail)[:2000],
    )  # fmt: skip
    observers.announce(observers.TICKET_CHANGED, ticket.pk)


def _actor(actor: str, channel: str) -> str:
    return f"{actor} ({Channel(channel).label})"


def ticket_close(
    *, ticket: Ticket, actor: str = "", channel: str = Channel.WEB, event_id: str | None = None
) -> Ticket:
    """Close the ticket, from any door: its open questions are cancelled (every inbox drops
    them) and its runs stop (`cancel_on`, through `app/support.ticket.closed`, whose id is the
    caller's own when it came as an event)."""
    who = _actor(actor or "someone", channel)
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.status == TicketStatus.CLOSED:
            raise Conflict(f"ticket {ticket.pk} is already closed ({ticket.status_reason})")
        ticket_set_status(ticket.pk, TicketStatus.CLOSED, f"closed by {who}",
                          when=tuple(TicketStatus.values))  # fmt: skip
        questions_cancel(Question.objects.filter(ticket=ticket, status=QuestionStatus.PENDING))
        _audit(ticket, who, "closed")
        durable.send_events(
            {"name": TICKET_CLOSED, "data": {"ticketId": ticket.pk}, "id": event_id},
            tenant=organization_tenant(ticket.organization_id),
        )
    ticket.refresh_from_db()
    return ticket


def ticket_reopen(*, ticket: Ticket, actor: str, channel: str = Channel.WEB) -> Ticket:
    """Work an ended ticket again: a new run reads the whole conversation so far."""
    who = _actor(actor, channel)
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.status not in ENDED or ticket_has_live_run(ticket.pk):
            raise Conflict(
                f"ticket {ticket.pk} is {ticket.get_status_display()}: only a resolved, closed "
                "or needs-attention ticket without a live run can be reopened"
            )
        ticket_set_status(ticket.pk, TicketStatus.OPEN, f"reopened by {who}", when=ENDED)
        _audit(ticket, who, "reopened")
        _start_run(ticket)
    ticket.refresh_from_db()
    return ticket


def ticket_retry(*, ticket: Ticket, actor: str, channel: str = Channel.WEB) -> Run:
    """Retry the ticket's failed run from its failed step (completed steps are not repeated)."""
    who = _actor(actor, channel)
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        failed = ticket.runs.filter(status=RunStatus.FAILED).order_by("-created_at").first()
        if failed is None or ticket_has_live_run(ticket.pk):
            raise Conflict(f"ticket {ticket.pk} has no failed run to retry (or one is running)")
        if ticket.status == TicketStatus.CLOSED:
            raise Conflict(f"ticket {ticket.pk} is closed: reopen it instead")
        run_retry(failed.pk, reason=f"retried by {who}")
        Ticket.objects.filter(pk=ticket.pk).update(live_run=failed)
        ticket_set_status(ticket.pk, TicketStatus.IN_PROGRESS, f"retried by {who}")
        _audit(ticket, who, "retried", f"run {failed.pk}")
    return failed


def ticket_message(
    *, ticket: Ticket, body: str, entered_by: str, channel: str = Channel.API
) -> TicketMessage:
    """The customer wrote again: the conversation continues. With no live run, a new run starts
    and reads everything so far; with one, the message waits for it to end (never a second run
    at once). A closed ticket is reopened by its customer's message."""
    body = clean_text(body, field="message", required=True)
    who = _actor(entered_by, channel)
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        message = TicketMessage.objects.create(ticket=ticket, body=body, entered_by=who)
        _audit(ticket, who, "customer message", body[:200])
        if not ticket_has_live_run(ticket.pk):
            ticket_set_status(ticket.pk, TicketStatus.OPEN, "the customer wrote again",
                              when=tuple(TicketStatus.values))  # fmt: skip
            _start_run(ticket)
    return message


def _follow_up_if_the_customer_wrote(ticket_id: int) -> None:
    """A message arrived while the run worked: now that it ended, the next run reads it."""
    if TicketMessage.objects.filter(ticket_id=ticket_id, run__isnull=True).exists():
        ticket = Ticket.objects.get(pk=ticket_id)
        ticket_set_status(ticket_id, TicketStatus.OPEN, "the customer wrote again",
                          when=tuple(TicketStatus.values))  # fmt: skip
        _start_run(ticket)


def ticket_manual_reply(
    *, ticket: Ticket, body: str, user: User, author: str, channel: str = Channel.WEB
) -> Reply:
    """A reviewer replies to the customer by hand: recorded as theirs."""
    body = clean_text(body, field="reply", required=True)
    who = _actor(author, channel)
    with transaction.atomic():
        reply = Reply.objects.create(
            ticket=ticket, agent=author, written_by=user, body=body,
            idempotency_key=f"manual:{uuid.uuid4().hex}",
        )  # fmt: skip
        if not ticket_has_live_run(ticket.pk):
            ticket_set_status(ticket.pk, TicketStatus.REPLIED, f"replied by hand by {who}")
        _audit(ticket, who, "replied by hand", body[:200])
    return reply
