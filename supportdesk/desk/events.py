"""The desk's own events (`app/support.*`) as they come in from outside — the API's
`POST /api/events` and the Inngest-compatible `/e/<key>` — checked at the door.

- A `ticketId` is an integer naming a ticket of the sender's organization (a string "42" would
  never match the integer the desk's waits compare with, and the answer would be lost).
- The desk's own events go through the desk's services, as from any other door:
  `ticket.created` starts a run unless the ticket has a live one (then it is accepted and starts
  nothing); `ticket.closed` closes the ticket (its questions leave every inbox); an answer
  (`developer-response`) goes through `question_answer`, so the question is answered once,
  recorded with who, when and through which key. Resending an event with the same id is
  accepted and ignored, as for any event.

All or nothing: one refused event refuses the batch, and nothing is stored.
"""

import contextlib
import uuid
from typing import Any

from django.db import transaction

from supportdesk import durable
from supportdesk.desk import selectors, services
from supportdesk.desk.errors import Conflict, DeskError, InvalidField, InvalidFields, NotFound
from supportdesk.desk.models import Channel, Organization, Ticket
from supportdesk.durable.models import Event

SUPPORT_EVENTS = "app/support."
TICKET_EVENTS = {services.TICKET_CREATED, services.TICKET_CLOSED, services.DEVELOPER_RESPONSE}
# A tool decision names its approval; its ticket id, if given, is checked like any other.
MAX_TICKET_ID = 2**63 - 1


def events_receive(*, organization: Organization, events: list[dict], key_name: str) -> list[str]:
    """Send events from an outside client as the organization's; returns their ids in order."""
    tenant = services.organization_tenant(organization.pk)
    ids: list[str] = []
    with transaction.atomic():
        plain: list[dict] = []
        for index, event in enumerate(events):
            name = event.get("name", "")
            if name.startswith(SUPPORT_EVENTS):
                event = {**event, "data": _checked_ticket(index, event, organization)}
            handler = DESK_HANDLED.get(name)
            if handler is not None:
                ids.extend(durable.send_events(plain, tenant=tenant) if plain else [])
                plain = []
                ids.append(handler(index, event, organization, key_name, tenant))
            else:
                plain.append(event)
        if plain:
            ids.extend(durable.send_events(plain, tenant=tenant))
    return ids


def _checked_ticket(index: int, event: dict, organization: Organization) -> dict:
    data = dict(event.get("data") or {})
    required = event["name"] in TICKET_EVENTS
    if "ticketId" not in data and not required:
        return data
    ticket_id = ticket_id_from(data.get("ticketId"), loc=(index, "data", "ticketId"))
    if (
        event["name"] in TICKET_EVENTS
        and not Ticket.objects.filter(pk=ticket_id, organization=organization).exists()
    ):
        raise InvalidField(
            f"event {index}: data.ticketId: there is no ticket {ticket_id} in this organization",
            loc=(index, "data", "ticketId"),
        )
    data["ticketId"] = ticket_id
    return data


def ticket_id_from(value: Any, *, loc: tuple) -> int:
    """A ticket id as JSON carries it: an integer (7.0 is 7); anything else is refused."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_TICKET_ID:
        shown = "missing" if value is None else f"{type(value).__name__} {value!r:.40}"
        raise InvalidField(
            f"event {loc[0]}: data.ticketId must be a ticket id, a positive integer such as 42 "
            f"(not a string), but is {shown}",
            loc=loc,
        )
    return value


def _sent_before(event: dict, tenant: str) -> bool:
    event_id = event.get("id") or ""
    return bool(event_id) and Event.objects.filter(tenant=tenant, event_id=event_id).exists()


def _work(index: int, event: dict, organization: Organization, key_name: str, tenant: str) -> str:
    """`ticket.created` for a ticket: one run, or none if one is live (accepted, idempotent)."""
    if _sent_before(event, tenant):
        return event["id"]
    ticket = Ticket.objects.get(pk=event["data"]["ticketId"], organization=organization)
    try:
        started = services.ticket_work_from_event(ticket=ticket, event_id=event.get("id"))
    except Conflict as exc:
        raise Conflict(f"event {index}: {exc.message}") from None
    return started or event.get("id") or uuid.uuid4().hex


def _close(index: int, event: dict, organization: Organization, key_name: str, tenant: str) -> str:
    """`ticket.closed`: the ticket is closed as from any other door (its questions leave every
    inbox, its runs stop), recorded as closed through the key. Closed already: accepted."""
    if _sent_before(event, tenant):
        return event["id"]
    event_id = event.get("id") or uuid.uuid4().hex
    ticket = Ticket.objects.get(pk=event["data"]["ticketId"], organization=organization)
    with contextlib.suppress(Conflict):  # closed already: closing twice changes nothing
        services.ticket_close(ticket=ticket, actor=key_name, channel=Channel.EVENT,
                              event_id=event_id)  # fmt: skip
    return event_id


def _answer(index: int, event: dict, organization: Organization, key_name: str, tenant: str) -> str:
    data = event["data"]
    event_id = event.get("id") or ""
    if _sent_before(event, tenant):
        return event_id  # sent before: accepted and ignored
    try:
        question = selectors.question_get(data.get("questionId"), organization=organization)
    except NotFound:
        raise InvalidField(
            f"event {index}: data.questionId: no question {data.get('questionId')!r:.60} in this "
            "organization",
            loc=(index, "data", "questionId"),
        ) from None
    if question.ticket_id != data["ticketId"]:
        raise InvalidField(
            f"event {index}: data.ticketId: question {question.pk} is about ticket "
            f"{question.ticket_id}, not {data['ticketId']}",
            loc=(index, "data", "ticketId"),
        )
    answered_by = data.get("answeredBy") or key_name
    event_id = event_id or services.response_event_id(question)
    try:
        services.question_answer(
            question=question, answered_by=answered_by if isinstance(answered_by, str) else "",
            answer=data.get("answer"), channel=Channel.EVENT, key_name=key_name, event_id=event_id,
        )  # fmt: skip
    except DeskError as exc:
        if exc.code != "invalid":
            raise
        raise InvalidField(f"event {index}: data: {exc.message}", loc=(index, "data")) from None
    return event_id


def _decide(index: int, event: dict, organization: Organization, key_name: str, tenant: str) -> str:
    """`tool-decision`: `{questionId, decision, arguments?, message?}` decides an approval as from
    any other door, recorded as decided through the key."""
    if _sent_before(event, tenant):
        return event["id"]
    data = event["data"]
    try:
        approval = selectors.question_get(data.get("questionId"), organization=organization)
    except NotFound:
        raise InvalidField(
            f"event {index}: data.questionId: no approval {data.get('questionId')!r:.60} in "
            "this organization", loc=(index, "data", "questionId"),
        ) from None  # fmt: skip
    event_id = event.get("id") or services.response_event_id(approval)
    decided_by = data.get("decidedBy") or key_name
    try:
        services.approval_decide(
            approval=approval, decision=data.get("decision"), arguments=data.get("arguments"),
            message=data.get("message") or "", channel=Channel.EVENT, key_name=key_name,
            decided_by=decided_by if isinstance(decided_by, str) else key_name,
            event_id=event_id,
        )  # fmt: skip
    except InvalidField as exc:
        where = (index, "data", *exc.loc)
        raise InvalidField(f"event {index}: data.{exc.message}", loc=where) from None
    except InvalidFields as exc:
        problems = [((index, "data", *loc), msg) for loc, msg in exc.problems]
        raise InvalidFields(problems) from None
    return event_id


DESK_HANDLED = {
    services.TICKET_CREATED: _work,
    services.TICKET_CLOSED: _close,
    services.DEVELOPER_RESPONSE: _answer,
    services.TOOL_DECISION: _decide,
}
