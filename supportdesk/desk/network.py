"""The support network: its agents, tools and router, built from the organization's configuration
(Django admin) or, where none is stored, from the defaults below. A run snapshots the
configuration in a step, so editing an agent never changes a run mid-flight."""

from django.conf import settings

from agents import Agent, Network, RoutingAgent, default_router
from agents.models import Model
from supportdesk.desk.demo_model import DemoModel
from supportdesk.desk.tools import TOOLS, ask_developer_of

SUPERVISOR_INSTRUCTIONS = (
    "You are a supervisor routing support tickets. Send product questions to Customer Support and "
    "crash reports or critical issues to Technical Support. Call done once the customer has "
    "received a reply."
)
DEFAULT_AGENTS = [
    {
        "name": "Customer Support",
        "description": "I am a customer support agent that helps customers with their inquiries.",
        "system": "You are a helpful customer support agent. Your goal is to assist customers "
        "with their questions and concerns. Search the knowledge base, then answer the customer "
        "with reply_to_customer. Be professional, courteous, and thorough in your responses.",
        "tools": ["search_knowledge_base", "reply_to_customer"],
        # The bot drafts, a human clicks send: on critical tickets a reviewer approves the reply.
        "tool_approvals": {"reply_to_customer": {"mode": "priority", "min_priority": "critical"}},
    },
    {
        "name": "Technical Support",
        "description": "I am a technical support agent that helps critical tickets.",
        "system": "You are a technical support specialist. Your goal is to help resolve critical "
        "tickets. Use your expertise to diagnose problems and suggest solutions. Check the latest "
        "release notes. If you need developer input, use the ask_developer tool. Always answer "
        "the customer with reply_to_customer.",
        "tools": ["search_latest_release_notes", "reply_to_customer", "ask_developer"],
        "tool_approvals": {"reply_to_customer": {"mode": "priority", "min_priority": "critical"}},
    },
]
DEFAULT_NETWORK = {
    "name": "Support Network",
    "router": "supervisor",
    "instructions": SUPERVISOR_INSTRUCTIONS,
    "max_iter": 12,
}


def network_snapshot(organization_id: int) -> dict:
    """What a new run uses: the organization's network and agents, and the model provider."""
    from supportdesk.desk.models import NetworkConfig, Team

    provider = "anthropic" if settings.ANTHROPIC_API_KEY_SET else "demo"
    # The teams an agent may ask (ask_developer's `team` enum), as they are when the run starts.
    team_names = Team.objects.filter(organization_id=organization_id).values_list("name", flat=True)
    teams = list(team_names)
    config = NetworkConfig.objects.filter(organization_id=organization_id).first()
    if config is None:
        agents = [{**a, "model": "", "max_tokens": 1000, "temperature": None}
                  for a in DEFAULT_AGENTS]  # fmt: skip
        return {"provider": provider, "default_model": settings.ANTHROPIC_MODEL, **DEFAULT_NETWORK,
                "agents": agents, "teams": teams}  # fmt: skip
    agents = [
        {
            "name": a.name,
            "description": a.description,
            "system": a.system_prompt,
            "model": a.model,
            "max_tokens": a.max_tokens,
            "temperature": a.temperature,
            "tools": list(a.tools),
            "tool_approvals": dict(a.tool_approvals or {}),
        }
        for a in config.agents.filter(enabled=True).order_by("position", "name")
    ]
    return {
        "provider": provider,
        "default_model": config.default_model or settings.ANTHROPIC_MODEL,
        "name": config.name,
        "router": config.router,
        "instructions": config.supervisor_instructions or SUPERVISOR_INSTRUCTIONS,
        "max_iter": config.max_iterations,
        "agents": agents,
        "teams": teams,
    }


def _model(snapshot: dict, *, model: str = "", max_tokens: int = 1000, temperature=None) -> Model:
    if snapshot["provider"] != "anthropic":
        return DemoModel()
    from agents.models.anthropic import AnthropicModel

    return AnthropicModel(model or snapshot["default_model"], max_tokens=max_tokens,
                          temperature=temperature)  # fmt: skip


def build_network(snapshot: dict, *, state) -> Network:
    from supportdesk.desk.approvals import DeskApprover

    tools = {**TOOLS, "ask_developer": ask_developer_of(snapshot.get("teams") or [])}
    agents = [
        Agent(
            name=spec["name"],
            description=spec["description"],
            system=spec["system"],
            model=_model(
                snapshot,
                model=spec["model"],
                max_tokens=spec["max_tokens"],
                temperature=spec["temperature"],
            ),
            tools=[tools[name] for name in spec["tools"] if name in tools],
        )
        for spec in snapshot["agents"]
    ]
    if snapshot["router"] == "supervisor":
        router = RoutingAgent(name="Supervisor", instructions=snapshot["instructions"])
    else:
        router = default_router
    policies = {spec["name"]: spec.get("tool_approvals") or {} for spec in snapshot["agents"]}
    return Network(
        name=snapshot["name"],
        agents=agents,
        default_model=_model(snapshot),
        router=router,
        max_iter=snapshot["max_iter"],
        state=state,
        approver=DeskApprover(policies),
    )
