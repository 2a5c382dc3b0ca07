"""The REST API at /api/ (django-ninja): tickets, questions, runs and events of the organization
whose API key calls it (`Authorization: Bearer <key>`).

Endpoints are thin: ninja validates the request (422 with each field's location), desk and durable
services do the work, and the handlers below turn each error type into one HTTP answer.
"""

import uuid
from functools import wraps

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Body, NinjaAPI, Query, Status, Swagger
from ninja.errors import AuthenticationError, HttpError
from ninja.parser import Parser
from ninja.security import HttpBearer

from supportdesk.api import body, limits, selectors, services
from supportdesk.api.errors import RequestRefused
from supportdesk.api.models import ApiKey
from supportdesk.api.schemas import (
    ActorIn,
    AnswerIn,
    DecisionIn,
    EventIds,
    EventOrEvents,
    GroupAnswerOut,
    MessageIn,
    MessagePage,
    Pagination,
    QuestionFilters,
    QuestionGroupFilters,
    QuestionGroupPage,
    QuestionOut,
    QuestionPage,
    RunDetail,
    RunSummaryPage,
    TicketDetail,
    TicketFilters,
    TicketIn,
    TicketPage,
    errors,
)
from supportdesk.desk import selectors as desk_selectors
from supportdesk.desk import services as desk_services
from supportdesk.desk.errors import Conflict, DeskError, InvalidField, InvalidFields
from supportdesk.desk.models import Channel, Organization
from supportdesk.durable import services as durable_services
from supportdesk.durable.models import Run


class ApiKeyAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        key = services.key_authenticate(kind=ApiKey.KIND, plaintext=token)
        if key is not None:
            limits.charge_request(key)  # 429 past the key's or the organization's budget
        return key


class StrictJsonParser(Parser):
    def parse_body(self, request: HttpRequest):
        return body.parse_json(request.body)


api = NinjaAPI(
    title="supportdesk API",
    version="1",
    description=(
        "Tickets, the agents' questions, durable runs and events of one organization: the one "
        "whose API key is sent as `Authorization: Bearer <key>`. Another organization's ids "
        "answer 404. Request bodies: at most 1 MiB, and 256 KiB per event."
    ),
    auth=ApiKeyAuth(),
    parser=StrictJsonParser(),
    urls_namespace="api",
    # No swagger.io validator badge: the docs page talks to this server only.
    docs=Swagger(settings={"validatorUrl": None}),
)


def reply(request: HttpRequest, status: int, detail: str) -> HttpResponse:
    return api.create_response(request, {"detail": detail}, status=status)


def refuse_oversized_bodies(run):
    """Before authentication and parsing: a body over the limit is refused unread by any view."""

    @wraps(run)
    def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            body.request_body(request)
        except RequestRefused as exc:
            return reply(request, exc.status, exc.message)
        return run(request, *args, **kwargs)

    return checked


api.add_decorator(refuse_oversized_bodies, mode="view")


@api.exception_handler(DeskError)
def desk_error(request: HttpRequest, exc: DeskError) -> HttpResponse:
    if isinstance(exc, InvalidField):  # as ninja's own 422s: where, and what is wrong
        detail = [{"loc": ["body", *exc.loc], "msg": exc.message, "type": "value_error"}]
        return api.create_response(request, {"detail": detail}, status=422)
    if isinstance(exc, InvalidFields):
        detail = [{"loc": ["body", *loc], "msg": msg, "type": "value_error"}
                  for loc, msg in exc.problems]  # fmt: skip
        return api.create_response(request, {"detail": detail}, status=422)
    status = {"not_found": 404, "conflict": 409}.get(exc.code, 400)
    return reply(request, status, exc.message)


@api.exception_handler(RequestRefused)
def request_refused(request: HttpRequest, exc: RequestRefused) -> HttpResponse:
    response = reply(request, exc.status, exc.message)
    for header, value in exc.headers.items():
        response[header] = value
    return response


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = reply(
        request, 401, "a valid API key is required: send `Authorization: Bearer <key>` "
        "(the key was missing, unknown or revoked)",
    )  # fmt: skip
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja wraps whatever the parser raises in "400 Cannot parse request body"; say what it was.
    if isinstance(exc.__cause__, RequestRefused):
        return request_refused(request, exc.__cause__)
    return reply(request, exc.status_code, exc.message)


def organization_of(request: HttpRequest) -> Organization:
    return request.auth.organization


def page_of(queryset: QuerySet, pagination: Pagination) -> dict:
    start, end = pagination.offset, pagination.offset + pagination.limit
    return {"count": queryset.count(), "limit": pagination.limit, "offset": pagination.offset,
            "items": list(queryset[start:end])}  # fmt: skip


# --- Tickets ------------------------------------------------------------------------------------
@api.post("/tickets", response={201: TicketDetail, **errors(400, 401, 413, 422)}, tags=["tickets"])
def ticket_create(request: HttpRequest, payload: TicketIn):
    """Create a ticket: its support workflow starts at once (`app/support.ticket.created`)."""
    organization = organization_of(request)
    limits.charge_events(organization.pk, 1)  # a ticket starts a run, as an event does
    ticket = desk_services.ticket_create(
        organization=organization, title=payload.title, body=payload.body,
        priority=payload.priority, customer=payload.customer,
    )  # fmt: skip
    return Status(201, selectors.ticket_detail(ticket.pk, organization=organization))


@api.get("/tickets", response={200: TicketPage, **errors(401, 422)}, tags=["tickets"])
def ticket_list(request: HttpRequest, filters: Query[TicketFilters]):
    """Tickets, newest first, with how many questions wait for an answer."""
    tickets = desk_selectors.tickets_for(
        organization=organization_of(request),
        status=filters.status or "",
        priority=filters.priority or "",
    ).order_by("-created_at", "-pk")
    return page_of(tickets, filters)


@api.get("/tickets/{ticket_id}", response={200: TicketDetail, **errors(401, 404, 422)},
         tags=["tickets"])  # fmt: skip
def ticket_detail(request: HttpRequest, ticket_id: int):
    """A ticket with the replies sent, the agents' questions and its runs."""
    return selectors.ticket_detail(ticket_id, organization=organization_of(request))


@api.get("/tickets/{ticket_id}/questions", response={200: QuestionPage, **errors(401, 404, 422)},
         tags=["tickets"])  # fmt: skip
def ticket_question_list(request: HttpRequest, ticket_id: int, page: Query[Pagination]):
    """All of a ticket's questions, newest first, a page at a time."""
    ticket = desk_selectors.ticket_get(ticket_id, organization=organization_of(request))
    return page_of(selectors.ticket_questions(ticket), page)


@api.get("/tickets/{ticket_id}/runs", response={200: RunSummaryPage, **errors(401, 404, 422)},
         tags=["tickets"])  # fmt: skip
def ticket_run_list(request: HttpRequest, ticket_id: int, page: Query[Pagination]):
    """All of a ticket's runs, oldest first, a page at a time."""
    ticket = desk_selectors.ticket_get(ticket_id, organization=organization_of(request))
    return page_of(selectors.ticket_runs(ticket), page)


@api.get("/tickets/{ticket_id}/messages", response={200: MessagePage, **errors(401, 404, 422)},
         tags=["tickets"])  # fmt: skip
def ticket_message_list(request: HttpRequest, ticket_id: int, page: Query[Pagination]):
    """All of a ticket's follow-up messages, oldest first, a page at a time."""
    ticket = desk_selectors.ticket_get(ticket_id, organization=organization_of(request))
    return page_of(selectors.ticket_messages(ticket), page)


def _actor(request: HttpRequest, given: str) -> str:
    return given.strip() or str(request.auth)


@api.post("/tickets/{ticket_id}/messages",
          response={201: TicketDetail, **errors(400, 401, 404, 409, 413, 422)},
          tags=["tickets"])  # fmt: skip
def ticket_message(request: HttpRequest, ticket_id: int, payload: MessageIn):
    """The customer wrote again: the conversation continues. With no run working the ticket, a
    new run starts and reads everything so far; with one, the message waits for it to end."""
    organization = organization_of(request)
    limits.charge_events(organization.pk, 1)
    ticket = desk_selectors.ticket_get(ticket_id, organization=organization)
    desk_services.ticket_message(ticket=ticket, body=payload.body, channel=Channel.API,
                                 entered_by=_actor(request, payload.entered_by))  # fmt: skip
    return Status(201, selectors.ticket_detail(ticket.pk, organization=organization))


def _ticket_action(request: HttpRequest, ticket_id: int, payload: ActorIn | None, action):
    organization = organization_of(request)
    ticket = desk_selectors.ticket_get(ticket_id, organization=organization)
    actor = _actor(request, payload.actor if payload is not None else "")
    action(ticket=ticket, channel=Channel.API, actor=actor)
    return selectors.ticket_detail(ticket.pk, organization=organization)


@api.post("/tickets/{ticket_id}/close",
          response={200: TicketDetail, **errors(400, 401, 404, 409, 413, 422)},
          tags=["tickets"])  # fmt: skip
def ticket_close(request: HttpRequest, ticket_id: int, payload: ActorIn | None = None):
    """Close a ticket: its runs stop and its open questions leave every inbox."""
    return _ticket_action(request, ticket_id, payload, desk_services.ticket_close)


@api.post("/tickets/{ticket_id}/reopen",
          response={200: TicketDetail, **errors(400, 401, 404, 409, 413, 422)},
          tags=["tickets"])  # fmt: skip
def ticket_reopen(request: HttpRequest, ticket_id: int, payload: ActorIn | None = None):
    """Work an ended ticket (resolved, needs attention, closed) again: a new run reads the whole
    conversation so far."""
    return _ticket_action(request, ticket_id, payload, desk_services.ticket_reopen)


@api.post("/tickets/{ticket_id}/retry",
          response={200: TicketDetail, **errors(400, 401, 404, 409, 413, 422)},
          tags=["tickets"])  # fmt: skip
def ticket_retry(request: HttpRequest, ticket_id: int, payload: ActorIn | None = None):
    """Retry the ticket's failed run from its failed step; completed steps are not repeated."""
    return _ticket_action(request, ticket_id, payload, desk_services.ticket_retry)


# --- Questions ----------------------------------------------------------------------------------
@api.get("/questions", response={200: QuestionPage, **errors(401, 422)}, tags=["questions"])
def question_list(request: HttpRequest, filters: Query[QuestionFilters]):
    """What the agents wait on, newest first: questions (answer them) and approvals of tool calls
    (decide them); `status=pending` for those waiting, `kind=approval` for the approvals."""
    questions = selectors.questions_for(
        organization=organization_of(request), status=filters.status or "", kind=filters.kind or ""
    )
    return page_of(questions, filters)


@api.get("/questions/{question_id}", response={200: QuestionOut, **errors(401, 404, 422)},
         tags=["questions"])  # fmt: skip
def question_detail(request: HttpRequest, question_id: uuid.UUID):
    return desk_selectors.question_get(question_id, organization=organization_of(request))


@api.post("/questions/{question_id}/answer",
          response={200: QuestionOut, **errors(400, 401, 404, 409, 413, 422)},
          tags=["questions"])  # fmt: skip
def question_answer(request: HttpRequest, question_id: uuid.UUID, payload: AnswerIn):
    """Answer a pending question once: its run resumes. A second answer, or one after the
    question expired, is refused with 409 and says who answered and when."""
    question = desk_selectors.question_get(question_id, organization=organization_of(request))
    return desk_services.question_answer(
        question=question, answered_by=payload.answered_by, answer=payload.answer,
        channel=Channel.API, key_name=str(request.auth),
    )  # fmt: skip


@api.post("/questions/{question_id}/decision",
          response={200: QuestionOut, **errors(400, 401, 404, 409, 413, 422)},
          tags=["questions"])  # fmt: skip
def question_decide(request: HttpRequest, question_id: uuid.UUID, payload: DecisionIn):
    """Decide a proposed tool call once: approve (it runs as proposed), edit (it runs with your
    arguments, validated against the tool's schema), reject (it doesn't run; the model reads your
    reason) or respond (it doesn't run; the model reads your guidance). A second decision, or one
    after the approval expired, is a 409 saying who decided what; a free-text question is a 409."""
    question = desk_selectors.question_get(question_id, organization=organization_of(request))
    return desk_services.approval_decide(
        approval=question, decision=payload.decision, arguments=payload.arguments,
        message=payload.message, decided_by=_actor(request, payload.decided_by),
        channel=Channel.API, key_name=str(request.auth),
    )  # fmt: skip


# --- Question groups (incidents) ----------------------------------------------------------------
@api.get("/question-groups", response={200: QuestionGroupPage, **errors(401, 422)},
         tags=["questions"])  # fmt: skip
def question_group_list(request: HttpRequest, filters: Query[QuestionGroupFilters]):
    """Incidents: similar questions grouped as they opened, newest first; by default those with
    questions still waiting. One answer to a group answers all of them."""
    groups = desk_selectors.question_groups_for(organization=organization_of(request),
                                                pending_only=filters.pending)  # fmt: skip
    return page_of(groups, filters)


@api.post("/question-groups/{group_id}/answer",
          response={200: GroupAnswerOut, **errors(400, 401, 404, 409, 413, 422)},
          tags=["questions"])  # fmt: skip
def question_group_answer(request: HttpRequest, group_id: int, payload: AnswerIn):
    """Answer every waiting question of the group at once: each run resumes with this answer,
    exactly once. Questions answered, expired or cancelled meanwhile are listed in `skipped`;
    a group with none waiting is a 409."""
    group = desk_selectors.question_group_get(group_id, organization=organization_of(request))
    result = desk_services.group_answer(
        group=group, answer=payload.answer, answered_by=payload.answered_by,
        channel=Channel.API, key_name=str(request.auth),
    )  # fmt: skip
    return {
        "group": desk_selectors.question_group_get(group_id, organization=organization_of(request)),
        "answered": [question.pk for question in result.answered],
        "skipped": [{"question_id": str(question.pk), "reason": reason}
                    for question, reason in result.skipped],
    }  # fmt: skip


# --- Runs ---------------------------------------------------------------------------------------
@api.get("/runs/{run_id}", response={200: RunDetail, **errors(401, 404, 422)}, tags=["runs"])
def run_detail(request: HttpRequest, run_id: uuid.UUID):
    """A durable run: its status, its steps (model calls, tool calls, waits) and transitions."""
    return selectors.run_get(run_id, organization=organization_of(request))


@api.post("/runs/{run_id}/cancel", response={200: RunDetail, **errors(401, 404, 409, 422)},
          tags=["runs"])  # fmt: skip
def run_cancel(request: HttpRequest, run_id: uuid.UUID):
    """Cancel a run that has not ended; it stops at its next step boundary."""
    run = selectors.run_get(run_id, organization=organization_of(request))
    reason = f"cancelled through the API by {request.auth}"
    if not durable_services.run_cancel(run.pk, reason=reason):
        raise Conflict(f"run {run.pk} has already ended ({_status_now(run)}): nothing to cancel")
    return selectors.run_get(run.pk, organization=organization_of(request))


@api.post("/runs/{run_id}/retry", response={200: RunDetail, **errors(401, 404, 409, 422)},
          tags=["runs"])  # fmt: skip
def run_retry(request: HttpRequest, run_id: uuid.UUID):
    """Run a failed run again from its failed step; completed steps are not repeated."""
    run = selectors.run_get(run_id, organization=organization_of(request))
    reason = f"retried through the API by {request.auth}"
    if not durable_services.run_retry(run.pk, reason=reason):
        raise Conflict(f"only a failed run can be retried; run {run.pk} is {_status_now(run)}")
    return selectors.run_get(run.pk, organization=organization_of(request))


def _status_now(run: Run) -> str:
    run.refresh_from_db(fields=["status"])
    return run.status


# --- Events -------------------------------------------------------------------------------------
@api.post("/events", response={200: EventIds, **errors(400, 401, 413, 422)}, tags=["events"])
def events_send(request: HttpRequest, payload: Body[EventOrEvents]):
    """Send one event or a batch; a batch is stored whole or not at all. Events start and resume
    only this organization's runs; an id seen before is accepted and ignored."""
    events = payload if isinstance(payload, list) else [payload]
    ids = services.organization_events_send(key=request.auth, events=events)
    return {"ids": ids}
