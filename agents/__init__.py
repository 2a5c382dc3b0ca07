"""A small agent-network framework (Inngest AgentKit's concepts): agents, tools, routers, state.

Durable when run through a `Step` from an engine; inline otherwise. Imports no web framework.
"""

from agents.agent import Agent
from agents.approvals import ApprovalRequest, Approver, Decision
from agents.models import InferenceRequest, InferenceResponse, Model, ToolSpec, Usage
from agents.network import Network, NetworkRun
from agents.routing import (
    Route,
    Router,
    RouterContext,
    RoutingAgent,
    RoutingError,
    default_router,
)
from agents.state import AgentResult, Data, State, ToolCall, validate_messages
from agents.step import InlineStep, Step, jsonable, parse_duration
from agents.tools import Tool, ToolContext, tool

__all__ = [
    "Agent",
    "AgentResult",
    "ApprovalRequest",
    "Approver",
    "Data",
    "Decision",
    "InferenceRequest",
    "InferenceResponse",
    "InlineStep",
    "Model",
    "Network",
    "NetworkRun",
    "Route",
    "Router",
    "RouterContext",
    "RoutingAgent",
    "RoutingError",
    "State",
    "Step",
    "Tool",
    "ToolCall",
    "ToolContext",
    "ToolSpec",
    "Usage",
    "default_router",
    "jsonable",
    "parse_duration",
    "tool",
    "validate_messages",
]
