import sys

from django.apps import AppConfig
from django.conf import settings


def live_layer_is_in_process() -> bool:
    return settings.CHANNEL_LAYERS["default"]["BACKEND"].endswith("InProcessChannelLayer")


def running_a_command_other_than_serve() -> bool:
    """`manage.py ticket close 3`, `manage.py run_huey`: a process without the open sockets."""
    command = sys.argv[1] if len(sys.argv) > 1 and sys.argv[0].endswith("manage.py") else ""
    return command not in ("", "serve", "runserver", "test", "shell")


class InboxConfig(AppConfig):
    name = "supportdesk.inbox"
    label = "inbox"
    verbose_name = "Reviewer inbox"

    def ready(self) -> None:
        from supportdesk.desk import observers as desk
        from supportdesk.durable import observers as durable
        from supportdesk.inbox import live, notifications, sessions, slack, tasks  # noqa: F401

        durable.subscribe(live.run_changed)
        # The desk announces its changes after commit; the inbox pushes them to open pages and
        # notifies reviewers. (The desk never imports the inbox.)
        for topic in (desk.QUESTION_OPENED, desk.QUESTION_CHANGED, desk.QUESTION_EXPIRED):
            desk.subscribe(topic, live.publish_question)
        desk.subscribe(desk.QUESTION_OPENED, notifications.notify_opened)
        desk.subscribe(desk.QUESTION_EXPIRED, notifications.notify_expired)
        desk.subscribe(desk.TICKET_CHANGED, live.publish_ticket)
        desk.subscribe(desk.TICKET_NEEDS_ATTENTION, notifications.notify_needs_attention)
        desk.subscribe(desk.REQUEST_NUDGED, notifications.notify_nudged)
        # The Slack app posts each request, and rewrites its message once it is answered anywhere.
        desk.subscribe(desk.QUESTION_OPENED, slack.request_opened)
        for topic in (desk.QUESTION_CHANGED, desk.QUESTION_EXPIRED):
            desk.subscribe(topic, slack.request_changed)
        sessions.connect_signals()
        if live_layer_is_in_process() and running_a_command_other_than_serve():
            live.use_outbox()  # the server relays what this process pushes
