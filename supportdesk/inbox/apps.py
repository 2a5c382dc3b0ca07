from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "supportdesk.inbox"
    label = "inbox"
    verbose_name = "Reviewer inbox"

    def ready(self) -> None:
        from supportdesk.desk import observers as desk
        from supportdesk.durable import observers as durable
        from supportdesk.inbox import live, notifications, sessions, tasks  # noqa: F401

        durable.subscribe(live.run_changed)
        # The desk announces its changes after commit; the inbox pushes them to open pages and
        # notifies reviewers. (The desk never imports the inbox.)
        for topic in (desk.QUESTION_OPENED, desk.QUESTION_CHANGED, desk.QUESTION_EXPIRED):
            desk.subscribe(topic, live.publish_question)
        desk.subscribe(desk.QUESTION_OPENED, notifications.notify_opened)
        desk.subscribe(desk.QUESTION_EXPIRED, notifications.notify_expired)
        desk.subscribe(desk.TICKET_CHANGED, live.publish_ticket)
        sessions.connect_signals()
