"""The Anthropic adapter, through the real SDK, against a fake Messages API on 127.0.0.1."""

import json

import anthropic
import pytest

from agents import Agent, InferenceRequest, Network, ToolSpec, Usage, tool, validate_messages
from agents.models.anthropic import AnthropicModel
from tests.fakes.anthropic_server import (
    FakeAnthropicServer,
    FakeError,
    message,
    text_block,
    tool_use_block,
)

SEARCH = ToolSpec(
    name="search",
    description="Search the docs.",
    input_schema={"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
)


def model_for(server: FakeAnthropicServer, **options) -> AnthropicModel:
    return AnthropicModel("claude-test", api_key="test-key", base_url=server.base_url, **options)


def test_the_request_carries_system_tools_and_messages_and_the_reply_is_converted():
    reply = message(
        text_block("Searching."),
        tool_use_block("search", {"q": "login"}, id="toolu_1"),
        input_tokens=321,
        output_tokens=45,
    )
    with FakeAnthropicServer(lambda body: reply) as server:
        request = InferenceRequest(
            system="You help.",
            messages=[{"role": "user", "content": [{"type": "text", "text": "Cannot log in"}]}],
            tools=[SEARCH],
            temperature=0.2,
        )
        response = model_for(server, max_tokens=300).infer(request)

    assert server.requests == [
        {
            "model": "claude-test",
            "max_tokens": 300,
            "system": "You help.",
            "messages": request.messages,
            "tools": [SEARCH.model_dump()],
            "tool_choice": {"type": "auto"},
            "temperature": 0.2,
        }
    ]
    assert response.content == [
        {"type": "text", "text": "Searching."},
        {"type": "tool_use", "id": "toolu_1", "name": "search", "input": {"q": "login"}},
    ]
    assert response.stop_reason == "tool_use"
    assert response.usage == Usage(input_tokens=321, output_tokens=45)
    assert response.model == "claude-fake"


@pytest.mark.parametrize(
    ("choice", "sent"),
    [
        ("auto", {"type": "auto"}),
        ("any", {"type": "any"}),
        ("none", {"type": "none"}),
        ("search", {"type": "tool", "name": "search"}),
    ],
)
def test_tool_choice_is_mapped_to_the_api(choice, sent):
    with FakeAnthropicServer(lambda body: message(text_block("ok"))) as server:
        request = InferenceRequest(messages=[{"role": "user", "content": "hi"}], tools=[SEARCH])
        model_for(server).infer(request.model_copy(update={"tool_choice": choice}))
    assert server.requests[0]["tool_choice"] == sent


def test_without_tools_no_tools_or_tool_choice_are_sent():
    with FakeAnthropicServer(lambda body: message(text_block("ok"))) as server:
        model_for(server).infer(InferenceRequest(messages=[{"role": "user", "content": "hi"}]))
    assert set(server.requests[0]) == {"model", "max_tokens", "messages"}


def test_the_sdk_reads_the_key_and_base_url_from_the_environment(monkeypatch):
    with FakeAnthropicServer(lambda body: message(text_block("from env"))) as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "env-key")
        response = AnthropicModel("claude-test").infer(
            InferenceRequest(messages=[{"role": "user", "content": "hi"}])
        )
    assert response.text == "from env"
    assert server.request_headers[0]["authorization"] == "Bearer env-key"


def test_the_sdk_retries_an_overloaded_api():
    attempts = []

    def overloaded_once(body):
        attempts.append(body)
        if len(attempts) == 1:
            return FakeError(529, "Overloaded", retry_after_ms=1)
        return message(text_block("after retry"))

    with FakeAnthropicServer(overloaded_once) as server:
        response = model_for(server).infer(
            InferenceRequest(messages=[{"role": "user", "content": "hi"}])
        )

    assert response.text == "after retry"
    assert len(server.requests) == 2
    assert server.duplicate_requests() == [server.requests[0]]


def test_an_error_outlasting_the_retries_propagates_for_the_step_to_retry():
    def broken(body):
        raise FakeError(500, "Internal failure", retry_after_ms=1)

    request = InferenceRequest(messages=[{"role": "user", "content": "hi"}])
    with (
        FakeAnthropicServer(broken) as server,
        pytest.raises(anthropic.InternalServerError, match="Internal failure"),
    ):
        model_for(server, max_retries=1).infer(request)
    assert len(server.requests) == 2


def answer_or_search(body: dict) -> dict:
    """Searches first, answers once the search results are in: a pure function of the body."""
    last = body["messages"][-1]["content"]
    results = [b for b in last if isinstance(b, dict) and b["type"] == "tool_result"]
    if results:
        found = json.loads(results[0]["content"])
        return message(text_block(f"Try this: {found[0]}"))
    return message(text_block("Let me look."), tool_use_block("search_docs", {"query": "login"}))


def test_a_network_runs_through_the_real_sdk_with_valid_messages():
    @tool
    def search_docs(query: str) -> list[str]:
        return [f"Reset the {query} password"]

    with FakeAnthropicServer(answer_or_search) as server:
        agent = Agent("Support", model=model_for(server), tools=[search_docs])
        network = Network("desk", [agent], router=lambda ctx: agent if ctx.call_count < 2 else None)
        run = network.run("I cannot log in")

    assert run.output == "Try this: Reset the login password"
    assert run.usage == Usage(input_tokens=20, output_tokens=10)
    assert len(server.requests) == 2 and server.duplicate_requests() == []
    for body in server.requests:
        validate_messages(body["messages"])
    tool_use = server.requests[1]["messages"][1]["content"][1]
    tool_result = server.requests[1]["messages"][2]["content"][0]
    assert tool_result == {
        "type": "tool_result",
        "tool_use_id": tool_use["id"],
        "content": json.dumps(["Reset the login password"]),
    }
