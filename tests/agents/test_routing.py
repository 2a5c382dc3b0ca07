import pytest

from agents import (
    Agent,
    InferenceResponse,
    Network,
    Route,
    RoutingAgent,
    RoutingError,
    Usage,
    tool,
)
from agents.models.testing import ScriptedModel, text, tool_call
from agents.testing import ReplayStep


@tool
def search(query: str) -> list[str]:
    return [f"article about {query}"]


def select(name: str, reason: str = "best fit") -> InferenceResponse:
    response = tool_call("select_agent", {"name": name, "reason": reason})
    return response.model_copy(update={"usage": Usage(input_tokens=7, output_tokens=3)})


def test_a_code_router_sees_the_turn_count_and_the_last_result():
    seen = []
    writer = Agent("Writer", model=ScriptedModel([text("draft"), text("final")]))

    def router(ctx):
        seen.append((ctx.call_count, ctx.last_result and ctx.last_result.text, ctx.input))
        return Route(writer, reason="keep writing") if ctx.call_count < 2 else None

    run = Network("n", [writer], router=router).run("Write")

    assert seen == [(0, None, "Write"), (1, "draft", "Write"), (2, "final", "Write")]
    assert [(r.agent and r.agent.name, r.reason) for r in run.routes] == [
        ("Writer", "keep writing"),
        ("Writer", "keep writing"),
        (None, ""),
    ]


def test_max_iter_bounds_the_number_of_turns():
    agent = Agent("Loop", model=ScriptedModel([text(str(n)) for n in range(10)]))
    run = Network("n", [agent], router=lambda ctx: agent, max_iter=3).run("go")
    assert run.stopped == "max_iter"
    assert [r.text for r in run.results] == ["0", "1", "2"]


def test_a_code_router_may_not_choose_a_disabled_agent():
    agent = Agent("Off", model=ScriptedModel([]), enabled=lambda network: False)
    with pytest.raises(ValueError, match="'Off', which is disabled"):
        Network("n", [agent], router=lambda ctx: agent).run("go")


def test_a_routing_agent_selects_agents_until_done_each_decision_a_step():
    billing = Agent(
        "Billing", description="Invoices and refunds", model=ScriptedModel([text("Refunded.")])
    )
    hidden = Agent("Hidden", description="never", model=ScriptedModel([]), enabled=lambda n: False)
    router_model = ScriptedModel(
        [select("Billing", "a refund"), tool_call("done", {"summary": "refunded"})]
    )
    supervisor = RoutingAgent(name="supervisor", model=router_model)
    step = ReplayStep()

    run = Network("desk", [billing, hidden], router=supervisor).run("Refund me", step=step)

    assert [(r.agent and r.agent.name, r.reason) for r in run.routes] == [
        ("Billing", "a refund"),
        (None, "refunded"),
    ]
    assert run.stopped == "done" and run.output == "Refunded."
    assert [key for key, _ in step.executed] == [
        "supervisor.route",
        "Billing.infer",
        "supervisor.route:1",
    ]
    first = router_model.requests[0]
    assert first.tool_choice == "any"
    assert [t.name for t in first.tools] == ["select_agent", "done"]
    assert first.tools[0].input_schema["properties"]["name"]["enum"] == ["Billing"]
    assert "- Billing: Invoices and refunds" in first.system and "Hidden" not in first.system
    assert router_model.requests[1].messages[-1]["content"][-1]["text"] == (
        "You are supervisor. Please continue."
    )
    assert run.usage == Usage(input_tokens=7, output_tokens=3)


def test_a_routing_agent_that_chooses_nobody_ends_the_run():
    supervisor = RoutingAgent(model=ScriptedModel([text("I cannot decide.")]))
    run = Network("desk", [Agent("Visible", model=ScriptedModel([]))], router=supervisor).run("Hi")
    assert run.results == []
    assert [(r.agent, r.reason) for r in run.routes] == [(None, "I cannot decide.")]


@pytest.mark.parametrize(
    ("decision", "message"),
    [
        (select("Nobody", "they know"), "chose 'Nobody', which is not an enabled agent"),
        (select("Hidden"), "chose 'Hidden', which is not an enabled agent"),
    ],
)
def test_a_routing_agent_choosing_an_unknown_or_disabled_agent_is_a_clear_failure(
    decision, message
):
    """It used to end the run quietly: the ticket then said "needs attention" with no reason."""
    hidden = Agent("Hidden", model=ScriptedModel([]), enabled=lambda n: False)
    visible = Agent("Visible", model=ScriptedModel([]))
    supervisor = RoutingAgent(model=ScriptedModel([decision]))
    with pytest.raises(RoutingError, match=message) as raised:
        Network("desk", [hidden, visible], router=supervisor).run("Help")
    assert "(enabled: 'Visible')" in str(raised.value)


def test_the_default_router_lets_an_agent_read_its_tool_results_before_deciding():
    support_model = ScriptedModel(
        [tool_call("search", {"query": "login"}), text("Reset your password.")]
    )
    support = Agent("Support", description="Answers customers", model=support_model, tools=[search])
    default_model = ScriptedModel([select("Support"), tool_call("done", {"summary": "answered"})])
    step = ReplayStep()

    run = Network("desk", [support], default_model=default_model).run("Cannot log in", step=step)

    assert [key for key, _ in step.executed] == [
        "default_router.route",
        "Support.infer",
        "Support.tool.search",
        "Support.infer:1",
        "default_router.route:1",
    ]
    assert run.routes[1].reason == "continues after its tool calls"
    assert run.output == "Reset your password."


def test_the_default_router_needs_a_model():
    with pytest.raises(ValueError, match="default_router needs a model"):
        Network("n", [Agent("A")]).run("go")
