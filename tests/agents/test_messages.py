import json
import random

import pytest

from agents import Agent, AgentResult, Network, State, tool, validate_messages
from agents.models.testing import FunctionModel, ScriptedModel, text, tool_call, tool_calls


@tool
def lookup(key: str) -> dict:
    return {"key": key, "value": key.upper()}


@tool
def fail() -> None:
    raise RuntimeError("service unavailable")


@tool
def count(n: int) -> list[int]:
    return list(range(n))


CALLS = [
    ("lookup", {"key": "a"}),
    ("lookup", {}),  # invalid arguments
    ("fail", {}),
    ("count", {"n": 2}),
    ("no_such_tool", {"x": 1}),
]


def random_model(rng: random.Random) -> FunctionModel:
    def respond(request):
        if rng.random() < 0.35:
            return text(rng.choice(["Here is what I found.", "Handing over.", "  "]))
        response = tool_calls(*(rng.choice(CALLS) for _ in range(rng.randint(1, 3))))
        if rng.random() < 0.5:
            response.content.insert(0, {"type": "text", "text": "Let me check."})
        return response

    return FunctionModel(respond)


@pytest.mark.parametrize("seed", range(40))
def test_every_request_is_valid_over_random_turns_tool_errors_and_agent_switches(seed):
    rng = random.Random(seed)
    model = random_model(rng)
    agents = [Agent(name, model=model, tools=[lookup, fail, count]) for name in "ABC"]
    turns = rng.randint(1, 8)
    network = Network(
        "random",
        agents=agents,
        router=lambda ctx: rng.choice(agents) if ctx.call_count < turns else None,
    )

    run = network.run("A customer cannot log in.")

    assert len(run.results) == turns
    for request in model.requests:
        validate_messages(request.messages)
    final = run.state.messages_for(agents[0], run.input)
    validate_messages(final)
    answers = {
        block["tool_use_id"]: block
        for message in final
        if message["role"] == "user" and isinstance(message["content"], list)
        for block in message["content"]
        if block["type"] == "tool_result"
    }
    calls = [call for result in run.results for call in result.tool_calls]
    assert len(answers) == len(calls)  # no tool result is ever dropped (agent-kit#276)
    for call in calls:
        assert json.loads(answers[call.id]["content"]) == call.result
        assert answers[call.id].get("is_error", False) == call.is_error
        assert call.is_error == (call.name != "count" and call.input != {"key": "a"})


def test_another_agents_last_word_is_followed_by_a_prompt_to_continue():
    first = Agent("Triage", model=ScriptedModel([text("Sounds technical.")]))
    second_model = ScriptedModel([text("Fixed.")])
    second = Agent("Technical Support", model=second_model)
    network = Network(
        "n", [first, second], router=lambda ctx: [first, second, None][ctx.call_count]
    )

    network.run("The app crashes.")

    assert second_model.requests[0].messages == [
        {"role": "user", "content": [{"type": "text", "text": "The app crashes."}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Sounds technical."}]},
        {
            "role": "user",
            "content": [{"type": "text", "text": "You are Technical Support. Please continue."}],
        },
    ]


def test_consecutive_turns_merge_and_blank_turns_are_left_out():
    model = ScriptedModel([text("One."), text(" "), tool_call("count", {"n": 1}), text("Two.")])
    agent = Agent("A", model=model, tools=[count])
    network = Network("n", [agent], router=lambda ctx: agent if ctx.call_count < 4 else None)

    network.run("Go.")

    last = model.requests[-1].messages
    validate_messages(last)
    assert [m["role"] for m in last] == ["user", "assistant", "user"]
    assert [b["type"] for b in last[1]["content"]] == ["text", "tool_use"]


def test_a_tool_use_without_a_recorded_call_is_still_answered():
    # e.g. a hook dropped the call, or a result was built by hand
    turn = AgentResult(agent_name="A", output=tool_call("lookup", {"key": "a"}, id="t1").content)
    messages = State(results=[turn]).messages_for(Agent("A"), "hi")
    validate_messages(messages)
    assert messages[-1]["content"] == [
        {
            "type": "tool_result",
            "tool_use_id": "t1",
            "content": '{"error": "the tool call was not executed"}',
            "is_error": True,
        }
    ]


USER = {"role": "user", "content": "hi"}
TOOL_USE = {
    "role": "assistant",
    "content": [{"type": "tool_use", "id": "t1", "name": "x", "input": {}}],
}
RESULT = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "1"}]}
SAID = {"role": "assistant", "content": [{"type": "text", "text": "ok"}]}


@pytest.mark.parametrize(
    ("messages", "problem"),
    [
        ([], "no messages"),
        ([SAID, USER], "role 'assistant', expected 'user'"),
        ([USER, USER], "role 'user', expected 'assistant'"),
        ([USER, SAID], "last message must be from the user"),
        ([USER, TOOL_USE, USER], r"answers tool_use ids \[\], but .* asked for \['t1'\]"),
        ([USER, SAID, RESULT], r"answers tool_use ids \['t1'\], but .* asked for \[\]"),
        ([RESULT], r"answers tool_use ids \['t1'\]"),
        ([USER, TOOL_USE, RESULT, TOOL_USE, RESULT], "repeats a tool_use id"),
        (
            [
                USER,
                TOOL_USE,
                {"role": "user", "content": [{"type": "text", "text": "x"}, *RESULT["content"]]},
            ],
            "tool_result blocks must come before",
        ),
        ([USER, {"role": "assistant", "content": [{"type": "text", "text": " "}]}, USER], "blank"),
        ([USER, {"role": "assistant", "content": []}, USER], "no content"),
    ],
)
def test_validate_messages_names_the_violation(messages, problem):
    with pytest.raises(ValueError, match=problem):
        validate_messages(messages)


def test_validate_messages_accepts_a_tool_round_trip():
    validate_messages([USER, TOOL_USE, RESULT, SAID, USER])
