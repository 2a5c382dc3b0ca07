"""The right reviewer, in time: routing to teams, deadlines by priority, reminders and
escalation (durable, on a fake clock here; tests/reliability/test_reminders.py in real time)."""

from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from supportdesk.desk import services
from supportdesk.desk.models import Question, Reviewer, RoutingRule, Team
from supportdesk.durable.models import Run, RunStatus, Step
from supportdesk.inbox import notifications
from tests.conftest import make_reviewer

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def teams(organization, ann, bob):
    """Mobile (Ann, on call) and Backend (Bob); iOS and Android tickets go to Mobile."""
    mobile = Team.objects.create(organization=organization, name="Mobile",
                                 on_call=Reviewer.objects.get(user=ann))  # fmt: skip
    mobile.members.add(Reviewer.objects.get(user=ann))
    backend = Team.objects.create(organization=organization, name="Backend")
    backend.members.add(Reviewer.objects.get(user=bob))
    RoutingRule.objects.create(organization=organization, team=mobile, keywords="ios, android")
    return {"mobile": mobile, "backend": backend}


def critical(organization, title: str):
    return services.ticket_create(organization=organization, title=title, priority="critical")


def test_rules_route_a_request_and_only_its_team_is_told(organization, teams, drain, carol):
    make_reviewer("dee", organization)  # in no team
    ticket = critical(organization, "The iOS app crashes on launch")
    drain()
    question = ticket.questions.get()
    assert question.team == teams["mobile"]
    assert (
        question.activity.get(action="routed").detail == "to Mobile (routing rule 0: "
        "keywords ios, android)"
    )
    notifications.question_notify(question.pk, "opened")
    assert mail.outbox[-1].to == ["ann@example.com"]  # not Bob, not Dee, not another org


def test_a_request_no_rule_matches_goes_to_everyone(organization, teams, drain):
    ticket = critical(organization, "The web dashboard is down")
    drain()
    question = ticket.questions.get()
    assert question.team is None
    notifications.question_notify(question.pk, "opened")
    assert sorted(mail.outbox[-1].to) == ["ann@example.com", "bob@example.com"]


def test_rules_by_agent_and_priority(organization, teams, drain):
    RoutingRule.objects.all().delete()
    RoutingRule.objects.create(organization=organization, team=teams["backend"], position=1,
                               agent="Technical Support", min_priority="high")  # fmt: skip
    ticket = critical(organization, "Payments fail")
    drain()
    assert ticket.questions.get().team == teams["backend"]


def test_the_agent_may_choose_the_team_among_the_organizations(
    organization, teams, drain, settings, monkeypatch
):
    """ask_developer's `team` argument is an enum of the organization's teams."""
    import json

    from supportdesk.desk.demo_model import demo_blocks
    from tests.fakes.anthropic_server import FakeAnthropicServer, message, tool_use_block

    seen_schemas = []

    def claude(body: dict) -> dict:
        tools = {t["name"]: t for t in body.get("tools", [])}
        if "ask_developer" in tools:
            seen_schemas.append(tools["ask_developer"]["input_schema"])
            if "tool_result" not in json.dumps(body["messages"][-1]):
                return message(tool_use_block("ask_developer", {
                    "question": "Is the payment service down?", "team": "Backend"}))  # fmt: skip
        return message(*demo_blocks(messages=body["messages"], tools=list(tools), labelled=False))

    with FakeAnthropicServer(claude) as fake:
        settings.ANTHROPIC_API_KEY_SET = True
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        ticket = critical(organization, "The iOS app can't pay")  # a rule says Mobile
        drain()
    question = ticket.questions.get()
    assert question.team == teams["backend"]  # the agent's choice wins
    assert (
        question.activity.get(action="routed").detail == "to Backend (chosen by Technical Support)"
    )
    team_schema = seen_schemas[0]["properties"]["team"]
    assert sorted(team_schema["anyOf"][0]["enum"]) == ["Backend", "Mobile"]


def test_my_teams_is_the_default_view_and_everyones_shows_all(organization, teams, ann, drain):
    mine = critical(organization, "Android login loops")
    theirs = critical(organization, "Database errors")
    RoutingRule.objects.create(organization=organization, team=teams["backend"], position=1,
                               keywords="database")  # fmt: skip
    drain()
    client = Client()
    client.force_login(ann)
    default = client.get("/inbox/").content.decode()
    everyone = client.get("/inbox/?scope=everyone").content.decode()
    mine_q, theirs_q = mine.questions.get(), theirs.questions.get()
    assert f"question-{mine_q.pk}" in default and f"question-{theirs_q.pk}" not in default
    assert f"question-{theirs_q.pk}" in everyone


def test_a_request_is_assigned_audited_and_its_assignee_told(organization, teams, ann, bob,
                                                              drain):  # fmt: skip
    ticket = critical(organization, "Database errors")
    drain()
    question = ticket.questions.get()
    client = Client()
    client.force_login(ann)
    bob_reviewer = Reviewer.objects.get(user=bob)
    client.post(f"/questions/{question.pk}/assign", {"to": f"reviewer:{bob_reviewer.pk}"})
    question.refresh_from_db()
    assert question.assignee == bob_reviewer
    activity = question.activity.get(action="assigned")
    assert (activity.actor, activity.detail) == ("Ann Lee (the inbox)", "to Bob Ray")
    notifications.nudge_notify(activity.pk)
    assert mail.outbox[-1].to == ["bob@example.com"]
    assert mail.outbox[-1].subject.startswith("[supportdesk] Assigned to Bob Ray: ticket #")


# --- deadlines, reminders and escalation on a fake clock ------------------------------------------
def advance(minutes: float) -> None:
    """The fake clock: move every request `minutes` into its life, as waiting would (answered
    ones too: a reminders run reads its request's times when it starts, at its first nudge)."""
    shift = timedelta(minutes=minutes)
    for question in Question.objects.all():
        Question.objects.filter(pk=question.pk).update(
            created_at=question.created_at - shift, expires_at=question.expires_at - shift
        )
    for plan in Step.objects.filter(run__function_id="request-reminders", key="plan"):
        shifted = [{**nudge, "at": (datetime.fromisoformat(nudge["at"]) - shift).isoformat()}
                   for nudge in plan.output]  # fmt: skip
        Step.objects.filter(pk=plan.pk).update(output=shifted)
    now = timezone.now()
    sleeping = Run.objects.filter(status=RunStatus.SLEEPING)
    for run in sleeping:
        wake_at = run.wake_at - shift
        Run.objects.filter(pk=run.pk).update(wake_at=wake_at)
        Step.objects.filter(run=run, status="sleeping").update(wake_at=min(wake_at, now))


def test_a_critical_request_is_reminded_then_escalated_before_its_deadline(
    organization, teams, drain, settings
):
    settings.QUESTION_TIMEOUT = None  # the deadlines by priority, as in production
    ticket = critical(organization, "iOS checkout crashes")
    drain()
    question = ticket.questions.get()
    assert round((question.expires_at - question.created_at).total_seconds()) == 30 * 60
    reminders = Run.objects.get(function_id="request-reminders")
    assert reminders.status == RunStatus.SLEEPING  # holding no worker until the first nudge
    journal = []
    for minutes, expected in [(16, ["reminded"]), (9, ["reminded", "escalated"]),
                              (3, ["reminded", "escalated", "escalated"])]:  # fmt: skip
        advance(minutes)
        drain()
        nudged = question.activity.exclude(action="routed")
        journal = list(nudged.values_list("action", flat=True))
        assert [a for a in journal if a in ("reminded", "escalated")][-len(expected) :] == expected
    question.refresh_from_db()
    assert question.escalation == "everyone"
    details = list(question.activity.values_list("detail", flat=True))
    assert "to on-call Ann Lee" in details and "to everyone" in details
    assert services.nudges_summary(question).startswith("reminded ")


def test_an_answered_request_ends_its_reminders(organization, teams, drain, settings):
    settings.QUESTION_TIMEOUT = None
    ticket = critical(organization, "iOS checkout crashes")
    drain()
    services.question_answer(question=ticket.questions.get(), answered_by="Ann", answer="Fixed")
    advance(16)
    drain()
    reminders = Run.objects.get(function_id="request-reminders")
    assert reminders.status == RunStatus.COMPLETED
    assert reminders.output == {"ended": "the request no longer waits"}
    assert not ticket.questions.get().activity.filter(action="reminded").exists()


def test_deadlines_follow_the_organizations_setting_by_priority(organization, drain, settings):
    settings.QUESTION_TIMEOUT = None
    organization.deadlines = {"critical": "10m"}
    organization.save(update_fields=["deadlines"])
    ticket = critical(organization, "Crash")
    drain()
    question = ticket.questions.get()
    assert round((question.expires_at - question.created_at).total_seconds()) == 10 * 60


def test_a_holding_reply_tells_the_customer_first(organization, drain):
    organization.holding_reply = True
    organization.save(update_fields=["holding_reply"])
    ticket = critical(organization, "Checkout crashes")
    drain()
    assert ticket.questions.count() == 1
    [holding] = ticket.replies.all()
    assert "this needs one of our engineers, and we have asked one" in holding.body
