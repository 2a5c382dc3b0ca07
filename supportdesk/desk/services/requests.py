"""Writes of what surrounds a human request (a question or an approval): routing it to a team
when it opens, assigning it, and the reminders and escalations its deadline brings — each
recorded as the request's activity, so its card can say "reminded 10:42 · escalated 11:05"."""

from django.db import transaction
from django.utils import timezone

from supportdesk import durable
from supportdesk.desk import observers, teams
from supportdesk.desk.errors import Conflict, DeskError
from supportdesk.desk.models import (
    Channel,
    Question,
    QuestionStatus,
    RequestActivity,
    Reviewer,
    Team,
)
from supportdesk.desk.services.base import REQUEST_OPENED, organization_tenant
from supportdesk.durable.values import storable_text

REMIND, ON_CALL, EVERYONE = "remind", "on_call", "everyone"


def _record(question: Question, actor: str, action: str, detail: str = "") -> RequestActivity:
    return RequestActivity.objects.create(
        question=question, actor=storable_text(actor)[:250], action=action,
        detail=storable_text(detail)[:2000],
    )  # fmt: skip


def request_route(question: Question, *, chosen_team: str = "") -> None:
    """A request just opened (inside its wait's transaction): send it to its team, and schedule
    its reminders: a durable run of its own that starts at the first nudge (its event's `ts`)
    and sleeps until each next one. Until then it takes no worker, and no slot of the
    organization's concurrency limit from the run that asked (an answer right away resumes at
    once)."""
    ticket = question.ticket
    team, why = teams.team_for(
        ticket.organization, agent=question.agent, priority=ticket.priority,
        text=f"{ticket.title}\n{ticket.body}", chosen=chosen_team,
    )  # fmt: skip
    if team is not None:
        Question.objects.filter(pk=question.pk).update(team=team)
        question.team = team
        _record(question, "routing", "routed", f"to {team.name} ({why})")
    plan = teams.nudge_plan(ticket.organization, opened=question.created_at,
                            deadline=question.expires_at)  # fmt: skip
    first_nudge = plan[0].at if plan else timezone.now()
    durable.send_events(
        {"name": REQUEST_OPENED, "data": {"questionId": str(question.pk)},
         "id": f"request-opened-{question.pk}", "ts": int(first_nudge.timestamp() * 1000)},
        tenant=organization_tenant(ticket.organization_id),
    )  # fmt: skip


def request_terms(*, organization_id: int, priority: str) -> dict:
    """When a question opens now, its deadline and whether the customer first hears that a person
    is on it (memoized by the asking run: a replay keeps the terms it started with)."""
    from django.conf import settings

    from agents.step import parse_duration
    from supportdesk.desk.models import Organization

    organization = Organization.objects.get(pk=organization_id)
    deadline = (parse_duration(settings.QUESTION_TIMEOUT) if settings.QUESTION_TIMEOUT
                else teams.deadline_for(organization, priority))  # fmt: skip
    return {"at": timezone.now().isoformat(), "deadline_seconds": deadline.total_seconds(),
            "holding_reply": organization.holding_reply and priority == "critical"}  # fmt: skip


def request_nudge_plan(*, question_id) -> list[dict]:
    """When this request is to be reminded and escalated (memoized by its reminders run)."""
    question = Question.objects.select_related("ticket__organization").get(pk=question_id)
    plan = teams.nudge_plan(question.ticket.organization, opened=question.created_at,
                            deadline=question.expires_at)  # fmt: skip
    return [{"at": nudge.at.isoformat(), "action": nudge.action} for nudge in plan]


def request_nudge(*, question_id, action: str) -> bool:
    """Remind the request's people, or escalate it (to the team's on-call, then everyone).
    False once the request no longer waits: its reminders end."""
    with transaction.atomic():
        question = Question.objects.select_for_update().filter(pk=question_id).first()
        if question is None or question.status != QuestionStatus.PENDING:
            return False
        if action == REMIND:
            who = (question.assignee.display_name if question.assignee_id
                   else (question.team.name if question.team_id else "everyone"))  # fmt: skip
            activity = _record(question, "deadline", "reminded", who)
        elif action == ON_CALL and question.team_id and question.team.on_call_id:
            Question.objects.filter(pk=question.pk).update(escalation=ON_CALL)
            on_call = question.team.on_call.display_name
            activity = _record(question, "deadline", "escalated", f"to on-call {on_call}")
        elif action in (ON_CALL, EVERYONE):
            if question.escalation == EVERYONE:
                return True
            Question.objects.filter(pk=question.pk).update(escalation=EVERYONE)
            activity = _record(question, "deadline", "escalated", "to everyone")
        else:
            return True
        observers.announce(observers.QUESTION_CHANGED, question.pk)
        observers.announce(observers.REQUEST_NUDGED, activity.pk)
    return True


def request_audience(question: Question, *, activity: RequestActivity | None = None):
    """The reviewers to tell about a request: its assignee, else its team, else everyone — or,
    for an escalation, the on-call or everyone."""
    organization_reviewers = Reviewer.objects.filter(
        organization_id=question.ticket.organization_id
    ).select_related("user")
    if activity is not None and activity.action == "escalated":
        if question.escalation == ON_CALL and question.team_id and question.team.on_call_id:
            return organization_reviewers.filter(pk=question.team.on_call_id)
        return organization_reviewers
    if question.assignee_id:
        return organization_reviewers.filter(pk=question.assignee_id)
    if question.team_id:
        members = organization_reviewers.filter(teams=question.team_id)
        return members if members.exists() else organization_reviewers
    return organization_reviewers


def request_assign(
    *,
    question: Question,
    actor: str,
    reviewer: Reviewer | None = None,
    team: Team | None = None,
    channel: str = Channel.WEB,
) -> Question:
    """Give a pending request to a reviewer, or to a team (then nobody in particular)."""
    organization_id = question.ticket.organization_id
    if (reviewer is None) == (team is None):
        raise DeskError("assign the request to a reviewer or to a team")
    if (reviewer or team).organization_id != organization_id:
        raise DeskError("that reviewer or team belongs to another organization")
    with transaction.atomic():
        changes = {"assignee": reviewer} if reviewer else {"team": team, "assignee": None}
        moved = Question.objects.filter(pk=question.pk, status=QuestionStatus.PENDING).update(
            **changes
        )
        question.refresh_from_db()
        if not moved:
            raise Conflict("this request no longer waits: it can't be reassigned")
        target = reviewer.display_name if reviewer else f"team {team.name}"
        activity = _record(question, f"{actor} ({Channel(channel).label})", "assigned",
                           f"to {target}")  # fmt: skip
        observers.announce(observers.QUESTION_CHANGED, question.pk)
        observers.announce(observers.REQUEST_NUDGED, activity.pk)
    return question


def nudges_summary(question: Question) -> str:
    """"reminded 10:42 · escalated to on-call 11:05": the request's latest nudges, for its card."""
    entries = [a for a in question.activity.all() if a.action in ("reminded", "escalated")]
    return " · ".join(
        f"{a.action}{' ' + a.detail if a.action == 'escalated' else ''} "
        f"{timezone.localtime(a.at):%H:%M}"
        for a in entries[-3:]
    )
