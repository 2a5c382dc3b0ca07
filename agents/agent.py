"""An agent: plain configuration (prompt, model, tools, hooks). The loop lives in `network`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agents.models import InferenceRequest, InferenceResponse, Model
from agents.tools import Tool

if TYPE_CHECKING:
    from agents.network import Network
    from agents.state import AgentResult

# Hooks run outside steps, so again on every replay: they must be deterministic.
OnStart = Callable[["Agent", "Network", InferenceRequest], "InferenceRequest | None"]
OnResponse = Callable[["Agent", "Network", InferenceResponse], "InferenceResponse | None"]
OnFinish = Callable[["Agent", "Network", "AgentResult"], "AgentResult | None"]


@dataclass
class Agent:
    """One participant of a network. Its turn is one inference plus the tool calls it asks for.

    `system` may be a function of the network (its state). `model` falls back to the network's
    default model; `max_tokens` to the model's. Hooks may return a replacement for their last
    argument (None keeps it): `on_start(agent, network, request)` before the inference,
    `on_response(agent, network, response)` before the tools run, and
    `on_finish(agent, network, result)` before the result joins the state. `enabled(network)`
    returning False hides the agent from routers.
    """

    name: str
    description: str = ""
    system: str | Callable[[Network], str] = ""
    model: Model | None = None
    tools: list[Tool] = field(default_factory=list)
    tool_choice: str = "auto"
    max_tokens: int | None = None
    on_start: OnStart | None = None
    on_response: OnResponse | None = None
    on_finish: OnFinish | None = None
    enabled: Callable[[Network], bool] | None = None

    def __post_init__(self) -> None:
        names = [t.name for t in self.tools]
        if len(set(names)) != len(names):
            raise ValueError(f"agent {self.name!r} has two tools with one name: {names}")
        if self.tool_choice not in ("auto", "any", "none", *names):
            raise ValueError(f"agent {self.name!r}: tool_choice {self.tool_choice!r} is no tool")

    def tool(self, name: str) -> Tool | None:
        return next((t for t in self.tools if t.name == name), None)

    def is_enabled(self, network: Network) -> bool:
        return self.enabled is None or self.enabled(network)

    def system_prompt(self, network: Network) -> str:
        return self.system(network) if callable(self.system) else self.system
