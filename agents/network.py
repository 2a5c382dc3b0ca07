"""The runner: a network of agents and the loop that routes, infers and calls tools in steps.

Replay-safe: inferences and plain tool calls are steps; everything else must be deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from agents.agent import Agent
from agents.approvals import ApprovalRequest, Approver, outcome_without_running
from agents.models import InferenceRequest, Model, Usage, infer_step
from agents.routing import Route, Router, RouterContext, RoutingError, default_router
from agents.state import AgentResult, State, ToolCall
from agents.step import InlineStep, Step, jsonable
from agents.tools import Tool, ToolContext


@dataclass
class Network:
    """Agents, a router (`default_router` when None) and a template state copied for each run.

    With an `approver`, a tool call it says needs approval waits for a person's decision before
    it runs (agents/approvals.py): approved or edited, it runs; rejected, answered instead or
    expired, it doesn't, and the model reads why.
    """

    name: str
    agents: list[Agent]
    default_model: Model | None = None
    router: Router | None = None
    max_iter: int = 10
    state: State = field(default_factory=State)
    approver: Approver | None = None

    def __post_init__(self) -> None:
        names = [a.name for a in self.agents]
        if len(set(names)) != len(names):
            raise ValueError(f"network {self.name!r} has two agents with one name: {names}")

    def agent(self, name: str) -> Agent | None:
        return next((a for a in self.agents if a.name == name), None)

    def run(
        self, input: str, *, step: Step | None = None, state: State | None = None
    ) -> NetworkRun:
        """Route and run agent turns until the router says done or `max_iter` turns were taken.

        The run works on its own copy of the network holding its state (`state`, or a copy of
        the template), so one Network can serve concurrent runs.
        """
        if not input.strip():
            raise ValueError("a network run needs a non-blank input")
        step = step if step is not None else InlineStep()
        network = replace(
            self, state=state if state is not None else self.state.model_copy(deep=True)
        )
        run = NetworkRun(network=network, input=input)
        router = self.router or default_router
        results = network.state.results
        for call_count in range(self.max_iter):
            ctx = RouterContext(network, input, call_count, results[-1] if results else None, step)
            route = _as_route(router(ctx))
            run.routes.append(route)
            if route.agent is None:
                run.stopped = "done"
                return run
            if not route.agent.is_enabled(network):
                raise RoutingError(f"the router chose {route.agent.name!r}, which is disabled")
            results.append(_run_turn(route.agent, network, input, step))
        run.stopped = "max_iter"
        return run


@dataclass
class NetworkRun:
    """The outcome of `Network.run`; `stopped` is "done" or "max_iter"."""

    network: Network
    input: str
    routes: list[Route] = field(default_factory=list)
    stopped: str = ""

    @property
    def state(self) -> State:
        return self.network.state

    @property
    def results(self) -> list[AgentResult]:
        return self.network.state.results

    @property
    def output(self) -> str:
        """The text of the last turn that produced any."""
        return next((r.text for r in reversed(self.results) if r.text), "")

    @property
    def usage(self) -> Usage:
        return sum((r.usage for r in [*self.results, *self.routes]), Usage())


def _as_route(choice: Agent | Route | None) -> Route:
    return choice if isinstance(choice, Route) else Route(choice)


def _run_turn(agent: Agent, network: Network, input: str, step: Step) -> AgentResult:
    model = agent.model or network.default_model
    if model is None:
        raise ValueError(f"agent {agent.name!r} has no model and {network.name!r} no default_model")
    request = InferenceRequest(
        system=agent.system_prompt(network),
        messages=network.state.messages_for(agent, input),
        tools=[t.spec for t in agent.tools],
        tool_choice=agent.tool_choice,
        max_tokens=agent.max_tokens,
    )
    request = _hook(agent.on_start, agent, network, request)
    response = infer_step(step, f"{agent.name}.infer", model, request, actor=agent.name)
    response = _hook(agent.on_response, agent, network, response)
    result = AgentResult(
        agent_name=agent.name,
        output=response.content,
        tool_calls=[_call_tool(block, agent, network, step) for block in response.tool_uses],
        usage=response.usage,
        stop_reason=response.stop_reason,
        model=response.model,
        label=response.label,
    )
    return _hook(agent.on_finish, agent, network, result)


def _hook(hook: Any, agent: Agent, network: Network, value: Any) -> Any:
    if hook is None:
        return value
    replacement = hook(agent, network, value)
    return value if replacement is None else replacement


def _call_tool(block: dict[str, Any], agent: Agent, network: Network, step: Step) -> ToolCall:
    call = ToolCall(id=block["id"], name=block["name"], input=block["input"])
    tool = agent.tool(call.name)
    if tool is None:
        available = ", ".join(t.name for t in agent.tools) or "none"
        call.result = {"error": f"unknown tool {call.name!r}; available tools: {available}"}
        call.is_error = True
        return call
    arguments = call.input
    approver = network.approver
    if approver is not None and approver.needs_approval(agent, tool, arguments, network):
        request = ApprovalRequest(
            agent=agent.name, tool=tool.name, call_id=call.id, json_schema=tool.spec.input_schema,
            arguments=arguments if isinstance(arguments, dict) else {"input": arguments},
        )  # fmt: skip
        call.decision = approver.decide(request, step=step, network=network)
        not_run = outcome_without_running(call.decision)
        if not_run is not None:
            call.result, call.is_error = not_run
            return call
        if call.decision.kind == "edit":
            arguments = call.decision.arguments
    if tool.durable:
        result, call.is_error = tool.invoke(arguments, ToolContext(network, agent, step))
        call.result = jsonable(result)
    else:
        # A plain tool runs inside a step, where it must not make steps of its own: no `step`.
        ctx = ToolContext(network, agent, step=None)
        outcome = step.run(
            f"{agent.name}.tool.{tool.name}", _run_plain_tool, tool, arguments, ctx,
            kind="tool", meta={"actor": agent.name, "tool": tool.name},
        )  # fmt: skip
        # Restoring from the step's snapshot makes the first run and a replay (where the handler
        # does not run) leave the same state behind.
        network.state.data = type(network.state.data).model_validate(outcome["state"])
        call.result, call.is_error = outcome["result"], outcome["is_error"]
    return call


def _run_plain_tool(tool: Tool, input: Any, ctx: ToolContext) -> dict[str, Any]:
    result, is_error = tool.invoke(input, ctx)
    return {"result": result, "is_error": is_error, "state": ctx.state.data.model_dump(mode="json")}
