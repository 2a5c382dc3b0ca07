"""The right reviewer, in time: which team a human request goes to (the agent's choice, else the
organization's routing rules), its deadline by ticket priority, and its reminder and escalation
plan (at 50 % and 80 % of the deadline a reminder; past 80 % the team's on-call, then everyone).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q

from agents.step import parse_duration
from supportdesk.desk.models import PRIORITY_RANK, Organization, RoutingRule, Team

DEFAULT_DEADLINES = {"critical": "30m", "high": "2h", "medium": "4h", "low": "24h"}
DEFAULT_PLAN = {"remind": [0.5, 0.8], "on_call": 0.8, "everyone": 0.9}


def deadline_for(organization: Organization, priority: str) -> timedelta:
    """How long a request of a ticket of `priority` may wait: the organization's setting, else
    the defaults (critical 30 min, high 2 h, medium 4 h, low 24 h)."""
    configured = (organization.deadlines or {}).get(priority)
    return parse_duration(configured or DEFAULT_DEADLINES.get(priority, "4h"))


def team_for(
    organization: Organization, *, agent: str, priority: str, text: str, chosen: str = ""
) -> tuple[Team | None, str]:
    """The team a request goes to, and why: the team the agent chose, else the first matching
    routing rule (asking agent, minimum priority, keywords in the ticket), else none."""
    if chosen:
        team = Team.objects.filter(organization=organization, name__iexact=chosen).first()
        if team is not None:
            return team, f"chosen by {agent}"
    words = text.lower()
    rules = RoutingRule.objects.filter(organization=organization).select_related("team")
    for rule in rules.order_by("position", "pk"):
        if rule.agent and rule.agent != agent:
            continue
        if rule.min_priority and PRIORITY_RANK.get(priority, 0) < PRIORITY_RANK.get(
            rule.min_priority, 0
        ):
            continue
        keywords = [k.strip().lower() for k in rule.keywords.split(",") if k.strip()]
        if keywords and not any(keyword in words for keyword in keywords):
            continue
        return rule.team, f"routing rule {rule.position}: {rule.describe()}"
    return None, ""


@dataclass(frozen=True)
class PlannedNudge:
    at: datetime
    action: str  # "remind", "on_call" or "everyone"


def nudge_plan(organization: Organization, *, opened: datetime, deadline: datetime):
    """When to remind and to escalate a request opened at `opened`, due at `deadline`."""
    plan = {**DEFAULT_PLAN, **(organization.escalation or {})}
    span = deadline - opened
    nudges = [PlannedNudge(opened + span * float(f), "remind") for f in plan["remind"]]
    if plan.get("on_call") is not None:
        nudges.append(PlannedNudge(opened + span * float(plan["on_call"]), "on_call"))
    if plan.get("everyone") is not None:
        nudges.append(PlannedNudge(opened + span * float(plan["everyone"]), "everyone"))
    order = {"remind": 0, "on_call": 1, "everyone": 2}
    return sorted(nudges, key=lambda nudge: (nudge.at, order[nudge.action]))


def teams_of(user) -> Q:
    """Requests of `user`'s teams: routed to one of them, routed nowhere, or assigned to them."""
    return Q(team__isnull=True) | Q(team__members__user=user) | Q(assignee__user=user)
