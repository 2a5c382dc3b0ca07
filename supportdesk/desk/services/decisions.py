"""Writes of approvals: a proposed tool call opened for a reviewer, and the one decision on it —
approve, edit (the arguments validated against the tool's schema, types kept), reject with a
reason, respond with guidance — from any channel, exactly once, recorded with who, when, how."""

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from pydantic import ValidationError

from agents.approvals import ApprovalRequest
from supportdesk import durable
from supportdesk.desk import observers
from supportdesk.desk.errors import Conflict, InvalidField, InvalidFields
from supportdesk.desk.models import (
    Channel,
    Decision,
    Question,
    QuestionStatus,
    RequestKind,
    TicketStatus,
    with_schema_order,
)
from supportdesk.desk.services.base import TOOL_DECISION, clean_text, organization_tenant
from supportdesk.desk.services.questions import (
    question_closed_message,
    response_event_id,
    ticket_back_to_work,
)
from supportdesk.desk.services.requests import request_route
from supportdesk.desk.services.status import lock_tickets, ticket_set_status


def approval_open(
    *, question_id, ticket_id: int, run_id, request: ApprovalRequest, expires_at: datetime
) -> Question:
    """Called by the network's approver inside the transaction that registers its wait."""
    approval = Question.objects.create(
        id=question_id, ticket_id=ticket_id, run_id=run_id, agent=request.agent,
        kind=RequestKind.APPROVAL, tool=request.tool, call_id=request.call_id[:200],
        arguments=request.arguments, tool_schema=with_schema_order(request.json_schema),
        question=f"{request.agent} wants to call {request.tool}", expires_at=expires_at,
    )  # fmt: skip
    observers.announce(observers.QUESTION_OPENED, approval.pk)  # first: see question_open
    request_route(approval)
    ticket_set_status(ticket_id, TicketStatus.WAITING,
                      f"{request.agent} asks a reviewer to approve {request.tool}")  # fmt: skip
    return approval


def tool_arguments_validated(tool_name: str, arguments: Any) -> dict:
    """Edited arguments as the tool's schema wants them, or InvalidFields naming each problem:
    a wrong type (strictly: "5" is no number), a missing required field, an unknown field."""
    from supportdesk.desk.tools import TOOLS

    if not isinstance(arguments, dict):
        raise InvalidField("arguments must be an object of the tool's fields", loc=("arguments",))
    tool = TOOLS.get(tool_name)
    if tool is None:
        return arguments  # a tool this server doesn't know: nothing to check against
    model = tool.parameters
    problems = [(("arguments", name), "unknown field: this tool takes "
                 + ", ".join(model.model_fields)) for name in arguments
                if name not in model.model_fields]  # fmt: skip
    try:
        validated = model.model_validate(arguments, strict=True)
    except ValidationError as exc:
        problems += [(("arguments", *error["loc"]), error["msg"]) for error in exc.errors()]
    if problems:
        raise InvalidFields(problems)
    return validated.model_dump(mode="json")


def approval_decide(
    *,
    approval: Question,
    decision: str,
    decided_by: str,
    arguments: Any = None,
    message: str = "",
    user: User | None = None,
    channel: str = Channel.WEB,
    key_name: str = "",
    event_id: str = "",
) -> Question:
    """Decide a pending approval once, whatever the channel: the run resumes with the decision.
    A second decision (or one on an expired approval) is refused with who decided what, when."""
    if approval.kind != RequestKind.APPROVAL:
        raise Conflict("this is a question, not a proposed tool call: answer it instead")
    if decision not in Decision.values:
        raise InvalidField(f"decision must be one of {', '.join(Decision.values)}, not "
                           f"{decision!r:.40}", loc=("decision",))  # fmt: skip
    if decision == Decision.APPROVE and arguments:
        raise InvalidField("approve runs the call as proposed and takes no arguments; to change "
                           "them, decide edit", loc=("arguments",))  # fmt: skip
    if decision == Decision.EDIT:
        arguments = tool_arguments_validated(approval.tool, arguments)
    elif decision != Decision.APPROVE and arguments:
        raise InvalidField(f"{decision} takes a message, not arguments", loc=("arguments",))
    what = {Decision.REJECT: "a reason", Decision.RESPOND: "guidance"}.get(decision)
    message = clean_text(message, field=what or "message", required=what is not None)
    decided_by = clean_text(decided_by, field="decided by", required=True, limit=200)
    now = timezone.now()
    with transaction.atomic():
        lock_tickets(approval.ticket_id)
        won = Question.objects.filter(
            pk=approval.pk, status=QuestionStatus.PENDING, expires_at__gt=now
        ).update(status=QuestionStatus.ANSWERED, decision=decision,
                 decided_arguments=arguments if decision == Decision.EDIT else None,
                 decision_message=message, answer=Decision(decision).label, answered_at=now,
                 closed_at=now, answered_by=decided_by, answered_by_user=user, answered_via=channel,
                 answered_key=key_name[:250])  # fmt: skip
        approval.refresh_from_db()
        if not won:
            raise Conflict(question_closed_message(approval))
        durable.send_events(
            {
                "name": TOOL_DECISION,
                "id": event_id or response_event_id(approval),
                "data": {
                    "ticketId": approval.ticket_id, "questionId": str(approval.pk),
                    "decision": decision, "arguments": approval.decided_arguments,
                    "message": message, "decidedBy": decided_by, "timestamp": now.isoformat(),
                },
            },
            tenant=organization_tenant(approval.ticket.organization_id),
        )  # fmt: skip
        observers.announce(observers.QUESTION_CHANGED, approval.pk)
        ticket_back_to_work(approval.ticket_id, f"{decided_by} {Decision(decision).label} "
                            f"{approval.agent}'s call of {approval.tool}")  # fmt: skip
    return approval

