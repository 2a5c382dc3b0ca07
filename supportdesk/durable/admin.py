"""Runs, steps, waits and events, readable in Django admin; runs can be cancelled from there.
A staff user who is not a superuser sees only the tenants `tenancy.admin_tenants` gives them."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from supportdesk.durable.models import Event, Run, RunTransition, Step, Wait
from supportdesk.durable.services import run_cancel, run_retry
from supportdesk.durable.tenancy import admin_tenants
from supportdesk.durable.timeline import compact
from supportdesk.scoped_admin import ScopedAdminMixin


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class StepInline(ReadOnlyInline):
    model = Step
    fields = ["position", "key", "kind", "status", "attempts", "duration", "output_excerpt",
              "error"]  # fmt: skip
    readonly_fields = fields

    @admin.display(description="output")
    def output_excerpt(self, step: Step) -> str:
        # The whole output can be a model response of many kilobytes; the run's timeline (API,
        # CLI, ticket page) has it in full.
        return "" if step.output is None else compact(step.output, 600)

    @admin.display(description="duration")
    def duration(self, step: Step) -> str:
        return "" if step.duration_ms is None else f"{step.duration_ms:.1f} ms"


class TransitionInline(ReadOnlyInline):
    model = RunTransition
    fields = ["at", "status", "reason"]
    readonly_fields = fields


class WaitInline(ReadOnlyInline):
    model = Wait
    fields = ["kind", "step_key", "event_name", "expression", "status", "expires_at", "resolved_by"]
    readonly_fields = fields


class ReadOnlyAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Read-only, and scoped to the user's tenants. The inlines above need no scope of their own:
    they only appear on the page of a run that get_queryset let through."""

    def scope_queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        tenants = admin_tenants(request)
        if tenants is None:
            return queryset
        if any(field.name == "tenant" for field in queryset.model._meta.concrete_fields):
            return queryset.filter(tenant__in=tenants)
        return queryset.none()

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = ["id", "function_id", "status", "created_at", "ended_at"]
    list_filter = ["status", "function_id"]
    search_fields = ["id", "function_id", "event__event_id"]
    readonly_fields = [f.name for f in Run._meta.fields]
    inlines = [StepInline, WaitInline, TransitionInline]
    actions = ["cancel_runs", "retry_runs"]
    list_select_related = ["event"]

    @admin.action(description="Cancel selected runs")
    def cancel_runs(self, request, queryset) -> None:
        cancelled = sum(
            run_cancel(run.pk, reason=f"cancelled by {request.user}") for run in queryset
        )
        self.message_user(request, f"Cancelled {cancelled} run(s).", messages.SUCCESS)

    @admin.action(description="Retry selected failed runs from their failed step")
    def retry_runs(self, request, queryset) -> None:
        retried = sum(run_retry(run.pk, reason=f"retried by {request.user}") for run in queryset)
        skipped = queryset.count() - retried
        note = f" ({skipped} skipped: only failed runs can be retried)" if skipped else ""
        self.message_user(request, f"Retried {retried} run(s){note}.", messages.SUCCESS)


@admin.register(Wait)
class WaitAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "event_name", "expression", "status", "expires_at", "run"]
    list_filter = ["status", "kind", "event_name"]
    readonly_fields = [f.name for f in Wait._meta.fields]
    list_select_related = ["run"]


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "name", "received_at", "processed_at"]
    list_filter = ["name"]
    search_fields = ["event_id", "name"]
    readonly_fields = [f.name for f in Event._meta.fields]
