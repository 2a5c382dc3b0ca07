import json

import pytest
from pydantic import BaseModel

from agents import Agent, InlineStep, Network, State, ToolContext, tool
from agents.models.testing import ScriptedModel, text, tool_call, tool_calls
from agents.testing import ReplayStep, Suspended


class Cart(BaseModel):
    items: list[str] = []


def one_agent(agent: Agent, turns: int) -> Network:
    return Network(
        "shop",
        [agent],
        router=lambda ctx: agent if ctx.call_count < turns else None,
        state=State(data=Cart()),
    )


def test_a_turn_runs_the_tools_and_the_next_turn_reads_their_results():
    @tool
    def add_item(item: str, ctx: ToolContext) -> dict:
        ctx.state.data.items.append(item)
        return {"count": len(ctx.state.data.items)}

    model = ScriptedModel([tool_call("add_item", {"item": "tea"}), text("Added tea.")])
    run = one_agent(Agent("Shop", model=model, tools=[add_item]), turns=2).run("Buy tea")

    assert run.stopped == "done"
    assert run.output == "Added tea."
    first = run.results[0]
    assert [(c.name, c.input, c.result, c.is_error) for c in first.tool_calls] == [
        ("add_item", {"item": "tea"}, {"count": 1}, False)
    ]
    answer = model.requests[1].messages[-1]["content"][0]
    assert answer["tool_use_id"] == first.tool_calls[0].id
    assert json.loads(answer["content"]) == {"count": 1}
    assert run.state.data.items == ["tea"]
    assert run.usage.output_tokens == 0  # the scripted model reports no usage


def test_tool_errors_go_back_to_the_model_and_the_run_goes_on():
    @tool
    def charge(amount: int) -> None:
        raise RuntimeError("card declined")

    model = ScriptedModel(
        [
            tool_calls(("charge", {"amount": 5}), ("charge", {"amount": "x"}), ("refund", {})),
            text("Payment failed."),
        ]
    )
    run = one_agent(Agent("Shop", model=model, tools=[charge]), turns=2).run("Pay")

    results = [(c.result["error"], c.is_error) for c in run.results[0].tool_calls]
    assert results[0] == ("card declined", True)
    assert results[1][0].startswith("invalid arguments for charge: amount:")
    assert results[2] == ("unknown tool 'refund'; available tools: charge", True)
    answers = model.requests[1].messages[-1]["content"]
    assert [a["is_error"] for a in answers] == [True, True, True]
    assert run.output == "Payment failed."


def test_a_suspend_raised_by_a_plain_tool_passes_through():
    class Suspend(BaseException):
        pass

    @tool
    def halt() -> None:
        raise Suspend

    agent = Agent("A", model=ScriptedModel([tool_call("halt")]), tools=[halt])
    with pytest.raises(Suspend):
        one_agent(agent, turns=1).run("go")


def test_replay_restores_state_changed_by_tools_without_running_them_again():
    executed = []

    @tool
    def add_item(item: str, ctx: ToolContext) -> str:
        executed.append(item)
        ctx.state.data.items.append(item)
        return "ok"

    shop_model = ScriptedModel([tool_call("add_item", {"item": "tea"}), text("Basket ready.")])
    checkout_model = ScriptedModel([text("Paid.")])
    shop = Agent("Shop", model=shop_model, tools=[add_item])
    checkout = Agent("Checkout", model=checkout_model)

    def router(ctx):
        # Decides from the state, which on replay only the tool step's snapshot can restore.
        if not ctx.network.state.data.items or ctx.last_result.tool_calls:
            return shop
        return checkout if ctx.last_result.agent_name == "Shop" else None

    network = Network("shop", [shop, checkout], router=router, state=State(data=Cart()))
    step = ReplayStep()
    first = network.run("Buy tea", step=step)
    replayed = network.run("Buy tea", step=step.replay())

    assert executed == ["tea"]
    assert len(shop_model.requests) + len(checkout_model.requests) == 3
    assert step.executed == [
        ("Shop.infer", "infer"),
        ("Shop.tool.add_item", "tool"),
        ("Shop.infer:1", "infer"),
        ("Checkout.infer", "infer"),
    ]
    assert replayed.state.data == first.state.data == Cart(items=["tea"])
    assert replayed.state.model_dump() == first.state.model_dump()
    assert network.state.data.items == []  # each run works on a copy of the template state


def test_a_durable_tool_waits_through_a_suspension_and_the_run_resumes():
    registered = []

    @tool(durable=True)
    def ask_developer(question: str, ctx: ToolContext) -> dict:
        answer = ctx.step.wait_for_event(
            "developer.response",
            event="app/developer-response",
            timeout="4h",
            match="data.ticketId",
            on_register=lambda: registered.append(question),
        )
        if answer is None:
            return {"error": "No developer response provided"}
        return {"developerResponse": answer["data"]["answer"]}

    model = ScriptedModel([tool_call("ask_developer", {"question": "Is it down?"}), text("Fixed.")])
    network = one_agent(Agent("Tech", model=model, tools=[ask_developer]), turns=2)
    step = ReplayStep()

    with pytest.raises(Suspended):
        network.run("Outage", step=step)
    step.deliver({"name": "app/developer-response", "data": {"answer": "Yes, restarting."}})
    run = network.run("Outage", step=step.replay())

    assert registered == ["Is it down?"]
    assert len(model.requests) == 2
    assert run.results[0].tool_calls[0].result == {"developerResponse": "Yes, restarting."}
    assert [key for key, _ in step.executed] == ["Tech.infer", "Tech.infer:1"]


def test_a_durable_tool_gets_the_step_and_a_plain_tool_does_not():
    seen = {}

    @tool(durable=True)
    def durable(ctx: ToolContext) -> None:
        seen["durable"] = ctx.step

    @tool
    def plain(ctx: ToolContext) -> None:
        seen["plain"] = ctx.step

    step = InlineStep()
    model = ScriptedModel([tool_calls(("durable", {}), ("plain", {}))])
    one_agent(Agent("A", model=model, tools=[durable, plain]), turns=1).run("go", step=step)
    assert seen == {"durable": step, "plain": None}


def test_hooks_can_replace_the_request_response_and_result():
    model = ScriptedModel([text("raw answer")])

    def on_start(agent, network, request):
        return request.model_copy(update={"system": request.system + " Be brief."})

    def on_response(agent, network, response):
        response.content[0]["text"] = response.content[0]["text"].upper()

    def on_finish(agent, network, result):
        return result.model_copy(update={"label": "checked"})

    agent = Agent(
        "A",
        system=lambda network: f"Serve {network.name}.",
        model=model,
        on_start=on_start,
        on_response=on_response,
        on_finish=on_finish,
    )
    run = one_agent(agent, turns=1).run("hi")

    assert model.requests[0].system == "Serve shop. Be brief."
    assert run.output == "RAW ANSWER"
    assert run.results[0].label == "checked"


def test_a_run_can_be_given_its_state_and_needs_a_model_and_an_input():
    state = State(data=Cart(items=["kept"]))
    agent = Agent("A", model=ScriptedModel([text("ok")]))
    run = one_agent(agent, turns=1).run("hi", state=state)
    assert run.state is state and len(state.results) == 1

    with pytest.raises(ValueError, match="no model"):
        one_agent(Agent("B"), turns=1).run("hi")
    with pytest.raises(ValueError, match="non-blank input"):
        one_agent(agent, turns=1).run("  ")
