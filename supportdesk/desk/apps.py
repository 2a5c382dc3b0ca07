from django.apps import AppConfig


class DeskConfig(AppConfig):
    name = "supportdesk.desk"
    label = "desk"
    verbose_name = "Support desk"

    def ready(self) -> None:
        from supportdesk.desk.selectors import organization_concurrency
        from supportdesk.durable import fairness

        # An organization's runs share its concurrency limit (set in admin).
        fairness.set_limit_resolver(organization_concurrency)
