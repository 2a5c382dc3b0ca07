"""The Slack app, incoming: button clicks and modal submissions at `/slack/interactions`.

Each request is verified first (Slack's v0 signature with an organization's signing secret, its
timestamp within 5 minutes, a signature seen before refused), then the Slack user is mapped to a
reviewer of that organization (their explicit link, else their Slack email), then the desk's
services answer or decide — the same services as the inbox's, so exactly one answer wins and a
loser is told who won, in a message only they see.
"""

import json
import logging
import re
import time
import uuid

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from slack_sdk.signature import SignatureVerifier

from supportdesk.api.errors import RequestRefused
from supportdesk.api.limits import charge_inbound
from supportdesk.desk import services
from supportdesk.desk.errors import DeskError, InvalidFields
from supportdesk.desk.models import Channel, Organization, Question, Reviewer, schema_properties
from supportdesk.inbox import argument_forms, slack

logger = logging.getLogger(__name__)

MAX_AGE_SECONDS = 5 * 60  # Slack's own advice, and SignatureVerifier's
# A signature is remembered for as long as its timestamp could still pass: 5 minutes either side.
REPLAY_MEMORY_SECONDS = 2 * MAX_AGE_SECONDS
_TIMESTAMP = re.compile(r"\d{1,12}")


class Refused(Exception):
    """An interaction refused before anything is looked at: (HTTP status, why)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def verified_organization(body: bytes, timestamp: str, signature: str) -> Organization:
    """The organization whose signing secret signed `body`, or Refused(401): no or malformed
    headers, a timestamp more than 5 minutes off, a signature no secret makes, a replay."""
    if not _TIMESTAMP.fullmatch(timestamp or ""):
        raise Refused(401, "missing or malformed X-Slack-Request-Timestamp")
    if abs(time.time() - int(timestamp)) > MAX_AGE_SECONDS:
        raise Refused(401, "stale request: its timestamp is more than 5 minutes off")
    if not (signature or "").startswith("v0="):
        raise Refused(401, "missing or malformed X-Slack-Signature")
    try:
        text = body.decode("utf-8")  # (the verifier would raise on anything else)
    except UnicodeDecodeError:
        raise Refused(400, "the body is not UTF-8 text") from None
    # One Slack app per organization: the secret that makes this signature names the tenant.
    # (An HMAC per organization with the app configured: microseconds each.)
    secrets = Organization.objects.exclude(slack_signing_secret="").values_list(
        "pk", "slack_signing_secret"
    )
    found = next(
        (
            pk
            for pk, secret in secrets.iterator()
            if SignatureVerifier(secret).is_valid(text, timestamp, signature)
        ),
        None,
    )
    if found is None:
        raise Refused(401, "bad signature")
    # Seen before within its validity: a replay (refused whether or not the first one worked).
    if not cache.add(f"slack:signature:{signature}", 1, timeout=REPLAY_MEMORY_SECONDS):
        raise Refused(401, "replayed request: this signature was seen before")
    return Organization.objects.get(pk=found)


def reviewer_for_slack_user(
    organization: Organization, slack_user_id: str, client
) -> Reviewer | None:
    """The organization's active reviewer this Slack user is: linked explicitly (Reviewer's Slack
    user ID), else the one whose email is the Slack account's (users.info, the users:read.email
    scope). A reviewer linked to another Slack account isn't matched by email."""
    reviewers = Reviewer.objects.filter(organization=organization, user__is_active=True)
    reviewers = reviewers.select_related("user", "organization")
    if not slack_user_id:
        return None
    linked = reviewers.filter(slack_user_id=slack_user_id).first()
    if linked is not None:
        return linked
    try:
        account = client.users_info(user=slack_user_id).get("user") or {}
    except Exception:
        logger.warning("users.info of %s failed", slack_user_id, exc_info=True)
        return None
    email = (account.get("profile") or {}).get("email") or ""
    if account.get("deleted") or account.get("is_bot") or "@" not in email:
        return None
    return reviewers.filter(user__email__iexact=email, slack_user_id="").order_by("pk").first()


def _tell(client, channel: str, user: str, text: str) -> None:
    """A message only `user` sees, in the request's channel."""
    if not channel:
        return
    try:
        client.chat_postEphemeral(channel=channel, user=user, text=text)
    except Exception:
        logger.warning("chat.postEphemeral to %s failed", user, exc_info=True)


class Interaction:
    """One verified interaction: who, where, about which request of the organization."""

    def __init__(self, organization: Organization, payload: dict):
        self.organization = organization
        self.payload = payload
        self.client = slack.web_client(organization)
        user = payload.get("user")
        self.user_id = str(user.get("id", "")) if isinstance(user, dict) else ""
        self.channel = ""
        self.question: Question | None = None

    def find_question(self, question_id) -> Question | None:
        try:
            key = uuid.UUID(str(question_id))
        except ValueError:
            return None
        return (
            Question.objects.select_related("ticket__organization", "team")
            .filter(pk=key, ticket__organization=self.organization)
            .first()
        )

    def tell(self, text: str) -> None:
        _tell(self.client, self.channel, self.user_id, text)

    def reviewer(self) -> Reviewer | None:
        reviewer = reviewer_for_slack_user(self.organization, self.user_id, self.client)
        if reviewer is None:
            self.tell(
                f"You are not a reviewer of {self.organization.name} in supportdesk, so you can't "
                "answer or decide its requests. An admin can link your Slack account to your "
                "reviewer (Slack user ID), or give your supportdesk user your Slack email."
            )
        return reviewer


def interaction_handle(organization: Organization, payload: dict) -> HttpResponse:
    kind = payload.get("type")
    if kind == "block_actions":
        return _button_clicked(Interaction(organization, payload))
    if kind == "view_submission":
        return _modal_submitted(Interaction(organization, payload))
    return HttpResponse(status=200)  # other interactions (a modal closed): nothing to do


def _request_and_reviewer(it: Interaction, question_id) -> tuple:
    """The request an interaction names and the reviewer behind it; the reviewer is None (and
    the Slack user told why) when either is missing."""
    it.question = question = it.find_question(question_id)
    if question is None:
        it.tell("This request is not in supportdesk any more.")
        return None, None
    return question, it.reviewer()


def _button_clicked(it: Interaction) -> HttpResponse:
    actions = it.payload.get("actions")
    action = actions[0] if isinstance(actions, list) and actions else None
    if not isinstance(action, dict):
        return HttpResponse("an action payload without actions", status=400)
    channel = it.payload.get("channel")
    it.channel = str(channel.get("id", "")) if isinstance(channel, dict) else ""
    question, reviewer = _request_and_reviewer(it, action.get("value"))
    if reviewer is None:
        return HttpResponse(status=200)
    if not question.is_open:
        it.tell(f"Nothing was changed: {services.question_closed_message(question)}.")
        return HttpResponse(status=200)
    action_id = action.get("action_id")
    if action_id == slack.APPROVE:
        _decide(it, reviewer, decision="approve")
        return HttpResponse(status=200)
    modals = {
        slack.ANSWER: slack.answer_modal,
        slack.EDIT: slack.edit_modal,
        slack.REJECT: slack.reject_modal,
    }
    if action_id not in modals:
        return HttpResponse(status=200)
    view = modals[action_id](question, it.channel)
    if view is None:
        it.tell(
            f"This call can't be edited in Slack (a value too long, or too many fields): "
            f"edit it in supportdesk, {slack.question_url(question)}#edit"
        )
        return HttpResponse(status=200)
    try:
        it.client.views_open(trigger_id=str(it.payload.get("trigger_id", "")), view=view)
    except Exception:
        logger.warning("views.open for request %s failed", question.pk, exc_info=True)
        it.tell(
            f"Slack would not open the form; answer in supportdesk: {slack.question_url(question)}"
        )
    return HttpResponse(status=200)


def _decide(it: Interaction, reviewer: Reviewer, **decision) -> DeskError | None:
    """Decide through the desk's service; a refusal other than a field's is told to the person."""
    try:
        services.approval_decide(
            approval=it.question,
            decided_by=reviewer.display_name,
            user=reviewer.user,
            channel=Channel.SLACK,
            **decision,
        )
    except InvalidFields as exc:
        return exc
    except DeskError as exc:
        it.tell(f"Nothing was changed: {exc.message}.")
        return exc
    return None


def _modal_submitted(it: Interaction) -> HttpResponse:
    view = it.payload.get("view")
    if not isinstance(view, dict):
        return HttpResponse("a view submission without its view", status=400)
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        meta = None
    if not isinstance(meta, dict):
        return HttpResponse("a view submission with malformed private_metadata", status=400)
    it.channel = str(meta.get("channel", ""))
    question, reviewer = _request_and_reviewer(it, meta.get("question"))
    if reviewer is None:
        return HttpResponse(status=200)
    state = view.get("state")
    values = slack.submitted_values(state.get("values") if isinstance(state, dict) else {})
    callback = view.get("callback_id")
    if callback == slack.ANSWER:
        try:
            services.question_answer(
                question=question,
                answered_by=reviewer.display_name,
                answer=values.get("answer", ""),
                user=reviewer.user,
                channel=Channel.SLACK,
            )
        except DeskError as exc:
            if exc.code == "conflict":
                it.tell(f"Your answer was not sent: {exc.message}.")
                return HttpResponse(status=200)  # closes the form: there is nothing to fix
            return _errors({"answer": exc.message})
        return HttpResponse(status=200)
    if callback == slack.REJECT:
        refused = _decide(it, reviewer, decision="reject", message=values.get("reason", ""))
        if refused is not None and refused.code != "conflict":
            return _errors({"reason": refused.message})
        return HttpResponse(status=200)
    if callback == slack.EDIT:
        schema = question.tool_schema or {}
        arguments, unreadable = argument_forms.arguments_from(schema, values)
        if unreadable:
            return _errors(
                {f"{argument_forms.PREFIX}{name}": why for name, why in unreadable.items()}
            )
        refused = _decide(it, reviewer, decision="edit", arguments=arguments)
        if isinstance(refused, InvalidFields):
            return _errors(_field_errors(refused, schema))
        return HttpResponse(status=200)
    return HttpResponse(status=200)


def _field_errors(refused: InvalidFields, schema: dict) -> dict[str, str]:
    """Each problem under its field's input; one that names no field goes under the first."""
    first = next(iter(name for name, _ in schema_properties(schema)), "")
    errors: dict[str, str] = {}
    for loc, message in refused.problems:
        block = f"{argument_forms.PREFIX}{loc[1] if len(loc) > 1 else first}"
        errors[block] = f"{errors[block]}; {message}" if block in errors else message
    return errors


def _errors(errors: dict[str, str]) -> JsonResponse:
    """The modal stays open, what was typed kept, each problem under its field."""
    return JsonResponse(
        {"response_action": "errors", "errors": {k: v[:2000] for k, v in errors.items()}}
    )


@csrf_exempt  # authenticated by Slack's signature instead
@require_POST
def interactions(request: HttpRequest) -> HttpResponse:
    """POST /slack/interactions: a form with one field, `payload` (JSON), signed by Slack."""
    body = request.body
    try:
        organization = verified_organization(
            body,
            request.headers.get("X-Slack-Request-Timestamp", ""),
            request.headers.get("X-Slack-Signature", ""),
        )
        charge_inbound(f"slack:{organization.pk}")
    except Refused as exc:
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain")
    except RequestRefused as exc:
        return HttpResponse(
            exc.message, status=exc.status, headers=exc.headers, content_type="text/plain"
        )
    try:
        payload = json.loads(request.POST.get("payload", ""))
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return HttpResponse(
            "expected a form field `payload` holding a JSON object",
            status=400,
            content_type="text/plain",
        )
    return interaction_handle(organization, payload)
