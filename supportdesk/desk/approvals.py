"""Approvals of tool calls in the support network: which calls need a reviewer's decision (each
agent's per-tool setting in admin: never, always, or for tickets of priority ≥ X), and the
durable wait for it — like `ask_developer`, the approval is opened inside the transaction that
registers its wait, so a decision can never arrive before anyone waits for it."""

import uuid
from datetime import datetime, timedelta

from django.conf import settings

from agents.approvals import ApprovalRequest, Decision
from agents.step import parse_duration
from supportdesk.desk import observers, services
from supportdesk.desk.models import PRIORITY_RANK

NEVER, ALWAYS, FROM_PRIORITY = "never", "always", "priority"


def policy_needs_approval(policy: dict | None, priority: str) -> bool:
    """`{"mode": "never" | "always" | "priority", "min_priority": "critical"}` for a ticket of
    `priority`."""
    mode = (policy or {}).get("mode", NEVER)
    if mode == ALWAYS:
        return True
    if mode == FROM_PRIORITY:
        wanted = policy.get("min_priority", "critical")
        return PRIORITY_RANK.get(priority, 0) >= PRIORITY_RANK.get(wanted, 99)
    return False


class DeskApprover:
    """The network's approver: policies from the run's configuration snapshot (so editing an
    agent never changes a run mid-flight), decisions through the desk's human requests."""

    def __init__(self, policies: dict[str, dict[str, dict]]):
        self.policies = policies  # agent name → tool name → policy

    def policy(self, agent_name: str, tool_name: str) -> dict | None:
        return self.policies.get(agent_name, {}).get(tool_name)

    def needs_approval(self, agent, tool, arguments, network) -> bool:
        ticket = network.state.data
        return policy_needs_approval(self.policy(agent.name, tool.name), ticket.priority)

    def decide(self, request: ApprovalRequest, *, step, network) -> Decision:
        ticket = network.state.data
        question_id = step.run("approval.id", lambda: str(uuid.uuid4()))
        terms = step.run(
            "approval.opened-at", services.request_terms,
            organization_id=ticket.organization_id, priority=ticket.priority,
        )  # fmt: skip
        if isinstance(terms, str):  # a run started before deadlines by priority
            terms = {"at": terms, "deadline_seconds": 4 * 3600}
        opened = terms["at"]
        policy = self.policy(request.agent, request.tool) or {}
        timeout = (parse_duration(policy["timeout"]) if policy.get("timeout")
                   else timedelta(seconds=terms["deadline_seconds"]))  # fmt: skip
        grace = parse_duration(settings.QUESTION_ANSWER_GRACE)

        def open_approval() -> None:
            services.approval_open(
                question_id=question_id, ticket_id=ticket.ticket_id, run_id=ticket.run_id,
                request=request, expires_at=datetime.fromisoformat(opened) + timeout,
            )  # fmt: skip

        event = step.wait_for_event(
            "approval.decision",
            event=services.TOOL_DECISION,
            timeout=timeout + grace,
            if_exp=f"async.data.questionId == '{question_id}' "
            f"&& async.data.ticketId == {int(ticket.ticket_id)}",
            on_register=open_approval,
        )
        if event is None:  # a timeout is never a decision
            step.run("approval.expired", services.question_expire, question_id=question_id)
            return Decision(kind="expired")
        step.run("approval.announced", observers.tell, observers.QUESTION_CHANGED, question_id)
        data = event["data"]
        return Decision(
            kind=data["decision"], arguments=data.get("arguments"),
            message=data.get("message") or "", decided_by=data.get("decidedBy") or "",
        )  # fmt: skip
