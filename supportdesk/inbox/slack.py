"""The Slack app, outgoing: each human request is posted to its team's channel (else the
organization's default) with its ticket, the question or the proposed call, and buttons; when the
request is answered anywhere — inbox, API, CLI, email, Slack — its message is updated to say by
whom. Modals (answer, edit from the tool's schema, reject with a reason) are built here too.

A subscriber of the desk: posting and updating run in Huey tasks after commit, and a failing Slack
is logged, never felt by a run. Incoming interactions are `slack_interactions.py`.
"""

import json
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from supportdesk.desk.models import Organization, Question, QuestionStatus, RequestKind
from supportdesk.desk.services import one_line
from supportdesk.inbox import argument_forms
from supportdesk.inbox.models import SlackMessage
from supportdesk.inbox.notifications import slack_escape
from supportdesk.inbox.templatetags.inbox_extras import readable_arguments

logger = logging.getLogger(__name__)

SLACK_TIMEOUT_SECONDS = 5
# Block Kit's limits: a section's text, an input's initial value, a modal's blocks.
SECTION_TEXT = 3000
INPUT_TEXT = 3000
MODAL_BLOCKS = 100
# Action ids of the message's buttons, and callback ids of the modals they open.
ANSWER, APPROVE, EDIT, REJECT = "answer", "approve", "edit", "reject"
ARGUMENT_VALUE = "value"  # the action id of every input of the edit modal


def web_client(organization: Organization, *, patient: bool = False) -> WebClient:
    """The official client with the organization's bot token, against SLACK_API_URL. A patient
    client (a Huey task's) waits out one rate limit; an interaction's must answer within 3 s."""
    return WebClient(
        token=organization.slack_bot_token,
        base_url=settings.SLACK_API_URL,
        timeout=SLACK_TIMEOUT_SECONDS,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)] if patient else [],
    )


def clipped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quoted(text: str, limit: int = SECTION_TEXT - 200) -> str:
    """Every line quoted and escaped: customer or model text can't step out of the quote, link
    or mention anyone."""
    text = clipped(text, limit)
    return "\n".join(f">{slack_escape(line)}" for line in text.splitlines() or [""])


def question_url(question: Question) -> str:
    return f"{settings.SITE_URL}/questions/{question.pk}/"


def request_channel(question: Question) -> str:
    """Its team's channel, else the organization's default (blank: not posted)."""
    if question.team_id and question.team.slack_channel:
        return question.team.slack_channel.strip()
    return question.ticket.organization.slack_channel.strip()


# --- the message -----------------------------------------------------------------------------


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clipped(text, SECTION_TEXT)}}


def request_message(question: Question) -> tuple[str, list[dict]]:
    """The message of a request: (fallback text, blocks). Open requests carry the buttons; a
    closed one says what became of it and by whom, through which channel."""
    ticket = question.ticket
    title = slack_escape(one_line(ticket.title))
    agent = slack_escape(one_line(question.agent or "An agent"))
    ticket_link = f"<{settings.SITE_URL}/tickets/{ticket.pk}/|#{ticket.pk} {clipped(title, 200)}>"
    if question.kind == RequestKind.APPROVAL:
        text = f"{agent} wants to call {question.tool} on ticket #{ticket.pk}: {title}"
        blocks = [
            _section(
                f"*{agent} wants to call `{slack_escape(question.tool)}`* — "
                f"ticket {ticket_link} ({ticket.priority})"
            )
        ]
        for label, value, _prose in readable_arguments(question.proposed_arguments or {}):
            blocks.append(_section(f"*{slack_escape(label)}*\n{quoted(value)}"))
    else:
        text = f"{agent} asks about ticket #{ticket.pk}: {title}"
        blocks = [
            _section(f"*{agent} asks* — ticket {ticket_link} ({ticket.priority})"),
            _section(quoted(question.question)),
        ]
        if question.context:
            blocks.append(
                {
                    "type": "context",
                    "elements": [
                        {
                            "type": "mrkdwn",
                            "text": clipped(
                                f"Context: {slack_escape(question.context)}", SECTION_TEXT
                            ),
                        }
                    ],
                }
            )
    blocks = blocks[:45]  # a message holds 50 blocks; the rest is one click away
    facts = [f"<{question_url(question)}|Open in supportdesk>"]
    if question.team_id:
        facts.insert(0, f"team {slack_escape(question.team.name)}")
    if question.status == QuestionStatus.PENDING:
        facts.insert(0, f"due {question.expires_at:%Y-%m-%d %H:%M} UTC")
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(facts)}]}
        )
        blocks.append({"type": "actions", "block_id": "request", "elements": _buttons(question)})
    else:
        outcome = request_outcome(question)
        text = f"{text} — {outcome}"
        blocks.append(_section(outcome_text(question)))
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(facts)}]}
        )
    return clipped(text, 3000), blocks


def _button(action: str, label: str, question: Question, style: str = "", **extra) -> dict:
    button = {
        "type": "button",
        "action_id": action,
        "value": str(question.pk),
        "text": {"type": "plain_text", "text": label},
        **extra,
    }
    if style:
        button["style"] = style
    return button


def _buttons(question: Question) -> list[dict]:
    if question.kind != RequestKind.APPROVAL:
        return [_button(ANSWER, "Answer", question, "primary")]
    confirm = {
        "title": {"type": "plain_text", "text": "Approve the call?"},
        "text": {
            "type": "plain_text",
            "text": clipped(f"{question.agent} calls {question.tool} exactly as proposed.", 300),
        },
        "confirm": {"type": "plain_text", "text": "Approve"},
        "deny": {"type": "plain_text", "text": "Cancel"},
    }
    return [
        _button(APPROVE, "Approve", question, "primary", confirm=confirm),
        _button(EDIT, "Edit", question),
        _button(REJECT, "Reject", question, "danger"),
    ]


def request_outcome(question: Question) -> str:
    """ "answered by Ann Lee (Slack) at 2026-11-25 13:32 UTC", in plain words."""
    if question.status == QuestionStatus.ANSWERED:
        what = question.get_decision_display() if question.decision else "answered"
        return (
            f"{what} by {question.answered_by} ({question.get_answered_via_display()}) at "
            f"{question.answered_at:%Y-%m-%d %H:%M} UTC"
        )
    if question.status == QuestionStatus.CANCELLED:
        return "cancelled: its ticket was closed or its run stopped"
    if question.kind == RequestKind.APPROVAL:
        return "nobody decided in time: the call did not run"
    return "nobody answered in time: the agent went on without an answer"


def outcome_text(question: Question) -> str:
    outcome = slack_escape(request_outcome(question))
    if question.status != QuestionStatus.ANSWERED:
        return f":hourglass: *{outcome[0].upper()}{outcome[1:]}*"
    lines = [f":white_check_mark: *{outcome[0].upper()}{outcome[1:]}*"]
    if question.decision_message:
        lines.append(quoted(question.decision_message, 1000))
    elif question.decided_arguments:
        for label, value, _prose in readable_arguments(question.edited_arguments):
            lines.append(f"_{slack_escape(label)}, as edited_\n{quoted(value, 1000)}")
    elif not question.decision:
        lines.append(quoted(question.answer, 2000))
    return "\n".join(lines)


# --- subscribers and task bodies -------------------------------------------------------------


def _slack_app_of(question_id) -> bool:
    return (
        Question.objects.filter(pk=question_id)
        .exclude(ticket__organization__slack_bot_token="")
        .exists()
    )


def request_opened(question_id) -> None:
    """A request opened (its transaction committed): have a worker post it, if the organization
    has the Slack app."""
    if not _slack_app_of(question_id):
        return
    from supportdesk.inbox.tasks import slack_post_task

    _enqueue(slack_post_task, question_id)


def request_changed(question_id) -> None:
    """A request changed: if it was posted and no longer waits, have a worker update its message."""
    if not SlackMessage.objects.filter(question_id=question_id, closed_at=None).exists():
        return
    if Question.objects.filter(pk=question_id, status=QuestionStatus.PENDING).exists():
        return
    from supportdesk.inbox.tasks import slack_update_task

    _enqueue(slack_update_task, question_id)


def _enqueue(task, question_id) -> None:
    def enqueue() -> None:
        try:
            task(str(question_id))
        except Exception:
            logger.warning("could not enqueue %s for question %s", task, question_id, exc_info=True)

    transaction.on_commit(enqueue)


def request_post(question_id) -> bool:
    """Post a request to its channel (chat.postMessage) and remember where; True if posted."""
    question = (
        Question.objects.select_related("ticket__organization", "team")
        .filter(pk=question_id)
        .first()
    )
    if question is None or SlackMessage.objects.filter(question=question).exists():
        return False
    organization = question.ticket.organization
    channel = request_channel(question)
    if not organization.slack_bot_token or not channel:
        return False
    if question.status != QuestionStatus.PENDING:
        return False  # answered before a worker got here: nobody needs the buttons
    text, blocks = request_message(question)
    try:
        response = web_client(organization, patient=True).chat_postMessage(
            channel=channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False
        )
    except Exception:
        logger.warning("posting request %s to Slack failed", question_id, exc_info=True)
        return False
    SlackMessage.objects.create(question=question, channel=response["channel"], ts=response["ts"])
    # Answered while we posted? The update's subscriber found no message yet: update it here.
    if not Question.objects.filter(pk=question.pk, status=QuestionStatus.PENDING).exists():
        request_update(question.pk)
    return True


def request_update(question_id) -> bool:
    """Rewrite a posted request's message (chat.update) with what became of it; True if done.
    Once per closed request: several changes announced at once (the answer, then its run
    resuming) update it once."""
    posted = (
        SlackMessage.objects.filter(question_id=question_id)
        .select_related("question__ticket__organization", "question__team")
        .first()
    )
    if posted is None:
        return False
    question = posted.question
    closing = question.status != QuestionStatus.PENDING
    if closing:
        claimed = SlackMessage.objects.filter(pk=posted.pk, closed_at=None)
        if not claimed.update(closed_at=timezone.now()):
            return False  # another worker says it already
    text, blocks = request_message(question)
    try:
        web_client(question.ticket.organization, patient=True).chat_update(
            channel=posted.channel, ts=posted.ts, text=text, blocks=blocks
        )
    except Exception:
        logger.warning(
            "updating the Slack message of request %s failed", question_id, exc_info=True
        )
        if closing:  # the next change tries again
            SlackMessage.objects.filter(pk=posted.pk).update(closed_at=None)
        return False
    return True


# --- modals ----------------------------------------------------------------------------------


def _modal(
    callback_id: str, title: str, submit: str, question: Question, channel: str, blocks: list[dict]
) -> dict:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        # Which request, and where to tell the person if it was answered meanwhile.
        "private_metadata": json.dumps({"question": str(question.pk), "channel": channel}),
        "blocks": blocks,
    }


def _text_input(
    block_id: str,
    label: str,
    *,
    multiline: bool,
    initial: str = "",
    optional: bool = False,
    hint: str = "",
) -> dict:
    element = {
        "type": "plain_text_input",
        "action_id": ARGUMENT_VALUE,
        "multiline": multiline,
        "max_length": INPUT_TEXT,
    }
    if initial:
        element["initial_value"] = initial
    block = {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "element": element,
        "label": {"type": "plain_text", "text": clipped(label, 2000)},
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": clipped(hint, 2000)}
    return block


def answer_modal(question: Question, channel: str) -> dict:
    agent = slack_escape(one_line(question.agent or "The agent"))
    return _modal(
        ANSWER,
        "Answer",
        "Send answer",
        question,
        channel,
        [
            _section(f"*{agent} asks* (ticket #{question.ticket_id})\n{quoted(question.question)}"),
            _text_input(
                "answer",
                "Your answer",
                multiline=True,
                hint="The agent reads it and the run resumes.",
            ),
        ],
    )


def reject_modal(question: Question, channel: str) -> dict:
    return _modal(
        REJECT,
        "Reject the call",
        "Reject",
        question,
        channel,
        [
            _section(
                f"*{slack_escape(question.agent)}* wants to call "
                f"`{slack_escape(question.tool)}`. It will not run."
            ),
            _text_input(
                "reason", "Why? The agent reads this and may propose again.", multiline=True
            ),
        ],
    )


def edit_modal(question: Question, channel: str) -> dict | None:
    """The edit form of a proposed call, from its tool's schema (as the inbox's): text as text
    inputs, numbers as number inputs, an enum as a select, a boolean as a checkbox, anything else
    as JSON. None when the call can't be edited faithfully in Slack (a value longer than an input
    holds, too many fields): then the inbox is the place."""
    fields = argument_forms.fields_for(question.tool_schema or {}, question.arguments or {})
    if not fields or len(fields) > MODAL_BLOCKS - 1:
        return None
    blocks = [
        _section(
            f"*{slack_escape(question.agent)}* wants to call "
            f"`{slack_escape(question.tool)}`: change what it is called with."
        )
    ]
    for field in fields:
        element = _argument_element(field)
        if element is None:
            return None
        label = field.label
        block = {
            "type": "input",
            "block_id": field.input_name,
            "element": element,
            "label": {"type": "plain_text", "text": clipped(label, 2000)},
            "optional": field.kind == "checkbox" or not field.required,
        }
        if field.help:
            block["hint"] = {"type": "plain_text", "text": clipped(field.help, 2000)}
        blocks.append(block)
    return _modal(EDIT, "Edit, then run", "Run it", question, channel, blocks)


def _argument_element(field: argument_forms.ArgumentField) -> dict | None:
    value = field.shown_value
    if field.kind in ("integer", "number"):
        element = {
            "type": "number_input",
            "action_id": ARGUMENT_VALUE,
            "is_decimal_allowed": field.kind == "number",
        }
        if value:
            element["initial_value"] = value
        return element
    if field.kind == "select":
        if not field.options or len(field.options) > 100:
            return None
        options = [
            {"text": {"type": "plain_text", "text": clipped(option, 75)}, "value": option}
            for option in field.options
        ]
        if any(len(option) > 150 for option in field.options):
            return None
        element = {"type": "static_select", "action_id": ARGUMENT_VALUE, "options": options}
        chosen = [o for o in options if o["value"] == value]
        if chosen:
            element["initial_option"] = chosen[0]
        return element
    if field.kind == "checkbox":
        option = {"text": {"type": "plain_text", "text": clipped(field.label, 75)}, "value": "on"}
        element = {"type": "checkboxes", "action_id": ARGUMENT_VALUE, "options": [option]}
        if field.value:
            element["initial_options"] = [option]
        return element
    if len(value) > INPUT_TEXT:
        return None  # cutting it would change the call without anyone noticing
    element = {
        "type": "plain_text_input",
        "action_id": ARGUMENT_VALUE,
        "multiline": field.kind != "text",
        "max_length": INPUT_TEXT,
    }
    if value:
        element["initial_value"] = value
    return element


def submitted_values(state: dict) -> dict[str, str]:
    """A modal's state (`view.state.values`) as form data: `{block_id: text}` — a checkbox ticked
    is "on", an empty input is left out — which argument_forms reads like the inbox's form."""
    submitted = {}
    for block_id, actions in (state or {}).items():
        value = (actions or {}).get(ARGUMENT_VALUE) if isinstance(actions, dict) else None
        if not isinstance(value, dict):
            continue
        kind = value.get("type")
        if kind == "checkboxes":
            if value.get("selected_options"):
                submitted[block_id] = "on"
        elif kind == "static_select":
            if isinstance(value.get("selected_option"), dict):
                submitted[block_id] = str(value["selected_option"].get("value", ""))
        elif isinstance(value.get("value"), str):
            submitted[block_id] = value["value"]
    return submitted
