"""Django admin scoped to organizations: a staff user who is not a superuser sees and edits only the
organizations they are a reviewer of, and the rows that belong to them (also in the engine's and the
API's admin pages, which use the rules written here)."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest

from supportdesk.desk.models import Organization
from supportdesk.desk.services import organization_tenant
from supportdesk.scoped_admin import ScopedAdminMixin, sees_everything


def staff_organization_ids(request: HttpRequest) -> frozenset[int] | None:
    """The organizations `request.user` administers; None: all of them (superusers).

    A user is the reviewer of one organization at most today (Reviewer.user is one-to-one); the
    rules below take a set so that they hold if that changes."""
    if sees_everything(request):
        return None
    cached = getattr(request, "_staff_organization_ids", None)
    if cached is None:
        cached = frozenset(
            Organization.objects.filter(reviewers__user=request.user).values_list("pk", flat=True)
        )
        request._staff_organization_ids = cached  # one query per request, not per form field
    return cached


def administers_an_organization(request: HttpRequest) -> bool:
    """False for a staff user of no organization: they may create nothing, it would be an orphan
    they would not see again."""
    return staff_organization_ids(request) != frozenset()


def staff_tenants(request: HttpRequest) -> frozenset[str] | None:
    """The engine's tenants `request.user` may see in admin (registered in DeskConfig.ready)."""
    organization_ids = staff_organization_ids(request)
    if organization_ids is None:
        return None
    return frozenset(organization_tenant(pk) for pk in organization_ids)


def _field_to(model: type[Model], target: type[Model]) -> str | None:
    for field in model._meta.concrete_fields:
        if field.is_relation and field.related_model is target:
            return field.name
    return None


def organization_lookup(model: type[Model]) -> str | None:
    """The path from `model` to its Organization: a foreign key to it (tickets, keys, agents...), or
    one through another foreign key (a question's or a reply's ticket). None: it has none."""
    direct = _field_to(model, Organization)
    if direct:
        return direct
    for field in model._meta.concrete_fields:
        if field.is_relation and field.many_to_one and field.related_model is not model:
            through = _field_to(field.related_model, Organization)
            if through:
                return f"{field.name}__{through}"
    return None


def _has_tenant(model: type[Model]) -> bool:
    return model._meta.app_label == "durable" and any(
        field.name == "tenant" for field in model._meta.concrete_fields
    )


def organization_scope(request: HttpRequest, queryset: QuerySet) -> QuerySet:
    """The rows of `queryset` that `request.user` may see in admin, for any model of the project."""
    organization_ids = staff_organization_ids(request)
    if organization_ids is None:
        return queryset
    model = queryset.model
    if model is Organization:
        return queryset.filter(pk__in=organization_ids)
    if model is get_user_model():
        # Their organizations' reviewers, and themselves (who may be no reviewer at all).
        return queryset.filter(
            Q(reviewer__organization__in=organization_ids) | Q(pk=request.user.pk)
        )
    if model is Group:
        return queryset.filter(user=request.user)  # groups are platform-wide: only their own
    if _has_tenant(model):
        return queryset.filter(tenant__in=staff_tenants(request))
    lookup = organization_lookup(model)
    if lookup is None:
        return queryset.none()  # a model that belongs to no organization is platform-wide
    return queryset.filter(**{f"{lookup}__in": organization_ids})


class OrganizationScopedMixin(ScopedAdminMixin):
    """Scopes an admin (model or inline) to the user's organizations; the organization field of a
    new object offers only those, preselected when there is one."""

    def scope_queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return organization_scope(request, queryset)

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if (
            formfield is not None
            and db_field.related_model is Organization
            and not sees_everything(request)
        ):
            only = list(formfield.queryset[:2])
            if len(only) == 1:
                formfield.initial = only[0].pk
        return formfield


class OrganizationScopedAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and administers_an_organization(request)
