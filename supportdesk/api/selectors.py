"""Reads of the API, always scoped to the calling key's organization: another organization's ids
are simply not found."""

import uuid

from django.db.models import Prefetch, QuerySet

from supportdesk.api.models import ApiKey, EventKey, Key
from supportdesk.desk import selectors as desk_selectors
from supportdesk.desk.errors import NotFound
from supportdesk.desk.models import Organization, Question, Ticket, TicketMessage
from supportdesk.desk.services import organization_tenant
from supportdesk.durable.models import Run

NESTED_LIMIT = 50


def ticket_questions(ticket: Ticket) -> QuerySet[Question]:
    return Question.objects.filter(ticket=ticket).order_by("-created_at", "pk")


def ticket_runs(ticket: Ticket) -> QuerySet[Run]:
    return Run.objects.filter(tickets=ticket).order_by("created_at", "pk")


def ticket_messages(ticket: Ticket) -> QuerySet[TicketMessage]:
    return TicketMessage.objects.filter(ticket=ticket).order_by("created_at", "pk")


def ticket_detail(ticket_id: int, *, organization: Organization) -> Ticket:
    """The ticket with its replies and activity, and the first NESTED_LIMIT of its questions
    (newest first), runs and messages (oldest first) with how many there are in all: the rest
    are paged at /tickets/{id}/questions, /runs and /messages. One query each."""
    ticket = desk_selectors.ticket_get(ticket_id, organization=organization)
    bounded = {
        "questions": ticket_questions(ticket),
        "runs": ticket_runs(ticket),
        "messages": ticket_messages(ticket),
    }
    detail = Ticket.objects.prefetch_related(
        "replies", "activity",
        *(Prefetch(name, queryset=queryset.model.objects.order_by(*queryset.query.order_by)
                   [:NESTED_LIMIT], to_attr=f"first_{name}") for name, queryset in bounded.items()),
    ).get(pk=ticket.pk)  # fmt: skip
    for name, queryset in bounded.items():
        setattr(detail, f"{name}_count", queryset.count())
    return detail


def questions_for(
    *, organization: Organization, status: str = "", kind: str = ""
) -> QuerySet[Question]:
    questions = Question.objects.filter(ticket__organization=organization)
    if status:
        questions = questions.filter(status=status)
    if kind:
        questions = questions.filter(kind=kind)
    return questions.order_by("-created_at", "pk")


def runs_for(*, organization: Organization) -> QuerySet[Run]:
    return Run.objects.filter(tenant=organization_tenant(organization.pk))


def run_get(run_id: uuid.UUID, *, organization: Organization) -> Run:
    run = runs_for(organization=organization).select_related("event").filter(pk=run_id).first()
    if run is None:
        raise NotFound(f"no run with id {run_id}")
    return run


def keys_list(*, organization: Organization | None = None) -> list[Key]:
    """API keys and event keys, oldest first."""
    keys: list[Key] = []
    for model in (ApiKey, EventKey):
        found = model.objects.select_related("organization")
        if organization is not None:
            found = found.filter(organization=organization)
        keys += found
    return sorted(keys, key=lambda key: (key.created_at, key.prefix))


def key_get(prefix: str) -> Key:
    """A key by its visible prefix (`sdapi_1a2b3c4d`) or by the whole key."""
    prefix = "_".join(prefix.strip().split("_", 2)[:2])
    for model in (ApiKey, EventKey):
        key = model.objects.select_related("organization").filter(prefix=prefix).first()
        if key is not None:
            return key
    raise NotFound(f"no key with prefix {prefix!r} (see `manage.py apikey list`)")
