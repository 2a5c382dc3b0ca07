"""What the inbox told reviewers outside the browser: one row per notification, so that a flood
can be summed up in a digest instead of one email and one Slack post per question."""

from django.db import models
from django.utils import timezone

from supportdesk.desk.models import Organization, Question


class Notification(models.Model):
    class Kind(models.TextChoices):
        OPENED = "opened"
        EXPIRED = "expired"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    question = models.ForeignKey(Question, on_delete=models.CASCADE)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    # Held back for the next digest: too many of this kind for the organization at once.
    held = models.BooleanField(default=False)
    sent_at = models.DateTimeField(null=True, blank=True)
    in_digest = models.BooleanField(default=False)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["organization", "kind", "created_at"], name="notification_recent"),
            models.Index(
                fields=["held"], name="notification_held", condition=models.Q(sent_at=None)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} notification of question {self.question_id}"


class Push(models.Model):
    """A push written by a process that can't reach the open sockets itself: the command line in
    the embedded mode, whose in-memory channel layer is its own. The server relays these rows to
    its sockets within a fraction of a second (live.OutboxRelay), then forgets them."""

    group = models.CharField(max_length=100)
    message = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"push to {self.group}"


class SlackMessage(models.Model):
    """Where the Slack app posted a request (its channel and message ts), so the message can be
    updated when the request is answered anywhere. The desk's rows stay the desk's: this is the
    inbox's own record of what it told Slack."""

    question = models.OneToOneField(Question, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=64)
    ts = models.CharField(max_length=32)
    posted_at = models.DateTimeField(default=timezone.now)
    # Set once the message says the request was answered, decided, expired or cancelled.
    closed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Slack message {self.channel}/{self.ts} of question {self.question_id}"
