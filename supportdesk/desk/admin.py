"""The desk in Django admin: tickets with their replies and questions, and the knowledge base.

Every page is scoped to the staff user's organizations (admin_scoping.py); superusers see all. The
user and group pages of django.contrib.auth are re-registered here with the same scope."""

import json
import re
from urllib.parse import urlsplit

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.http import HttpRequest

from supportdesk.desk import services
from supportdesk.desk.admin_scoping import (
    OrganizationScopedAdmin,
    OrganizationScopedMixin,
    administers_an_organization,
    staff_organization_ids,
)
from supportdesk.desk.errors import DeskError
from supportdesk.desk.models import (
    AgentConfig,
    Article,
    Channel,
    NetworkConfig,
    Organization,
    Priority,
    Question,
    QuestionGroup,
    ReleaseNote,
    Reply,
    Reviewer,
    RoutingRule,
    Team,
    Ticket,
    TicketActivity,
    TicketMessage,
    UnprocessableEvent,
)
from supportdesk.desk.tools import TOOLS
from supportdesk.durable.models import RunStatus
from supportdesk.scoped_admin import sees_everything


class ReplyInline(OrganizationScopedMixin, admin.TabularInline):
    model = Reply
    extra = 0
    fields = ["created_at", "agent", "body"]
    readonly_fields = fields
    can_delete = False


class MessageInline(OrganizationScopedMixin, admin.TabularInline):
    model = TicketMessage
    extra = 0
    fields = ["created_at", "entered_by", "body", "run"]
    readonly_fields = fields
    can_delete = False
    verbose_name = "follow-up message"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ActivityInline(OrganizationScopedMixin, admin.TabularInline):
    model = TicketActivity
    extra = 0
    fields = ["at", "actor", "action", "detail"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class QuestionInline(OrganizationScopedMixin, admin.TabularInline):
    model = Question
    extra = 0
    fields = ["created_at", "agent", "question", "status", "answer", "answered_by"]
    readonly_fields = fields
    can_delete = False


def masked_secret_url(url: str) -> str:
    """`https://hooks.slack.com/…/abcd`: enough to recognise the URL, useless to post with."""
    if not url:
        return ""
    parts = urlsplit(url)
    host = parts.hostname or ""  # never the netloc: it may carry user:password@
    if parts.port:
        host = f"{host}:{parts.port}"
    # A short URL's last characters would be most of its secret.
    tail = url[-4:] if len(url) - len(f"{parts.scheme}://{parts.netloc}") >= 16 else ""
    return f"{parts.scheme}://{host}/…/{tail}"


def masked_secret(value: str) -> str:
    """`xoxb-…abcd`: enough to recognise a token, useless to call Slack with."""
    if not value:
        return ""
    kind = value[:5] if value.startswith(("xoxb-", "xoxp-")) else ""
    return f"{kind}…{value[-4:]}" if len(value) >= 16 else f"{kind}…"


DEADLINE_FIELDS = ["deadlines", "escalation", "holding_reply", "grouping_threshold",
                   "grouping_window_hours", "group_answers"]  # fmt: skip
# The organization's secrets, each masked its way once saved, and what their removal stops.
SECRET_FIELDS = {
    "slack_webhook_url": (masked_secret_url, "Remove the Slack webhook", "Stop posting questions "
                          "to Slack."),
    "slack_bot_token": (masked_secret, "Remove the Slack app's bot token", "Stop posting requests "
                        "with the Slack app."),
    "slack_signing_secret": (masked_secret, "Remove the Slack app's signing secret", "Refuse "
                             "every interaction from the Slack app."),
}  # fmt: skip
SLACK_APP_FIELDS = ["slack_bot_token", "slack_signing_secret", "slack_channel"]
_SLACK_SIGNING_SECRET = re.compile(r"[A-Za-z0-9]{8,255}")
_SLACK_BOT_TOKEN = re.compile(r"xoxb-[A-Za-z0-9-]{8,250}")


def _secret_field(name: str) -> forms.Field:
    field = Organization._meta.get_field(name)
    if name == "slack_webhook_url":
        return forms.URLField(required=False, assume_scheme="https", label="Slack webhook URL",
                              max_length=field.max_length, help_text=field.help_text)  # fmt: skip
    # A password input never renders its value back, not even after a refused submission.
    return forms.CharField(required=False, max_length=field.max_length, strip=True,
                           label=field.verbose_name.capitalize(),
                           help_text=field.help_text, widget=forms.PasswordInput)  # fmt: skip


class OrganizationForm(forms.ModelForm):
    """The Slack webhook URL, the Slack app's bot token and its signing secret are secrets
    (whoever holds one posts to the channel, or forges interactions): once saved they are never
    rendered again, only masked; a blank field keeps one, a new value replaces it, a checkbox
    removes it."""

    slack_webhook_url = _secret_field("slack_webhook_url")
    slack_bot_token = _secret_field("slack_bot_token")
    slack_signing_secret = _secret_field("slack_signing_secret")
    remove_slack_webhook_url = forms.BooleanField(
        required=False, label=SECRET_FIELDS["slack_webhook_url"][1],
        help_text=SECRET_FIELDS["slack_webhook_url"][2],
    )  # fmt: skip
    remove_slack_bot_token = forms.BooleanField(
        required=False, label=SECRET_FIELDS["slack_bot_token"][1],
        help_text=SECRET_FIELDS["slack_bot_token"][2],
    )  # fmt: skip
    remove_slack_signing_secret = forms.BooleanField(
        required=False, label=SECRET_FIELDS["slack_signing_secret"][1],
        help_text=SECRET_FIELDS["slack_signing_secret"][2],
    )  # fmt: skip

    class Meta:
        model = Organization
        fields = ["name", "slug", "slack_webhook_url", *SLACK_APP_FIELDS, "deadlines",
                  "escalation", "holding_reply", "max_concurrent_runs", "created_at"]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, (mask, _label, _help) in SECRET_FIELDS.items():
            field = self.fields.get(name)
            if field is None:
                continue
            self.initial[name] = ""
            current = getattr(self.instance, name) if self.instance.pk else ""
            if current:
                field.help_text = (
                    f"Current: {mask(current)} (hidden once saved). Leave blank to keep it; "
                    "enter a new one to replace it."
                )

    def clean_slack_bot_token(self) -> str:
        token = self.cleaned_data.get("slack_bot_token", "")
        if token and not _SLACK_BOT_TOKEN.fullmatch(token):
            raise forms.ValidationError("A bot token starts with xoxb- (the app's OAuth & "
                                        "Permissions page: Bot User OAuth Token).")  # fmt: skip
        return token

    def clean_slack_signing_secret(self) -> str:
        secret = self.cleaned_data.get("slack_signing_secret", "")
        if secret and not _SLACK_SIGNING_SECRET.fullmatch(secret):
            raise forms.ValidationError("A signing secret is letters and digits (the app's Basic "
                                        "Information page: App Credentials).")  # fmt: skip
        return secret

    def clean(self) -> dict:
        cleaned = super().clean()
        for name in SECRET_FIELDS:
            if name not in self.fields:
                continue
            if cleaned.get(f"remove_{name}"):
                cleaned[name] = ""
            elif not cleaned.get(name) and name not in self.errors:
                cleaned[name] = getattr(self.instance, name)  # blank: keep it
        return cleaned


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdmin):
    """Superusers create and delete organizations; a staff user sees and edits their own."""

    form = OrganizationForm
    list_display = ["name", "slug", "created_at"]
    ordering = ["name"]
    search_fields = ["name", "slug"]  # also what the autocomplete of an organization field searches
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["slack_webhook", "slack_app_bot_token", "slack_app_signing_secret"]
    secret_fields = tuple(SECRET_FIELDS)

    def get_fields(self, request: HttpRequest, obj: Organization | None = None) -> list[str]:
        if obj is not None and not self.has_change_permission(request, obj):
            # A view-only page renders each field's value: show the secrets masked instead.
            return ["name", "slug", "slack_webhook", "slack_app_bot_token",
                    "slack_app_signing_secret", "slack_channel", *DEADLINE_FIELDS,
                    "max_concurrent_runs", "created_at"]  # fmt: skip
        fields = ["name", "slug"]
        for name in ["slack_webhook_url", *SLACK_APP_FIELDS]:
            fields.append(name)
            if name in SECRET_FIELDS and obj is not None and getattr(obj, name):
                fields.append(f"remove_{name}")
        return [*fields, *DEADLINE_FIELDS, "max_concurrent_runs", "created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Organization | None = None):
        readonly = list(super().get_readonly_fields(request, obj))
        if sees_everything(request):
            return readonly
        # Platform-wide settings: the slug names the tenant everywhere (`--org acme`), and an
        # organization that raised its own concurrency limit could take the workers from the others.
        return [*readonly, "slug", "max_concurrent_runs"]

    def get_prepopulated_fields(self, request: HttpRequest, obj: Organization | None = None):
        return super().get_prepopulated_fields(request, obj) if sees_everything(request) else {}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return sees_everything(request) and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Organization | None = None) -> bool:
        return sees_everything(request) and super().has_delete_permission(request, obj)

    @admin.display(description="Slack webhook URL")
    def slack_webhook(self, organization: Organization) -> str:
        return masked_secret_url(organization.slack_webhook_url) or "—"

    @admin.display(description="Slack bot token")
    def slack_app_bot_token(self, organization: Organization) -> str:
        return masked_secret(organization.slack_bot_token) or "—"

    @admin.display(description="Slack signing secret")
    def slack_app_signing_secret(self, organization: Organization) -> str:
        return masked_secret(organization.slack_signing_secret) or "—"


class ReviewerForm(forms.ModelForm):
    class Meta:
        model = Reviewer
        fields = ["user", "organization", "slack_user_id"]

    def clean_slack_user_id(self) -> str:
        value = self.cleaned_data.get("slack_user_id", "").strip().upper()
        if value and not re.fullmatch(r"[UW][A-Z0-9]{2,31}", value):
            raise forms.ValidationError("A Slack member ID looks like U0123ABCD.")
        return value


@admin.register(Reviewer)
class ReviewerAdmin(OrganizationScopedAdmin):
    form = ReviewerForm
    list_display = ["user", "organization", "slack_user_id"]
    list_filter = ["organization"]


@admin.register(Ticket)
class TicketAdmin(OrganizationScopedAdmin):
    """Tickets go through the desk's services here as from any other door: adding one starts its
    workflow; its status changes only by the actions (close, reopen, retry), which stop or start
    runs and are audited."""

    list_display = ["id", "title", "priority", "status", "organization", "created_at"]
    list_filter = ["status", "priority", "organization"]
    search_fields = ["title", "body", "customer"]
    readonly_fields = ["status", "status_reason", "live_run", "runs", "resolution", "created_at",
                       "updated_at"]  # fmt: skip
    inlines = [MessageInline, ReplyInline, QuestionInline, ActivityInline]
    actions = ["close_tickets", "reopen_tickets", "retry_tickets"]

    def get_fields(self, request, obj=None):
        editable = ["organization", "title", "body", "priority", "customer"]
        return editable if obj is None else [*editable, *self.readonly_fields]

    def save_model(self, request, obj, form, change) -> None:
        if change:
            super().save_model(request, obj, form, change)
        else:
            services.ticket_admit(ticket=obj)  # validated as everywhere; its workflow starts

    def has_delete_permission(self, request, obj=None) -> bool:
        # A ticket being worked is closed first (its run stops), not deleted from under it.
        if obj is not None and services.ticket_has_live_run(obj.pk):
            return False
        return super().has_delete_permission(request, obj)

    def _act(self, request, queryset, act, done: str) -> None:
        who = services.user_display_name(request.user)
        succeeded = 0
        for ticket in queryset:
            try:
                act(ticket=ticket, actor=who, channel=Channel.ADMIN)
                succeeded += 1
            except DeskError as exc:
                self.message_user(request, f"Ticket {ticket.pk}: {exc.message}", messages.WARNING)
        if succeeded:
            self.message_user(request, f"{succeeded} ticket(s) {done}.", messages.SUCCESS)

    @admin.action(description="Close the selected tickets (their runs stop)")
    def close_tickets(self, request, queryset) -> None:
        self._act(request, queryset, services.ticket_close, "closed")

    @admin.action(description="Reopen the selected tickets (a new run reads the conversation)")
    def reopen_tickets(self, request, queryset) -> None:
        self._act(request, queryset, services.ticket_reopen, "reopened")

    @admin.action(description="Retry the failed run of the selected tickets")
    def retry_tickets(self, request, queryset) -> None:
        self._act(request, queryset, services.ticket_retry, "retried")


@admin.register(Question)
class QuestionAdmin(OrganizationScopedAdmin):
    list_display = ["id", "ticket", "agent", "status", "answered_by", "created_at", "expires_at"]
    list_filter = ["status"]
    readonly_fields = [f.name for f in Question._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # A question is its run's open wait and the audit of its answer: deleting a pending one
        # would leave the run waiting until its timeout. Close the ticket or cancel the run.
        return False


@admin.register(QuestionGroup)
class QuestionGroupAdmin(OrganizationScopedAdmin):
    """Incidents, as grouped; answered from the inbox, the API or the CLI (one answer for all)."""

    list_display = ["title", "organization", "created_at", "answered_by", "answered_at"]
    list_filter = ["organization"]
    search_fields = ["title", "answer"]
    readonly_fields = [f.name for f in QuestionGroup._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Article)
class ArticleAdmin(OrganizationScopedAdmin):
    list_display = ["title", "organization", "tags", "updated_at"]
    list_filter = ["organization"]
    search_fields = ["title", "body", "tags"]


@admin.register(ReleaseNote)
class ReleaseNoteAdmin(OrganizationScopedAdmin):
    list_display = ["version", "released_on", "organization"]
    list_filter = ["organization"]


class AgentConfigForm(forms.ModelForm):
    tools = forms.MultipleChoiceField(
        choices=[], required=False, widget=forms.CheckboxSelectMultiple,
        help_text="The registered tools this agent may call.",
    )  # fmt: skip

    class Meta:
        model = AgentConfig
        fields = ["organization", "name", "description", "system_prompt", "model", "max_tokens",
                  "temperature", "tools", "enabled", "position"]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tools"].choices = [(name, name) for name in TOOLS]

    def clean_tools(self) -> list[str]:
        # Checked again by the model's clean(): names stored in JSON must stay registered.
        return list(self.cleaned_data["tools"])


@admin.register(AgentConfig)
class AgentConfigAdmin(OrganizationScopedAdmin):
    form = AgentConfigForm
    list_display = ["name", "organization", "model", "enabled", "position"]
    list_filter = ["organization", "enabled"]
    list_editable = ["enabled", "position"]


class NetworkConfigForm(forms.ModelForm):
    class Meta:
        model = NetworkConfig
        fields = ["organization", "name", "agents", "router", "supervisor_instructions",
                  "default_model", "max_iterations"]  # fmt: skip
        widgets = {"agents": forms.CheckboxSelectMultiple}

    def clean(self) -> dict:
        cleaned = super().clean()
        agents = cleaned.get("agents")
        organization = cleaned.get("organization")
        if not agents:
            self.add_error("agents", "A network needs at least one agent.")
        elif organization and any(a.organization_id != organization.pk for a in agents):
            self.add_error("agents", "A network's agents must belong to its organization.")
        elif not any(a.enabled for a in agents):
            self.add_error("agents", "A network needs at least one enabled agent.")
        if cleaned.get("max_iterations") is not None and not 1 <= cleaned["max_iterations"] <= 50:
            self.add_error("max_iterations", "Max iterations must be between 1 and 50.")
        return cleaned


@admin.register(NetworkConfig)
class NetworkConfigAdmin(OrganizationScopedAdmin):
    form = NetworkConfigForm
    list_display = ["name", "organization", "router", "default_model", "max_iterations"]


# --- django.contrib.auth's pages, scoped the same way ---------------------------------------------
# Fields that hand out power: a staff user who is not a superuser can't grant any of it, not even
# to themselves (they keep what a superuser gave them).
PRIVILEGE_FIELDS = ["is_staff", "is_superuser", "groups", "user_permissions"]


def is_privileged(user: User) -> bool:
    return user.is_staff or user.is_superuser


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class OrganizationUserAdmin(OrganizationScopedMixin, UserAdmin):
    """A staff user sees their organizations' reviewers and themselves; they may edit the reviewers
    who are not staff (another staff account could have more permissions: changing its password
    would be taking them) and their own account, but never anyone's privileges."""

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None):
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly if sees_everything(request) else [*readonly, *PRIVILEGE_FIELDS]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # The new user becomes a reviewer of the creator's organization (save_model).
        return super().has_add_permission(request) and administers_an_organization(request)

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        if obj is None or sees_everything(request):
            return True
        return obj.pk == request.user.pk or not is_privileged(obj)

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        if not super().has_delete_permission(request, obj):
            return False
        return obj is None or sees_everything(request) or not is_privileged(obj)

    def save_model(self, request: HttpRequest, obj: User, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change and not sees_everything(request):
            # One organization at most (Reviewer.user is one-to-one), and at least one: see
            # has_add_permission.
            organization_id = min(staff_organization_ids(request))
            Reviewer.objects.create(user=obj, organization_id=organization_id)


@admin.register(Group)
class OrganizationGroupAdmin(OrganizationScopedMixin, GroupAdmin):
    """Groups are platform-wide sets of permissions: only superusers shape them; a staff user sees
    the groups they are in."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return sees_everything(request) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        return sees_everything(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        return sees_everything(request) and super().has_delete_permission(request, obj)


@admin.register(UnprocessableEvent)
class UnprocessableEventAdmin(OrganizationScopedAdmin):
    list_display = ["created_at", "event_name", "event_data", "error"]
    fields = ["created_at", "event_name", "event_data", "error", "function_id", "tenant"]
    readonly_fields = fields

    def get_queryset(self, request):
        runs = super().get_queryset(request).select_related("event")
        return runs.filter(
            function_id="support-agent-workflow", status=RunStatus.FAILED, tickets__isnull=True
        )

    @admin.display(description="event")
    def event_name(self, run) -> str:
        return run.event.name

    @admin.display(description="data")
    def event_data(self, run) -> str:
        return json.dumps(run.event.data)[:200]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class TeamForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ["organization", "name", "members", "on_call", "slack_channel"]
        widgets = {"members": forms.CheckboxSelectMultiple}

    def clean(self) -> dict:
        cleaned = super().clean()
        organization = cleaned.get("organization")
        people = list(cleaned.get("members") or [])
        if cleaned.get("on_call"):
            people.append(cleaned["on_call"])
        if organization and any(p.organization_id != organization.pk for p in people):
            self.add_error("members", "A team's members belong to its organization.")
        return cleaned


@admin.register(Team)
class TeamAdmin(OrganizationScopedAdmin):
    form = TeamForm
    list_display = ["name", "organization", "on_call", "slack_channel"]
    list_filter = ["organization"]


class RoutingRuleForm(forms.ModelForm):
    class Meta:
        model = RoutingRule
        fields = ["organization", "team", "position", "agent", "min_priority", "keywords"]
        widgets = {"min_priority": forms.Select(choices=[("", "any"), *Priority.choices])}

    def clean(self) -> dict:
        cleaned = super().clean()
        team, organization = cleaned.get("team"), cleaned.get("organization")
        if team and organization and team.organization_id != organization.pk:
            self.add_error("team", "The team belongs to another organization.")
        return cleaned


@admin.register(RoutingRule)
class RoutingRuleAdmin(OrganizationScopedAdmin):
    form = RoutingRuleForm
    list_display = ["position", "team", "agent", "min_priority", "keywords", "organization"]
    list_filter = ["organization"]
