from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "supportdesk.inbox"
    label = "inbox"
    verbose_name = "Reviewer inbox"

    def ready(self) -> None:
        from supportdesk.durable import observers
        from supportdesk.inbox import live, tasks  # noqa: F401  (registers the Huey tasks)

        observers.subscribe(live.run_changed)
