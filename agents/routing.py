"""Routers pick the next agent of a network run: code routers, and LLM routing agents."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agents.models import InferenceRequest, InferenceResponse, Model, ToolSpec, Usage, infer_step

if TYPE_CHECKING:
    from agents.agent import Agent
    from agents.network import Network
    from agents.state import AgentResult
    from agents.step import Step

ROUTER_INSTRUCTIONS = (
    "You supervise a team of agents working on the user's request. Read the conversation and "
    "decide what happens next: call select_agent with the agent best suited to the next step, "
    "or call done when the request has been handled or no agent can take it further."
)


@dataclass
class RouterContext:
    network: Network
    input: str
    call_count: int  # agent turns taken so far
    last_result: AgentResult | None
    step: Step


@dataclass
class Route:
    """A routing decision; `agent` None ends the run. Routers may return a bare Agent or None."""

    agent: Agent | None
    reason: str = ""
    usage: Usage = field(default_factory=Usage)


Router = Callable[[RouterContext], "Agent | Route | None"]


class RoutingError(ValueError):
    """A router chose an agent the network can't run: unknown to it, or disabled. A clear
    failure, never a silent end of the run: the configuration needs a person."""


@dataclass
class RoutingAgent:
    """An LLM supervisor. Each decision is one inference step `<name>.route` answered with the
    tool `select_agent(name, reason)` or `done(summary)`; an unknown or disabled agent's name
    raises RoutingError.

    While the last turn made tool calls, its agent goes again without asking the supervisor, so
    that it reads its own tool results (as AgentKit's default router does): the supervisor
    decides between complete turns only. `model` falls back to the network's default model.
    """

    name: str = "router"
    instructions: str = ROUTER_INSTRUCTIONS
    model: Model | None = None
    max_tokens: int | None = None

    def __call__(self, ctx: RouterContext) -> Route:
        network = ctx.network
        last = ctx.last_result
        if last is not None and last.tool_calls:
            agent = network.agent(last.agent_name)
            if agent is not None and agent.is_enabled(network):
                return Route(agent, reason="continues after its tool calls")
        candidates = [a for a in network.agents if a.is_enabled(network)]
        if not candidates:
            return Route(None, reason="no agent is enabled")
        model = self.model or network.default_model
        if model is None:
            raise ValueError(f"{self.name} needs a model: set one or the network's default_model")
        listing = "\n".join(f"- {a.name}: {a.description}" for a in candidates)
        request = InferenceRequest(
            system=f"{self.instructions}\n\nAgents:\n{listing}",
            messages=network.state.messages_for(self, ctx.input),
            tools=_routing_tools([a.name for a in candidates]),
            tool_choice="any",
            max_tokens=self.max_tokens,
        )
        response = infer_step(
            ctx.step, f"{self.name}.route", model, request, actor=self.name, kind="route"
        )
        return _decide(response, candidates)


def _routing_tools(agent_names: list[str]) -> list[ToolSpec]:
    def schema(**properties: dict[str, Any]) -> dict[str, Any]:
        return {"type": "object", "properties": properties, "required": list(properties)}

    return [
        ToolSpec(
            name="select_agent",
            description="Hand the conversation to the agent that should act next.",
            input_schema=schema(
                name={"type": "string", "enum": agent_names},
                reason={"type": "string", "description": "Why this agent is next."},
            ),
        ),
        ToolSpec(
            name="done",
            description="End the run: the request is handled or nobody can help further.",
            input_schema=schema(summary={"type": "string", "description": "The outcome."}),
        ),
    ]


def _decide(response: InferenceResponse, candidates: list[Agent]) -> Route:
    usage = response.usage
    call = next(iter(response.tool_uses), None)
    if call is None:
        return Route(None, reason=response.text or "the router chose nobody", usage=usage)
    args = call["input"] if isinstance(call["input"], dict) else {}
    if call["name"] != "select_agent":
        return Route(None, reason=str(args.get("summary", "")), usage=usage)
    name, reason = args.get("name"), str(args.get("reason", ""))
    agent = next((a for a in candidates if a.name == name), None)
    if agent is None:
        enabled = ", ".join(repr(a.name) for a in candidates)
        raise RoutingError(
            f"the router chose {name!r}, which is not an enabled agent of this network "
            f"(enabled: {enabled}); its reason: {reason or 'none given'}"
        )
    return Route(agent, reason=reason, usage=usage)


default_router = RoutingAgent(name="default_router")
