"""Huey tasks of the inbox: thin wrappers."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from supportdesk.inbox import digests, notifications, slack


@db_task()
def send_notification_task(notification_id: int) -> dict:
    return digests.notification_send(notification_id)


@db_task()
def ticket_notify_task(ticket_id: int) -> dict:
    return notifications.ticket_notify(ticket_id)


@db_task()
def nudge_notify_task(activity_id: int) -> dict:
    return notifications.nudge_notify(activity_id)


@db_task()
def slack_post_task(question_id: str) -> bool:
    return slack.request_post(question_id)


@db_task()
def slack_update_task(question_id: str) -> bool:
    return slack.request_update(question_id)


@db_periodic_task(crontab(minute="*"))
def send_digests_task() -> int:
    """Once a minute: held notifications go out as one digest per organization and kind."""
    return digests.digests_send()
