"""Telling reviewers about new and expired questions: email, and Slack when configured.

Sent by a Huey task after commit; every channel's failure is logged and swallowed, so a broken
mail server or webhook never breaks a run.
"""

import json
import logging
import urllib.request

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection, send_mail
from django.db import transaction
from django.template.loader import render_to_string

from supportdesk.desk.services import one_line, request_audience
from supportdesk.desk.webhooks import slack_webhook_problem

logger = logging.getLogger(__name__)

SLACK_TIMEOUT_SECONDS = 5


def notify_opened(question_id) -> None:
    from supportdesk.inbox.digests import notification_request

    notification_request(question_id, "opened")


def notify_expired(question_id) -> None:
    from supportdesk.inbox.digests import notification_request

    notification_request(question_id, "expired")


def question_notify(question_id, kind: str) -> dict[str, bool]:
    """Send the `opened` or `expired` notification of a question; returns what was sent."""
    from supportdesk.desk.models import Question

    question = Question.objects.select_related("ticket__organization", "team").get(pk=question_id)
    organization = question.ticket.organization
    context = {"question": question, "ticket": question.ticket, "kind": kind,
               "title": one_line(question.ticket.title),
               "url": f"{settings.SITE_URL}/questions/{question.pk}/"}  # fmt: skip
    sent = {"email": False, "slack": False}
    # Its team only (or its assignee); everyone when it is routed nowhere.
    audience = list(request_audience(question).exclude(user__email=""))
    if audience:
        try:
            send_messages(question_emails(question, context, audience))
            sent["email"] = True
        except Exception:
            logger.warning("emailing reviewers about question %s failed", question_id,
                           exc_info=True)  # fmt: skip
    # The Slack app posts the request itself (and rewrites that message when it is answered or
    # expires): the webhook would say it twice.
    if organization.slack_webhook_url and not slack_app_posts(question):
        try:
            post_to_slack(organization.slack_webhook_url, slack_text(context))
            sent["slack"] = True
        except Exception:
            logger.warning("posting question %s to Slack failed", question_id, exc_info=True)
    return sent


def question_emails(question, context: dict, audience: list) -> list[EmailMultiAlternatives]:
    """A new question's email carries a reply address (reply to answer); a new approval's, one
    email per reviewer, carries that reviewer's own signed links to decide."""
    from supportdesk.desk.models import RequestKind
    from supportdesk.inbox import email_replies

    # One line whatever the title or agent name says: a line break in a subject makes Django
    # refuse the email (BadHeaderError), and would be a header injection.
    subject = one_line(render_to_string("inbox/email/question_subject.txt", context))
    opened = context["kind"] == "opened"
    if opened and question.kind == RequestKind.APPROVAL:
        return [
            EmailMultiAlternatives(subject, render_to_string("inbox/email/question_body.txt", {
                **context, **email_replies.decision_links(question, reviewer)}),
                settings.DEFAULT_FROM_EMAIL, [reviewer.user.email])
            for reviewer in audience
        ]  # fmt: skip
    reply_to = email_replies.reply_address(question) if opened else ""
    body = render_to_string("inbox/email/question_body.txt", {**context, "reply_to": reply_to})
    return [EmailMultiAlternatives(subject, body, settings.DEFAULT_FROM_EMAIL,
                         [reviewer.user.email for reviewer in audience],
                         reply_to=[reply_to] if reply_to else None)]  # fmt: skip


def send_messages(messages: list[EmailMultiAlternatives]) -> None:
    with get_connection() as connection:
        connection.send_messages(messages)


def slack_app_posts(question) -> bool:
    """Whether the organization's Slack app posts this request (a bot token and a channel)."""
    from supportdesk.inbox.slack import request_channel

    return bool(question.ticket.organization.slack_bot_token and request_channel(question))


def slack_escape(text: str) -> str:
    """Slack's own escaping: &, < and > are control characters of its message format (links,
    mentions like <!channel>)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(context: dict) -> str:
    """The message: a heading line with the ticket's title, the question quoted (every line of it:
    a line break in the question can't step out of the quote), the link. Customer and model text
    can't add lines of its own, links or mentions."""
    question, ticket = context["question"], context["ticket"]
    if context["kind"] == "expired":
        head = f"Question on ticket #{ticket.pk} expired unanswered"
    else:
        agent = slack_escape(one_line(question.agent))
        head = f"{agent} asks about ticket #{ticket.pk} ({ticket.priority})"
    quote = "\n".join(f">{slack_escape(line)}" for line in question.question.splitlines() or [""])
    return (
        f"*{head}*: {slack_escape(one_line(ticket.title))}\n{quote}\n"
        f"<{context['url']}|Open the question>"
    )


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """A webhook answers, it doesn't redirect: following one could lead anywhere (a 302 turns
    the POST into a GET of the Location), past the allow-list."""

    def redirect_request(self, *args, **kwargs) -> None:
        return None


SLACK_OPENER = urllib.request.build_opener(NoRedirects)


def post_to_slack(webhook_url: str, text: str) -> None:
    # Checked again here, not only when saved: a URL stored before the allow-list, or the
    # allow-list narrowed since, must not be posted to.
    if problem := slack_webhook_problem(webhook_url):
        raise ValueError(problem)
    request = urllib.request.Request(
        webhook_url, data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )  # fmt: skip
    with SLACK_OPENER.open(request, timeout=SLACK_TIMEOUT_SECONDS) as response:
        if response.status >= 300:
            raise RuntimeError(f"Slack answered {response.status}")


def notify_needs_attention(ticket_id) -> None:
    """A ticket needs a person (its run failed, or it ended unresolved): tell the reviewers."""
    from supportdesk.inbox.tasks import ticket_notify_task

    def enqueue() -> None:
        try:
            ticket_notify_task(int(ticket_id))
        except Exception:
            logger.warning("could not enqueue the notification of ticket %s", ticket_id,
                           exc_info=True)  # fmt: skip

    transaction.on_commit(enqueue)


def ticket_notify(ticket_id: int) -> dict[str, bool]:
    """Email and Slack the organization's reviewers that a ticket needs attention, and why."""
    from supportdesk.desk.models import Ticket

    ticket = Ticket.objects.select_related("organization").get(pk=ticket_id)
    organization = ticket.organization
    context = {"ticket": ticket, "url": f"{settings.SITE_URL}/tickets/{ticket.pk}/"}
    sent = {"email": False, "slack": False}
    recipients = list(
        organization.reviewers.exclude(user__email="").values_list("user__email", flat=True)
    )
    if recipients:
        try:
            subject = render_to_string("inbox/email/ticket_subject.txt", context).strip()
            body = render_to_string("inbox/email/ticket_body.txt", context)
            send_mail(" ".join(subject.split()), body, settings.DEFAULT_FROM_EMAIL, recipients)
            sent["email"] = True
        except Exception:
            logger.warning("emailing reviewers about ticket %s failed", ticket_id, exc_info=True)
    if organization.slack_webhook_url:
        title = slack_escape(" ".join(ticket.title.split()))
        reason = slack_escape(" ".join(ticket.status_reason.split()))
        text = (f"*Ticket #{ticket.pk} needs attention*: {title}\n>{reason}\n"
                f"<{context['url']}|Open the ticket>")  # fmt: skip
        try:
            post_to_slack(organization.slack_webhook_url, text)
            sent["slack"] = True
        except Exception:
            logger.warning("posting ticket %s to Slack failed", ticket_id, exc_info=True)
    return sent


def notify_nudged(activity_id) -> None:
    """A request was reminded, escalated or assigned: tell the people it now concerns."""
    from supportdesk.inbox.tasks import nudge_notify_task

    def enqueue() -> None:
        try:
            nudge_notify_task(int(activity_id))
        except Exception:
            logger.warning("could not enqueue the nudge %s", activity_id, exc_info=True)

    transaction.on_commit(enqueue)


def nudge_notify(activity_id: int) -> dict[str, bool]:
    """Email (and post to Slack) a reminder, an escalation or an assignment."""
    from supportdesk.desk.models import RequestActivity

    activity = RequestActivity.objects.select_related(
        "question__ticket__organization", "question__team", "question__assignee"
    ).get(pk=activity_id)
    question = activity.question
    organization = question.ticket.organization
    context = {"activity": activity, "question": question, "ticket": question.ticket,
               "url": f"{settings.SITE_URL}/questions/{question.pk}/"}  # fmt: skip
    sent = {"email": False, "slack": False}
    audience = request_audience(question, activity=activity)
    recipients = list(audience.exclude(user__email="").values_list("user__email", flat=True))
    if recipients:
        try:
            subject = one_line(render_to_string("inbox/email/nudge_subject.txt", context))
            body = render_to_string("inbox/email/nudge_body.txt", context)
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
            sent["email"] = True
        except Exception:
            logger.warning("emailing nudge %s failed", activity_id, exc_info=True)
    if organization.slack_webhook_url:
        title = slack_escape(one_line(question.ticket.title))
        what = slack_escape(one_line(f"{activity.action} {activity.detail}"))
        try:
            post_to_slack(organization.slack_webhook_url,
                          f"*Ticket #{question.ticket_id}*: {title} — {what}\n"
                          f"<{context['url']}|Open the request>")  # fmt: skip
            sent["slack"] = True
        except Exception:
            logger.warning("posting nudge %s to Slack failed", activity_id, exc_info=True)
    return sent
