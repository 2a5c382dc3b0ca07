"""Human approval of tool calls: a call that needs approval waits for a person's decision before it
runs — approve, edit its arguments, reject with a reason, or respond with guidance instead.

The framework knows the concept, not the people: a network's `approver` says which calls need a
decision and obtains it (durably, through the step object, in the engine's case: a decision is a
wait like `ask_developer`'s). The runner then acts on it, so every tool, built in or future, can be
gated. A timeout is never a decision: the call does not run and the model is told so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from agents.agent import Agent
    from agents.network import Network
    from agents.step import Step
    from agents.tools import Tool

DecisionKind = Literal["approve", "edit", "reject", "respond", "expired"]


class ApprovalRequest(BaseModel):
    """One proposed call, as the person deciding sees it."""

    agent: str
    tool: str
    call_id: str
    arguments: dict[str, Any]
    json_schema: dict[str, Any] = Field(default_factory=dict)


class Decision(BaseModel):
    kind: DecisionKind
    arguments: dict[str, Any] | None = None  # the edited arguments of an "edit"
    message: str = ""  # a rejection's reason, or a response's guidance
    decided_by: str = ""


class Approver(Protocol):
    def needs_approval(self, agent: Agent, tool: Tool, arguments: Any, network: Network) -> bool:
        """Whether this call waits for a person's decision (deterministic: it runs on replay)."""
        ...

    def decide(self, request: ApprovalRequest, *, step: Step, network: Network) -> Decision:
        """The person's decision on the call (memoized by the step object: a replay gets the same
        decision back without asking again)."""
        ...


def outcome_without_running(decision: Decision) -> tuple[Any, bool] | None:
    """The tool result the model receives when the decision is not to run the call: `(result,
    is_error)`; None when the call runs (approve, edit)."""
    by = f" by {decision.decided_by}" if decision.decided_by else ""
    if decision.kind == "reject":
        reason = decision.message or "no reason given"
        return {"rejected": True, "error": f"a reviewer rejected this call{by}: {reason}. "
                "It did not run; you may revise it and propose again."}, True  # fmt: skip
    if decision.kind == "respond":
        return {"not_run": True, "reviewer_guidance": decision.message,
                "note": f"a reviewer{by} answered instead of running this call"}, False  # fmt: skip
    if decision.kind == "expired":
        return {"error": "no reviewer decided in time: the call did not run (a timeout is never "
                "an approval)"}, True  # fmt: skip
    return None
