"""Writes of the desk: tickets and their life, replies, questions and their answers.

Keyword-only and typed; views, API endpoints, tools, tasks and commands call these and nothing
else. The modules behind this package are its rooms: `tickets` (a ticket's life), `questions`
(the agents' questions), `status` (the one writer of a ticket's status), `base` (shared rules).
"""

from supportdesk.desk.services.base import (
    DEVELOPER_RESPONSE,
    MAX_TEXT,
    TICKET_CLOSED,
    TICKET_CREATED,
    TOOL_DECISION,
    clean_text,
    hash_text,
    organization_tenant,
    user_display_name,
)
from supportdesk.desk.services.decisions import (
    approval_decide,
    approval_open,
    tool_arguments_validated,
)
from supportdesk.desk.services.questions import (
    question_answer,
    question_claim,
    question_closed_message,
    question_expire,
    question_open,
    question_release,
    questions_cancel,
    questions_cancel_for_run,
    response_event_id,
    ticket_back_to_work,
)
from supportdesk.desk.services.status import ticket_set_status
from supportdesk.desk.services.tickets import (
    one_line,
    ticket_admit,
    ticket_close,
    ticket_conversation,
    ticket_create,
    ticket_has_live_run,
    ticket_manual_reply,
    ticket_message,
    ticket_reopen,
    ticket_reply,
    ticket_retry,
    ticket_run_cancelled,
    ticket_run_claim,
    ticket_run_completed,
    ticket_run_failed,
    ticket_work_from_event,
)

__all__ = [
    "DEVELOPER_RESPONSE",
    "MAX_TEXT",
    "TICKET_CLOSED",
    "TICKET_CREATED",
    "TOOL_DECISION",
    "approval_decide",
    "approval_open",
    "clean_text",
    "hash_text",
    "one_line",
    "organization_tenant",
    "question_answer",
    "question_claim",
    "question_closed_message",
    "question_expire",
    "question_open",
    "question_release",
    "questions_cancel",
    "questions_cancel_for_run",
    "response_event_id",
    "ticket_admit",
    "ticket_back_to_work",
    "ticket_close",
    "ticket_conversation",
    "ticket_create",
    "ticket_has_live_run",
    "ticket_manual_reply",
    "ticket_message",
    "ticket_reopen",
    "ticket_reply",
    "ticket_retry",
    "ticket_run_cancelled",
    "ticket_run_claim",
    "ticket_run_completed",
    "ticket_run_failed",
    "ticket_set_status",
    "ticket_work_from_event",
    "tool_arguments_validated",
    "user_display_name",
]
