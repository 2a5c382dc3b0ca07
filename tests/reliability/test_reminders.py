"""Reminders and escalation in real time, through a real worker: an 8-second deadline is reminded
at 2.4 s and 4 s, escalated to the on-call at 4 s and to everyone at 4.8 s, then expires. (The
plan's fractions leave 3 s before the deadline: Huey's scheduler ticks once a second, and a loaded
machine adds more.)"""

import time

import pytest

from supportdesk.desk import services
from supportdesk.desk.models import Question, QuestionStatus, Reviewer, Team
from tests.conftest import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_a_request_is_reminded_and_escalated_on_time_then_expires(organization, ann, start_worker):
    organization.deadlines = {"critical": "8s"}
    organization.escalation = {"remind": [0.3, 0.5], "on_call": 0.5, "everyone": 0.6}
    organization.save(update_fields=["deadlines", "escalation"])
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
               timeout=30)  # fmt: skip
    time.sleep(0.5)
    nudges = [(a.action, a.detail, (a.at - opened).total_seconds())
              for a in Question.objects.get(pk=question.pk).activity.order_by("at")]  # fmt: skip
    assert [(action, detail) for action, detail, _ in nudges] == [
        ("reminded", "Mobile"), ("reminded", "Mobile"),
        ("escalated", "to on-call Ann Lee"), ("escalated", "to everyone"),
    ]  # fmt: skip
    for (_, _, at), due in zip(nudges, [2.4, 4.0, 4.0, 4.8], strict=True):
        assert due <= at < due + 1.5  # Huey's scheduler ticks once a second
