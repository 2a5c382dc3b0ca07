"""What the API reads and writes, as ninja schemas: they validate requests (422 with the field's
location) and document every response in /api/openapi.json."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from ninja import Schema
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

from supportdesk.desk.models import Decision, Priority, QuestionStatus, RequestKind, TicketStatus
from supportdesk.durable.models import Run, RunStatus
from supportdesk.durable.timeline import TimelineEntry, run_timeline

MAX_TS = 2**63 - 1  # the largest timestamp the database stores (a 64-bit integer)


class Message(Schema):
    detail: str = Field(description="What went wrong, for people.")


class FieldError(Schema):
    loc: list[str | int] = Field(description='Where: e.g. ["body", "payload", "title"].')
    msg: str
    type: str


class ValidationErrors(Schema):
    detail: list[FieldError]


def errors(*statuses: int) -> dict[int, type[Schema]]:
    """Response documentation for these error statuses, and 429: every key and organization has
    a request budget (api/limits.py)."""
    return {status: ValidationErrors if status == 422 else Message for status in (*statuses, 429)}


class Page(Schema):
    count: int = Field(description="How many match the filters, on all pages.")
    limit: int
    offset: int


class Pagination(Schema):
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000_000)


class BodyIn(BaseModel):
    """A request body: a plain pydantic model, not a ninja Schema. A Schema reads any object's
    attributes (and calls them), so the JSON string "AAA" would be a ticket titled "Aaa"."""

    model_config = ConfigDict(extra="ignore")


# --- Events -------------------------------------------------------------------------------------
class EventIn(BodyIn):
    """An event in Inngest's shape; an id seen before is accepted and ignored."""

    name: str = Field(min_length=1, max_length=255, examples=["app/support.ticket.created"])
    data: dict[str, Any] = Field(default_factory=dict, examples=[{"ticketId": 1}])
    id: str | None = Field(None, max_length=255, description="The deduplication key.")
    ts: int | None = Field(None, ge=0, le=MAX_TS, description="Epoch milliseconds.")

    @field_validator("name")
    @classmethod
    def name_has_no_spaces_at_ends(cls, name: str) -> str:
        if name != name.strip():
            raise ValueError("must not start or end with white space")
        return name

    @field_validator("data", mode="before")
    @classmethod
    def null_data_is_empty(cls, data: Any) -> Any:
        return {} if data is None else data  # Inngest's SDKs send `"data": null` for no data


def _one_or_many(payload: Any) -> str:
    return "events" if isinstance(payload, list) else "event"


# One event or a list. Only the branch the payload's shape picks is validated, so an error names
# the field it is about: ["body", "payload", "event", "name"] or ["body", "payload", "events", 3,
# "ts"], not both readings of the union.
EventOrEvents = Annotated[
    Annotated[EventIn, Tag("event")] | Annotated[list[EventIn], Tag("events")],
    Discriminator(_one_or_many),
]


class EventIds(Schema):
    ids: list[str] = Field(description="The events' ids, in order; generated where none was sent.")


# --- Tickets ------------------------------------------------------------------------------------
class TicketIn(BodyIn):
    title: str = Field(min_length=1, max_length=300)
    body: str = Field("", max_length=20_000)
    priority: Priority = Priority.MEDIUM
    customer: str = Field("", max_length=200)


class TicketFilters(Pagination):
    status: TicketStatus | None = None
    priority: Priority | None = None


class RunSummary(Schema):
    id: uuid.UUID
    function_id: str
    status: RunStatus
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    error: str


class ReplyOut(Schema):
    id: int
    agent: str
    body: str
    run_id: uuid.UUID | None
    created_at: datetime


class QuestionOut(Schema):
    id: uuid.UUID
    kind: RequestKind = Field(description="question (answer it) or approval (decide on a call)")
    ticket_id: int
    run_id: uuid.UUID
    agent: str
    question: str
    context: str
    status: QuestionStatus
    answer: str
    answered_by: str
    answered_at: datetime | None
    answered_via: str = Field(description="web, api, cli, event, slack or email; blank if not.")
    answered_key: str = Field(description="The API or event key an answer came through.")
    tool: str = Field(description="An approval's tool.")
    arguments: dict[str, Any] | None = Field(description="An approval's proposed arguments.")
    tool_schema: dict[str, Any] | None = Field(
        description="An approval's tool's JSON schema: what an edit's arguments must satisfy."
    )
    decision: str = Field(description="approve, edit, reject or respond; blank until decided.")
    decided_arguments: dict[str, Any] | None = Field(description="The arguments of an edit.")
    decision_message: str = Field(description="A rejection's reason or a response's guidance.")
    created_at: datetime
    expires_at: datetime
    group_id: int | None = Field(description="The incident (question group) it belongs to.")
    answered_with_group: bool = Field(description="Answered by its group's answer.")


class QuestionGroupOut(Schema):
    id: int
    title: str = Field(description="Its first question, in short.")
    created_at: datetime
    pending: int = Field(description="How many of its questions wait for an answer.")
    total: int = Field(description="How many questions it holds, in all.")
    ticket_ids: list[int] = Field(description="The tickets of its pending questions.")
    answer: str = Field(description="Its latest answer; questions joining later are offered it.")
    answered_by: str
    answered_at: datetime | None

    @staticmethod
    def resolve_ticket_ids(group) -> list[int]:
        return [question.ticket_id for question in group.pending_questions]


class QuestionGroupPage(Page):
    items: list[QuestionGroupOut]


class QuestionGroupFilters(Pagination):
    pending: bool = Field(True, description="Only groups with questions waiting (the default).")


class GroupAnswerOut(Schema):
    group: QuestionGroupOut
    answered: list[uuid.UUID] = Field(description="The questions this answer answered.")
    skipped: list[dict[str, str]] = Field(
        description="Questions of the group not answered, with why (answered, expired or "
        "cancelled meanwhile): {question_id, reason}."
    )


class TicketOut(Schema):
    id: int
    title: str
    body: str
    priority: Priority
    status: TicketStatus = Field(description="open, in_progress, waiting (on a human), replied, "
                                 "resolved, needs_attention or closed")  # fmt: skip
    status_reason: str = Field(description="Why, in words: e.g. 'the run failed: ...'.")
    customer: str
    resolution: str
    live_run_id: uuid.UUID | None = Field(description="The run working the ticket now, if any.")
    created_at: datetime
    updated_at: datetime


class TicketListItem(TicketOut):
    open_questions: int = Field(description="Questions waiting for a reviewer's answer.")


class TicketPage(Page):
    items: list[TicketListItem]


class MessageOut(Schema):
    id: int
    body: str
    entered_by: str
    created_at: datetime
    run_id: uuid.UUID | None = Field(description="The run that read it; none yet: the next will.")


class ActivityOut(Schema):
    at: datetime
    actor: str
    action: str
    detail: str


class TicketDetail(TicketOut):
    replies: list[ReplyOut]
    questions: list[QuestionOut] = Field(
        description="Its questions, newest first: the first 50; all at /tickets/{id}/questions."
    )
    questions_count: int = Field(description="How many questions it has in all.")
    runs: list[RunSummary] = Field(
        description="The runs the ticket had, oldest first: the first 50; all at "
        "/tickets/{id}/runs."
    )
    runs_count: int = Field(description="How many runs it had in all.")
    messages: list[MessageOut] = Field(
        description="The customer's follow-ups, oldest first: the first 50; all at "
        "/tickets/{id}/messages."
    )
    messages_count: int = Field(description="How many follow-ups in all.")

    # The bounded lists (api.selectors.ticket_detail), under the names the API has always used.
    @staticmethod
    def resolve_questions(ticket) -> list:
        return ticket.first_questions

    @staticmethod
    def resolve_runs(ticket) -> list:
        return ticket.first_runs

    @staticmethod
    def resolve_messages(ticket) -> list:
        return ticket.first_messages
    activity: list[ActivityOut] = Field(description="What people did: closed, reopened, ...")


class MessageIn(BodyIn):
    body: str = Field(min_length=1, max_length=20_000, description="What the customer wrote.")
    entered_by: str = Field("", max_length=200, description="Who entered it (default: the key).")


class ActorIn(BodyIn):
    actor: str = Field("", max_length=200, description="Who acts (default: the key's name).")


# --- Questions ----------------------------------------------------------------------------------
class QuestionFilters(Pagination):
    status: QuestionStatus | None = None
    kind: RequestKind | None = Field(None, description="question or approval")


class DecisionIn(BodyIn):
    decision: Decision = Field(description="approve, edit, reject or respond")
    arguments: dict[str, Any] | None = Field(
        None, description="edit only: the call's arguments as they should run, valid for the "
        "tool's schema (types kept: a number stays a number)",
    )  # fmt: skip
    message: str = Field("", max_length=20_000,
                         description="reject: the reason; respond: the guidance")  # fmt: skip
    decided_by: str = Field("", max_length=200, description="Who decides (default: the key).")


class QuestionPage(Page):
    items: list[QuestionOut]


class RunSummaryPage(Page):
    items: list[RunSummary]


class MessagePage(Page):
    items: list[MessageOut]


class AnswerIn(BodyIn):
    answer: str = Field(min_length=1, max_length=20_000)
    answered_by: str = Field(min_length=1, max_length=200, description="Who answers.")


# --- Runs ---------------------------------------------------------------------------------------
class ToolUseOut(Schema):
    name: str
    input: Any


class StepOut(Schema):
    position: int
    key: str
    kind: str = Field(description="run, infer, route, tool, wait, sleep or send.")
    actor: str = Field(description="Who acted: the agent or router of an infer/route/tool step.")
    tool_name: str = Field(description="The tool of a tool step.")
    status: str
    attempts: int
    duration_ms: float | None
    error: str
    text: str = Field(description="A model call's text.")
    label: str = Field(description="A model call's label, e.g. (offline demo model).")
    tool_uses: list[ToolUseOut] = Field(description="The tools a model call asked for.")
    input_tokens: int | None
    output_tokens: int | None
    result: Any = Field(description="A tool's or a plain step's result.")
    is_error: bool
    resolution: str = Field(description="What resolved a wait.")


class TransitionOut(Schema):
    status: RunStatus
    at: datetime
    reason: str


class RunDetail(RunSummary):
    event_name: str
    event_id: str
    output: Any
    steps: list[StepOut]
    transitions: list[TransitionOut]

    @staticmethod
    def resolve_event_name(run: Run) -> str:
        return run.event.name

    @staticmethod
    def resolve_event_id(run: Run) -> str:
        return run.event.event_id

    @staticmethod
    def resolve_steps(run: Run) -> list[TimelineEntry]:
        return run_timeline(run)

    @staticmethod
    def resolve_transitions(run: Run):
        return run.transitions.all()
