"""Notifications in a flood: past DIGEST_AFTER notifications of one kind for an organization within
a minute, the rest are held and summed up in one digest a minute — one email and one Slack post
listing them — instead of one of each per question (a flood of 400 tickets sent 400 of each)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from supportdesk.desk.models import Organization, Question
from supportdesk.inbox import notifications
from supportdesk.inbox.models import Notification

logger = logging.getLogger(__name__)
BURST_WINDOW = timedelta(minutes=1)
LISTED = 20  # questions listed by name in a digest; the rest are counted


def notification_request(question_id, kind: str) -> None:
    """A question opened or expired: record the notification and have a worker send it."""
    organization_id = (
        Question.objects.filter(pk=question_id)
        .values_list("ticket__organization_id", flat=True)
        .first()
    )
    if organization_id is None:
        return
    notification = Notification.objects.create(
        organization_id=organization_id, question_id=question_id, kind=kind
    )

    def enqueue() -> None:
        from supportdesk.inbox.tasks import send_notification_task

        try:
            send_notification_task(notification.pk)
        except Exception:  # the queue is down: the next digest sends it
            Notification.objects.filter(pk=notification.pk).update(held=True)
            logger.warning("could not enqueue notification %s; the next digest sends it",
                           notification.pk, exc_info=True)  # fmt: skip

    transaction.on_commit(enqueue)


def notification_send(notification_id: int) -> dict:
    """Send one notification, or hold it for the digest when its organization is flooded."""
    notification = Notification.objects.filter(pk=notification_id, sent_at=None).first()
    if notification is None:
        return {}
    recent = Notification.objects.filter(
        organization_id=notification.organization_id,
        kind=notification.kind,
        created_at__gte=notification.created_at - BURST_WINDOW,
        pk__lte=notification.pk,
    ).count()
    if recent > settings.NOTIFICATION_DIGEST_AFTER:
        Notification.objects.filter(pk=notification.pk).update(held=True)
        return {"held": True}
    sent = notifications.question_notify(notification.question_id, notification.kind)
    Notification.objects.filter(pk=notification.pk).update(sent_at=timezone.now())
    return sent


def digests_send() -> int:
    """Send a digest to each organization with held notifications; returns how many were sent."""
    held = Notification.objects.filter(held=True, sent_at=None)
    groups = set(held.values_list("organization_id", "kind"))
    for organization_id, kind in sorted(groups):
        batch = list(held.filter(organization_id=organization_id, kind=kind)
                     .select_related("question__ticket"))  # fmt: skip
        _send_digest(Organization.objects.get(pk=organization_id), kind, batch)
        Notification.objects.filter(pk__in=[n.pk for n in batch]).update(
            sent_at=timezone.now(), in_digest=True
        )
    return len(groups)


def _send_digest(organization: Organization, kind: str, batch: list[Notification]) -> None:
    questions = [n.question for n in batch]
    context = {
        "organization": organization, "kind": kind, "count": len(questions),
        "questions": [(q, f"{settings.SITE_URL}/questions/{q.pk}/") for q in questions[:LISTED]],
        "more": max(len(questions) - LISTED, 0), "inbox": f"{settings.SITE_URL}/inbox/",
    }  # fmt: skip
    recipients = list(
        organization.reviewers.exclude(user__email="").values_list("user__email", flat=True)
    )
    if recipients:
        try:
            subject = render_to_string("inbox/email/digest_subject.txt", context).strip()
            body = render_to_string("inbox/email/digest_body.txt", context)
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
        except Exception:
            logger.warning("emailing the digest of %s failed", organization, exc_info=True)
    if organization.slack_webhook_url:
        try:
            notifications.post_to_slack(organization.slack_webhook_url, _slack_digest(context))
        except Exception:
            logger.warning("posting the digest of %s to Slack failed", organization,
                           exc_info=True)  # fmt: skip


def _slack_digest(context: dict) -> str:
    what = "new questions" if context["kind"] == "opened" else "questions expired unanswered"
    lines = [f"*{context['count']} {what}* — <{context['inbox']}|open the inbox>"]
    for question, url in context["questions"]:
        ticket = question.ticket
        title = notifications.slack_escape(" ".join(ticket.title.split()))
        lines.append(f"• <{url}|ticket #{ticket.pk}> ({ticket.priority}) {title}")
    if context["more"]:
        lines.append(f"… and {context['more']} more")
    return "\n".join(lines)
