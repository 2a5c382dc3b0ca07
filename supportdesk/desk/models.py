"""The support desk's data: tenants, tickets and their replies, agents' questions, knowledge."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from supportdesk.durable.models import Run


class GroupAnswerOffer(models.TextChoices):
    SUGGEST = "suggest", "Suggest it to the reviewer"
    AUTO = "auto", "Answer automatically"
    OFF = "off", "Neither"


class Organization(models.Model):
    """The tenant: everything else belongs to one."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    slack_webhook_url = models.URLField(
        blank=True, help_text="A Slack incoming webhook: new and expired questions are posted."
    )
    # The Slack app (README: "Answering from Slack"): requests are posted with buttons, answered
    # and decided in Slack. Both are secrets: never rendered back once saved (admin masks them).
    slack_bot_token = models.CharField(
        max_length=255, blank=True,
        help_text="The Slack app's bot token (xoxb-…): posts requests and updates them.",
    )  # fmt: skip
    slack_signing_secret = models.CharField(
        max_length=255, blank=True,
        help_text="The Slack app's signing secret: interactions are verified with it.",
    )  # fmt: skip
    slack_channel = models.CharField(
        max_length=100, blank=True,
        help_text="Where the Slack app posts requests whose team has no channel of its own "
        "(a channel ID like C0123456789, or #name). Blank: only teams' channels.",
    )  # fmt: skip
    # A human request's deadline by ticket priority, e.g. {"critical": "30m", "high": "2h"}; the
    # rest default (critical 30 min, high 2 h, medium 4 h, low 24 h).
    deadlines = models.JSONField(default=dict, blank=True)
    # When to nudge, as fractions of the deadline: {"remind": [0.5, 0.8], "on_call": 0.8,
    # "everyone": 0.9} (the defaults); null turns a step off.
    escalation = models.JSONField(default=dict, blank=True)
    holding_reply = models.BooleanField(
        default=False,
        help_text="When a critical ticket's question opens, the agent tells the customer first "
        "that a person is looking into it.",
    )
    max_concurrent_runs = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="How many of this organization's runs may execute at once (Inngest's "
        "concurrency key). Blank: the server's default (SUPPORTDESK_ORG_CONCURRENCY). Keep it "
        "below the number of workers, so that other organizations always find one free.",
    )
    # Incidents: a question like others pending or answered in the last `grouping_window_hours`
    # joins their group; a group's answer is offered to the questions that join it later.
    grouping_threshold = models.FloatField(
        null=True, blank=True,
        help_text="How alike two questions must be to be grouped, from 0 to 1. Blank: the "
        "default of the similarity in use (0.2 for word overlap; SUPPORTDESK_EMBEDDINGS_THRESHOLD "
        "with embeddings). Above 1: never group.",
    )  # fmt: skip
    grouping_window_hours = models.PositiveIntegerField(
        default=24, help_text="Answered questions this recent still gather similar new ones."
    )
    group_answers = models.CharField(
        max_length=16, choices=GroupAnswerOffer.choices, default=GroupAnswerOffer.SUGGEST,
        help_text="When a question joins a group that was answered recently: suggest that answer "
        "to the reviewer, or answer with it automatically (audited; never for approvals).",
    )  # fmt: skip
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from supportdesk.desk.webhooks import slack_webhook_problem

        if self.grouping_threshold is not None and self.grouping_threshold < 0:
            raise ValidationError({
                "grouping_threshold": "The threshold is between 0 and 1 (above 1: never group)."
            })

        if self.slack_webhook_url and (problem := slack_webhook_problem(self.slack_webhook_url)):
            raise ValidationError({"slack_webhook_url": problem})


class Reviewer(models.Model):
    """A person who answers the agents' questions for one organization."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="reviewer")  # fmt: skip
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="reviewers"
    )
    slack_user_id = models.CharField(
        max_length=32, blank=True, verbose_name="Slack user ID",
        help_text="Their Slack member ID (U0123ABCD, in their Slack profile: ⋮ → Copy member ID). "
        "Blank: their Slack account is found by their email address.",
    )  # fmt: skip

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "slack_user_id"], name="reviewer_unique_slack_user",
                condition=~Q(slack_user_id=""),
            )
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.user} ({self.organization})"

    @property
    def display_name(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


class Team(models.Model):
    """Reviewers who take one kind of request (Mobile, Backend, Billing): routed to it by rules or
    by the agent, reminded, escalated to its on-call."""

    organization = models.ForeignKey("Organization", on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=100)
    members = models.ManyToManyField("Reviewer", related_name="teams", blank=True)
    on_call = models.ForeignKey(
        "Reviewer", null=True, blank=True, on_delete=models.SET_NULL, related_name="on_call_for",
        help_text="Who gets a request past 80 % of its deadline unanswered.",
    )  # fmt: skip
    slack_channel = models.CharField(
        max_length=100, blank=True, help_text="The Slack channel its requests are posted to."
    )

    class Meta:
        ordering = ["organization", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="team_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class RoutingRule(models.Model):
    """Requests matching every condition given go to the team; the first rule that matches wins."""

    organization = models.ForeignKey("Organization", on_delete=models.CASCADE,
                                     related_name="routing_rules")  # fmt: skip
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveIntegerField(default=0)
    agent = models.CharField(max_length=200, blank=True, help_text="Only this asking agent.")
    min_priority = models.CharField(
        max_length=16, blank=True, help_text="Only tickets of at least this priority."
    )
    keywords = models.CharField(
        max_length=500, blank=True, help_text="Comma-separated: any of them in the ticket."
    )

    class Meta:
        ordering = ["organization", "position", "pk"]

    def __str__(self) -> str:
        return f"→ {self.team}: {self.describe()}"

    def describe(self) -> str:
        parts = [f"agent {self.agent}"] if self.agent else []
        parts += [f"priority ≥ {self.min_priority}"] if self.min_priority else []
        parts += [f"keywords {self.keywords}"] if self.keywords else []
        return ", ".join(parts) or "everything"


class Priority(models.TextChoices):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


PRIORITY_RANK = {Priority.LOW: 0, Priority.MEDIUM: 1, Priority.HIGH: 2, Priority.CRITICAL: 3}


class TicketStatus(models.TextChoices):
    """A ticket's life (README: "Ticket states"): open → in progress → waiting on a human →
    replied → resolved | needs attention | closed. The reason is stored beside it."""

    OPEN = "open"
    IN_PROGRESS = "in_progress", "in progress"
    WAITING = "waiting", "waiting on a human"
    REPLIED = "replied"
    RESOLVED = "resolved"
    NEEDS_ATTENTION = "needs_attention", "needs attention"
    CLOSED = "closed"


class Ticket(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="tickets")
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.MEDIUM)
    status = models.CharField(
        max_length=24, choices=TicketStatus.choices, default=TicketStatus.OPEN
    )
    customer = models.CharField(max_length=200, blank=True)
    # Why the ticket is in its status, in words for a support lead ("the developer question
    # expired", "the run failed at step X: ...", "closed by Ann in the inbox").
    status_reason = models.TextField(blank=True)
    # What the agents concluded, stored by the workflow's last step.
    resolution = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Every run the ticket ever had; at most one of them live at a time (`live_run`).
    runs = models.ManyToManyField(Run, related_name="tickets", blank=True)
    live_run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "status"], name="ticket_org_status")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"


class Reply(models.Model):
    """A reply sent to the customer: by an agent (`reply_to_customer`) or by a reviewer."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="replies")
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL)
    agent = models.CharField(max_length=200, help_text="Who wrote it: an agent or a reviewer.")
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", help_text="The reviewer who wrote it by hand.",
    )  # fmt: skip
    body = models.TextField()
    # A replayed or retried tool call sends the same reply once.
    idempotency_key = models.CharField(max_length=128, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name_plural = "replies"

    def __str__(self) -> str:
        return f"reply to {self.ticket_id} by {self.agent}"


class TicketMessage(models.Model):
    """A customer's follow-up on a ticket (the ticket's body is the first message). The next run
    reads it with the whole conversation so far."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    body = models.TextField()
    # Who entered it: the customer's own channel (API), or a reviewer typing it in by hand.
    entered_by = models.CharField(max_length=250, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The run that took it in; none yet means the next run will.
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"message on ticket {self.ticket_id}"


class RequestActivity(models.Model):
    """What happened to a human request besides its answer: routed, assigned, reminded,
    escalated — shown on its card ("reminded 10:42 · escalated to on-call 11:05")."""

    question = models.ForeignKey("Question", on_delete=models.CASCADE, related_name="activity")
    at = models.DateTimeField(default=timezone.now)
    actor = models.CharField(max_length=250)
    action = models.CharField(max_length=40)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name_plural = "request activity"

    def __str__(self) -> str:
        return f"{self.action} by {self.actor}"


class TicketActivity(models.Model):
    """What people did to a ticket, for the audit: closed, reopened, retried, replied by hand."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="activity")
    at = models.DateTimeField(default=timezone.now)
    actor = models.CharField(max_length=250)
    action = models.CharField(max_length=40)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name_plural = "ticket activity"

    def __str__(self) -> str:
        return f"{self.action} by {self.actor}"


class QuestionStatus(models.TextChoices):
    PENDING = "pending"
    ANSWERED = "answered"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class Channel(models.TextChoices):
    """Through which door a person answered or decided."""

    WEB = "web", "the inbox"
    API = "api", "the API"
    CLI = "cli", "the command line"
    EVENT = "event", "an event"
    SLACK = "slack", "Slack"
    EMAIL = "email", "email"
    ADMIN = "admin", "Django admin"
    AUTO = "auto", "an earlier answer to its group, automatically"


class RequestKind(models.TextChoices):
    """What a human must do: answer a question, or decide on a tool call."""

    QUESTION = "question"
    APPROVAL = "approval"


class Decision(models.TextChoices):
    APPROVE = "approve", "approved"
    EDIT = "edit", "edited and approved"
    REJECT = "reject", "rejected"
    RESPOND = "respond", "responded instead"


class QuestionGroup(models.Model):
    """An incident: similar questions of one organization, answered once for all of them."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE,
                                     related_name="question_groups")  # fmt: skip
    title = models.CharField(max_length=300, help_text="The first question, in short.")
    created_at = models.DateTimeField(default=timezone.now)
    # The latest answer given to the whole group (questions joining later are offered it).
    answer = models.TextField(blank=True)
    answered_by = models.CharField(max_length=200, blank=True)
    answered_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="answered_question_groups",
    )  # fmt: skip
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class Question(models.Model):
    """A human request: an agent's `ask_developer` question waiting for a reviewer's answer, or a
    proposed tool call waiting for a reviewer's decision (kind "approval")."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="questions")
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="questions")
    agent = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=16, choices=RequestKind.choices,
                            default=RequestKind.QUESTION)  # fmt: skip
    question = models.TextField()
    context = models.TextField(blank=True)
    # An approval: the proposed call (the tool, the model's arguments, the tool's JSON schema), and
    # the decision on it (the edited arguments, the reason or the guidance).
    tool = models.CharField(max_length=100, blank=True)
    call_id = models.CharField(max_length=200, blank=True)
    arguments = models.JSONField(null=True, blank=True)
    tool_schema = models.JSONField(null=True, blank=True)
    decision = models.CharField(max_length=16, choices=Decision.choices, blank=True)
    decided_arguments = models.JSONField(null=True, blank=True)
    decision_message = models.TextField(blank=True)
    status = models.CharField(
        max_length=16, choices=QuestionStatus.choices, default=QuestionStatus.PENDING
    )
    answer = models.TextField(blank=True)
    answered_by = models.CharField(max_length=200, blank=True)
    answered_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="answered_questions",
    )  # fmt: skip
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_via = models.CharField(max_length=16, choices=Channel.choices, blank=True)
    # The API or event key an answer came through, by name: who is accountable for it.
    answered_key = models.CharField(max_length=250, blank=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="claimed_questions",
    )  # fmt: skip
    # Who must act: a team (by rules or the agent's choice) and, if someone assigned it, a
    # reviewer. Reminders and escalation follow the deadline (expires_at).
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="requests")  # fmt: skip
    assignee = models.ForeignKey("Reviewer", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="assigned_requests")  # fmt: skip
    escalation = models.CharField(max_length=16, blank=True,
                                  help_text="on_call or everyone, once escalated")  # fmt: skip
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    # When it stopped waiting: answered, decided, expired or cancelled.
    closed_at = models.DateTimeField(null=True, blank=True)
    # The incident it belongs to; answered through it (one answer for the group), or not.
    group = models.ForeignKey(QuestionGroup, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="questions")  # fmt: skip
    answered_with_group = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["ticket", "created_at"],
                name="question_pending",
                condition=Q(status="pending"),
            ),
            # The inbox's first page among thousands pending: newest first, or by deadline.
            models.Index(
                fields=["created_at"], name="question_pending_newest", condition=Q(status="pending")
            ),
            models.Index(
                fields=["expires_at"],
                name="question_pending_deadline",
                condition=Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"question {self.pk} on ticket {self.ticket_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status == QuestionStatus.PENDING and self.expires_at > timezone.now()

    @property
    def proposed_arguments(self) -> dict | None:
        """The proposed call's arguments in its tool's order (as the model wrote them)."""
        return in_schema_order(self.arguments, self.tool_schema)

    @property
    def edited_arguments(self) -> dict | None:
        """The arguments a reviewer's edit ran the call with, in the tool's order."""
        return in_schema_order(self.decided_arguments, self.tool_schema)


# PostgreSQL's jsonb keeps no key order, and a form built from a tool's schema should show its
# fields in the order the tool declares them: the order is stored beside them, as a list.
SCHEMA_ORDER = "x-property-order"


def with_schema_order(schema: dict | None) -> dict | None:
    """A tool's JSON schema, with the order of its properties recorded for storing."""
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return schema
    return {**schema, SCHEMA_ORDER: list(schema["properties"])}


def schema_properties(schema: dict | None) -> list[tuple[str, dict]]:
    """A stored schema's properties, in the order the tool declared them."""
    properties = (schema or {}).get("properties") or {}
    order = [name for name in (schema or {}).get(SCHEMA_ORDER, []) if name in properties]
    return [(name, properties[name]) for name in order] + [
        (name, prop) for name, prop in properties.items() if name not in order
    ]


def in_schema_order(arguments, schema: dict | None):
    """Arguments (a dict) in the schema's order; anything the schema doesn't name, after."""
    if not isinstance(arguments, dict):
        return arguments
    names = [name for name, _ in schema_properties(schema) if name in arguments]
    return {name: arguments[name] for name in names} | {
        name: value for name, value in arguments.items() if name not in names
    }


class Article(models.Model):
    """A knowledge base article."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="articles"
    )
    title = models.CharField(max_length=300)
    body = models.TextField()
    tags = models.CharField(max_length=300, blank=True, help_text="Comma-separated keywords.")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class ReleaseNote(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="release_notes"
    )
    version = models.CharField(max_length=40)
    released_on = models.DateField()
    notes = models.TextField()

    class Meta:
        ordering = ["-released_on"]

    def __str__(self) -> str:
        return f"{self.version} ({self.released_on})"


class AgentConfig(models.Model):
    """An agent of an organization's support network, as admins shape it."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="agents")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, help_text="What routers read to choose it.")
    system_prompt = models.TextField()
    model = models.CharField(
        max_length=100, blank=True, help_text="A Claude model id; blank: the network's default."
    )
    max_tokens = models.PositiveIntegerField(default=1000)
    temperature = models.FloatField(null=True, blank=True, help_text="Blank: the model's default.")
    tools = models.JSONField(default=list, blank=True, help_text="Names of registered tools.")
    # Per tool: {"mode": "never" | "always" | "priority", "min_priority": "critical",
    # "timeout": "4h"} — a call that needs approval waits for a reviewer's decision.
    tool_approvals = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["organization", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="agent_unique_name")
        ]
        verbose_name = "agent"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from supportdesk.desk.tools import TOOLS

        errors = {}
        if not (self.system_prompt or "").strip():
            errors["system_prompt"] = "An agent needs a system prompt."
        unknown = [name for name in self.tools or [] if name not in TOOLS]
        if unknown:
            errors["tools"] = (
                f"Unknown tool(s): {', '.join(unknown)}. Registered tools: {', '.join(TOOLS)}."
            )
        if self.temperature is not None and not 0 <= self.temperature <= 1:
            errors["temperature"] = "Temperature must be between 0 and 1."
        if not 1 <= self.max_tokens <= 64_000:
            errors["max_tokens"] = "Max tokens must be between 1 and 64,000."
        if errors:
            raise ValidationError(errors)


class RouterKind(models.TextChoices):
    SUPERVISOR = "supervisor", "Supervisor agent (an LLM routes with your instructions)"
    DEFAULT = "default", "Default router (an LLM routes with select_agent / done)"


class NetworkConfig(models.Model):
    """An organization's support network: its agents, router, default model and iteration cap."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="network"
    )
    name = models.CharField(max_length=100, default="Support Network")
    agents = models.ManyToManyField(AgentConfig, related_name="networks")
    router = models.CharField(max_length=16, choices=RouterKind.choices,
                              default=RouterKind.SUPERVISOR)  # fmt: skip
    supervisor_instructions = models.TextField(blank=True)
    default_model = models.CharField(max_length=100, default="claude-haiku-4-5")
    max_iterations = models.PositiveIntegerField(default=12)

    class Meta:
        verbose_name = "network"

    def __str__(self) -> str:
        return f"{self.name} ({self.organization})"


class UnprocessableEvent(Run):
    """A support run that failed before it could find its ticket: an event about a ticket that
    doesn't exist (the API refuses those at the door; other senders can't be stopped there).
    Listed in admin so that it fails visibly, not only as a run row."""

    class Meta:
        proxy = True
        verbose_name = "unprocessable event"
