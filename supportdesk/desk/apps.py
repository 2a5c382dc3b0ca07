from django.apps import AppConfig


class DeskConfig(AppConfig):
    name = "supportdesk.desk"
    label = "desk"
    verbose_name = "Support desk"

    def ready(self) -> None:
        from supportdesk.desk.admin_scoping import staff_tenants
        from supportdesk.desk.selectors import organization_concurrency
        from supportdesk.desk.services.base import DEVELOPER_RESPONSE, TOOL_DECISION
        from supportdesk.durable import fairness, timeline
        from supportdesk.durable.tenancy import admin_tenants_resolver_register

        # An organization's runs share its concurrency limit (set in admin).
        fairness.set_limit_resolver(organization_concurrency)
        # The engine's admin shows a staff user the runs of their organizations only; the engine
        # cannot know organizations (it must not import the desk), so the desk tells it.
        admin_tenants_resolver_register(staff_tenants)
        # A run's timeline says what it waits for in words, not by event name.
        timeline.describe_event(DEVELOPER_RESPONSE, "a developer's answer")
        timeline.describe_event(TOOL_DECISION, "a reviewer's decision")
