"""Reminders and escalation in real time, through a real worker: a 4-second deadline is reminded
at 2 s and 3.2 s, escalated to the on-call at 3.2 s and to everyone at 3.6 s, then expires."""

import time

import pytest

from supportdesk.desk import services
from supportdesk.desk.models import Question, QuestionStatus, Reviewer, Team
from tests.conftest import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_a_request_is_reminded_and_escalated_on_time_then_expires(organization, ann, start_worker):
    organization.deadlines = {"critical": "4s"}
    organization.save(update_fields=["deadlines"])
    mobile = Team.objects.create(organization=organization, name="Mobile",
                                 on_call=Reviewer.objects.get(user=ann))  # fmt: skip
    start_worker(workers=2, extra_env={"SUPPORTDESK_QUESTION_TIMEOUT": "",
                                       "SUPPORTDESK_QUESTION_ANSWER_GRACE": "0s"})  # fmt: skip
    ticket = services.ticket_create(organization=organization, title="iOS crash",
                                    priority="critical")  # fmt: skip
    question = wait_until(lambda: Question.objects.filter(ticket=ticket).first(), timeout=20)
    Question.objects.filter(pk=question.pk).update(team=mobile)
    opened = question.created_at
    wait_until(lambda: Question.objects.get(pk=question.pk).status == QuestionStatus.EXPIRED,
               timeout=20)  # fmt: skip
    time.sleep(0.5)
    nudges = [(a.action, a.detail, (a.at - opened).total_seconds())
              for a in Question.objects.get(pk=question.pk).activity.order_by("at")]  # fmt: skip
    assert [(action, detail) for action, detail, _ in nudges] == [
        ("reminded", "Mobile"), ("reminded", "Mobile"),
        ("escalated", "to on-call Ann Lee"), ("escalated", "to everyone"),
    ]  # fmt: skip
    for (_, _, at), due in zip(nudges, [2.0, 3.2, 3.2, 3.6], strict=True):
        assert due <= at < due + 1.5  # Huey's scheduler ticks once a second
