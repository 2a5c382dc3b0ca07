from django.apps import AppConfig


class DurableConfig(AppConfig):
    name = "supportdesk.durable"
    label = "durable"
    verbose_name = "Durable runs"

    def ready(self) -> None:
        from supportdesk.durable import tasks  # noqa: F401  (registers the Huey tasks everywhere)
        from supportdesk.durable.registry import import_workflow_modules

        import_workflow_modules()
