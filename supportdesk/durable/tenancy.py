"""Which tenants a staff user may see in the engine's admin pages. The engine knows tenants only as
strings; the app that owns them (the desk: organizations) says who sees which by registering a
resolver at startup, so the engine never imports it."""

from collections.abc import Callable, Iterable

from django.http import HttpRequest

from supportdesk.scoped_admin import sees_everything

# request → the tenants its user may see; None: every tenant.
AdminTenantsResolver = Callable[[HttpRequest], Iterable[str] | None]

_resolver: AdminTenantsResolver | None = None


def admin_tenants_resolver_register(resolver: AdminTenantsResolver | None) -> None:
    """Called once from the owning app's AppConfig.ready (None unregisters: for tests)."""
    global _resolver
    _resolver = resolver


def admin_tenants(request: HttpRequest) -> frozenset[str] | None:
    """The tenants `request.user` may see in admin; None: all of them (superusers).

    Without a registered resolver a scoped user sees no tenant: fail closed."""
    if sees_everything(request):
        return None
    if _resolver is None:
        return frozenset()
    tenants = _resolver(request)
    return None if tenants is None else frozenset(tenants)
