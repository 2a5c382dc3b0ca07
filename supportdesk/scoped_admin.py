"""Admin pages that show a staff user only what they may see. Each app says what that is (the desk:
the user's organizations; the engine: their tenants); the machinery shared by both lives here."""

import re

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest


def sees_everything(request: HttpRequest) -> bool:
    """Superusers keep the platform-wide admin; everyone else is scoped."""
    return request.user.is_superuser


class ScopedRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A relation's list filter offering only the related objects the user may see (the stock one
    lists every row of the related table: every organization's name, to anyone)."""

    def field_choices(self, field, request, model_admin):
        related = field.remote_field.model._default_manager.all()
        allowed = model_admin.scope_queryset(request, related).values("pk")
        return field.get_choices(
            include_blank=False,
            limit_choices_to={"pk__in": allowed},
            ordering=self.field_admin_ordering(field, request, model_admin),
        )


class ScopedAdminMixin:
    """For a user who does not see everything, every way into the data goes through
    `scope_queryset`: changelists, search, actions and list_editable (they all start from
    get_queryset), object pages, relation choices in forms and list filters, and the autocomplete
    view (which asks the related model's admin for its get_queryset).

    Mix it into a ModelAdmin or an InlineModelAdmin before the Django class.
    """

    # Model fields whose values are secrets: no changelist lookup may probe them character by
    # character (`?field__startswith=…` is otherwise allowed on any local field).
    secret_fields: tuple[str, ...] = ()

    def scope_queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        """The rows of `queryset` (of any model: this admin's or a related one) that a scoped user
        may see. A model the app does not know must come back empty: fail closed."""
        raise NotImplementedError

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        return queryset if sees_everything(request) else self.scope_queryset(request, queryset)

    def get_object(self, request: HttpRequest, object_id, from_field=None):
        found = super().get_object(request, object_id, from_field)
        if found is None and not sees_everything(request):
            # Not the stock redirect to the index: a 404, as the API answers another tenant's ids,
            # the same whether the object belongs to someone else or does not exist.
            raise Http404("No such object.")
        return found

    def changelist_view(self, request: HttpRequest, extra_context=None):
        editing_rows = request.method == "POST" and "_save" in request.POST and self.list_editable
        if editing_rows and not sees_everything(request):
            self._refuse_rows_out_of_scope(request)
        return super().changelist_view(request, extra_context)

    def _refuse_rows_out_of_scope(self, request: HttpRequest) -> None:
        # list_editable: Django's formset takes a row id it cannot find among the rows for a *new*
        # object (which then fails on the fields the list does not show, with a 500). An id
        # outside the user's rows can only come from a forged POST: refuse it whole.
        prefix = self.get_changelist_formset(request).get_default_prefix()
        pk = self.opts.pk
        row_id = re.compile(rf"{re.escape(prefix)}-\d+-{re.escape(pk.name)}")
        posted = {value for key, value in request.POST.items() if row_id.fullmatch(key)}
        try:
            ids = {pk.to_python(value) for value in posted}
        except ValidationError:
            raise Http404("No such object.") from None
        if self.get_queryset(request).filter(pk__in=ids).count() != len(ids):
            raise Http404("No such object.")

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        return self._scoped_choices(
            super().formfield_for_foreignkey(db_field, request, **kwargs), request
        )

    def formfield_for_manytomany(self, db_field, request: HttpRequest, **kwargs):
        return self._scoped_choices(
            super().formfield_for_manytomany(db_field, request, **kwargs), request
        )

    def _scoped_choices(self, formfield, request: HttpRequest):
        # A choice outside the scope is neither offered nor accepted: the field validates
        # against the same queryset.
        if formfield is not None and not sees_everything(request):
            formfield.queryset = self.scope_queryset(request, formfield.queryset)
        return formfield

    def get_list_filter(self, request: HttpRequest):
        list_filter = super().get_list_filter(request)
        if sees_everything(request):
            return list_filter
        return [self._scoped_list_filter(item) for item in list_filter]

    def _scoped_list_filter(self, item):
        if not isinstance(item, str):
            return item  # (field, FilterClass) or a SimpleListFilter: it chose its own choices
        try:
            field = get_fields_from_path(self.model, item)[-1]
        except FieldDoesNotExist:
            return item
        if field.is_relation:
            return (item, ScopedRelatedFieldListFilter)
        return item  # plain values are listed from get_queryset, which is scoped

    # Django 5.2's signature (request becomes required in 6.0).
    def lookup_allowed(self, lookup: str, value, request: HttpRequest | None = None) -> bool:
        probed = lookup.split("__", 1)[0]
        return probed not in self.secret_fields and super().lookup_allowed(lookup, value, request)
