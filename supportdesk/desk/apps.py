from django.apps import AppConfig


class DeskConfig(AppConfig):
    name = "supportdesk.desk"
    label = "desk"
    verbose_name = "Support desk"

    def ready(self) -> None:
        from supportdesk.desk.admin_scoping import staff_tenants
        from supportdesk.desk.selectors import organization_concurrency
        from supportdesk.durable import fairness
        from supportdesk.durable.tenancy import admin_tenants_resolver_register

        # An organization's runs share its concurrency limit (set in admin).
        fairness.set_limit_resolver(organization_concurrency)
        # The engine's admin shows a staff user the runs of their organizations only; the engine
        # cannot know organizations (it must not import the desk), so the desk tells it.
        admin_tenants_resolver_register(staff_tenants)
