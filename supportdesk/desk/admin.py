"""The desk in Django admin: tickets with their replies and questions, and the knowledge base."""

from django import forms
from django.contrib import admin

from supportdesk.desk.models import (
    AgentConfig,
    Article,
    NetworkConfig,
    Organization,
    Question,
    ReleaseNote,
    Reply,
    Reviewer,
    Ticket,
)
from supportdesk.desk.tools import TOOLS


class ReplyInline(admin.TabularInline):
    model = Reply
    extra = 0
    fields = ["created_at", "agent", "body"]
    readonly_fields = fields
    can_delete = False


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0
    fields = ["created_at", "agent", "question", "status", "answer", "answered_by"]
    readonly_fields = fields
    can_delete = False


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Reviewer)
class ReviewerAdmin(admin.ModelAdmin):
    list_display = ["user", "organization"]
    list_filter = ["organization"]


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "priority", "status", "organization", "created_at"]
    list_filter = ["status", "priority", "organization"]
    search_fields = ["title", "body", "customer"]
    readonly_fields = ["runs", "resolution", "created_at", "updated_at"]
    inlines = [ReplyInline, QuestionInline]


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["id", "ticket", "agent", "status", "answered_by", "created_at", "expires_at"]
    list_filter = ["status"]
    readonly_fields = [f.name for f in Question._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # A question is its run's open wait and the audit of its answer: deleting a pending one
        # would leave the run waiting until its timeout. Close the ticket or cancel the run.
        return False


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "organization", "tags", "updated_at"]
    list_filter = ["organization"]
    search_fields = ["title", "body", "tags"]


@admin.register(ReleaseNote)
class ReleaseNoteAdmin(admin.ModelAdmin):
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
class AgentConfigAdmin(admin.ModelAdmin):
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
class NetworkConfigAdmin(admin.ModelAdmin):
    form = NetworkConfigForm
    list_display = ["name", "organization", "router", "default_model", "max_iterations"]
