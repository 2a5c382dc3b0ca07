"""Huey tasks of the inbox: thin wrappers."""

from huey.contrib.djhuey import db_task

from supportdesk.inbox import notifications


@db_task()
def notify_question_task(question_id: str, kind: str) -> dict:
    return notifications.question_notify(question_id, kind)
