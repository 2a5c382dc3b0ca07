"""API keys and event keys in Django admin: created from the add form, whose response shows the key
once (never in a message: those travel in a signed, readable cookie), then only its prefix; revoked
with an action. A staff user sees and creates keys of their own organizations only."""

from django.contrib import admin, messages
from django.http import HttpRequest
from django.template.response import TemplateResponse

from supportdesk.api import services
from supportdesk.api.models import ApiKey, EventKey, Key
from supportdesk.desk.admin_scoping import OrganizationScopedAdmin

KEY_FIELDS = ["organization", "name", "prefix", "created_at", "last_used_at", "revoked_at"]


class KeyAdmin(OrganizationScopedAdmin):
    list_display = ["name", "prefix", "organization", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["organization", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    list_select_related = ["organization"]
    actions = ["revoke_keys"]
    secret_fields = ("secret_hash",)
    usage = ""

    def get_fields(self, request: HttpRequest, obj: Key | None = None) -> list[str]:
        return ["organization", "name"] if obj is None else KEY_FIELDS

    def get_readonly_fields(self, request: HttpRequest, obj: Key | None = None) -> list[str]:
        # A key stays with its organization; only its name can change.
        return [] if obj is None else [f for f in KEY_FIELDS if f != "name"]

    def save_model(self, request: HttpRequest, obj: Key, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # Kept on this in-memory instance for response_add, the only place it is ever shown.
        obj.issued_plaintext = services.key_issue(obj)

    def response_add(self, request: HttpRequest, obj: Key, post_url_continue=None):
        """Show the new key in the response to the add form itself: it never leaves the server in
        a cookie, a session or a redirect URL. Admin views are never cached (admin_view)."""
        context = {
            **self.admin_site.each_context(request),
            "title": f"New {self.opts.verbose_name}: copy it now",
            "opts": self.opts,
            "key": obj,
            "plaintext": obj.issued_plaintext,
            "usage": self.usage,
        }
        return TemplateResponse(request, "admin/api/key_issued.html", context)

    @admin.action(description="Revoke selected keys")
    def revoke_keys(self, request: HttpRequest, queryset) -> None:
        revoked = sum(services.key_revoke(key=key) for key in queryset)
        self.message_user(request, f"Revoked {revoked} key(s).", messages.SUCCESS)


@admin.register(ApiKey)
class ApiKeyAdmin(KeyAdmin):
    usage = "send it as `Authorization: Bearer <key>` to /api/"


@admin.register(EventKey)
class EventKeyAdmin(KeyAdmin):
    usage = "send events to /e/<key>, e.g. as an Inngest client's event_key"
