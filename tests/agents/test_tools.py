from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field

from agents import Agent, Network, Tool, ToolContext, tool


def context() -> ToolContext:
    return ToolContext(network=Network("n", agents=[]), agent=Agent("a"), step=None)


@tool
def search(
    query: Annotated[str, Field(description="Words to look for")],
    limit: int = 5,
    scope: Literal["docs", "tickets"] = "docs",
) -> dict:
    """Search the knowledge base.

    Returns the best matches first."""
    return {"query": query, "limit": limit, "scope": scope}


def test_schema_comes_from_type_hints_and_the_docstring():
    spec = search.spec
    assert spec.name == "search"
    assert spec.description == "Search the knowledge base.\n\nReturns the best matches first."
    schema = spec.input_schema
    assert schema["type"] == "object"
    assert schema["required"] == ["query"]
    assert schema["properties"]["query"]["description"] == "Words to look for"
    assert schema["properties"]["limit"] == {"default": 5, "title": "Limit", "type": "integer"}
    assert schema["properties"]["scope"]["enum"] == ["docs", "tickets"]


def test_valid_arguments_reach_the_handler_coerced_and_defaulted():
    assert search.invoke({"query": "refund", "limit": "3"}, context()) == (
        {"query": "refund", "limit": 3, "scope": "docs"},
        False,
    )


def test_invalid_arguments_are_an_error_for_the_model_and_the_handler_does_not_run():
    calls = []

    @tool
    def record(n: int) -> int:
        calls.append(n)
        return n

    result, is_error = record.invoke({"n": "many", "extra": 1}, context())
    assert is_error
    assert result == {
        "error": "invalid arguments for record: n: Input should be a valid integer, "
        "unable to parse string as an integer"
    }
    assert record.invoke({}, context()) == (
        {"error": "invalid arguments for record: n: Field required"},
        True,
    )
    assert calls == []


def test_a_handler_exception_becomes_an_error_result():
    @tool
    def explode() -> None:
        raise RuntimeError("the index is offline")

    @tool
    def explode_quietly() -> None:
        raise KeyError

    assert explode.invoke({}, context()) == ({"error": "the index is offline"}, True)
    assert explode_quietly.invoke({}, context()) == ({"error": "KeyError"}, True)


def test_a_base_exception_passes_through_untouched():
    class Suspend(BaseException):
        pass

    @tool
    def wait() -> None:
        raise Suspend

    with pytest.raises(Suspend):
        wait.invoke({}, context())


class Question(BaseModel):
    question: str = Field(description="The technical question")
    context: str = ""


def test_a_single_pydantic_parameter_is_the_schema_and_is_passed_whole():
    @tool(name="ask_developer", description="Ask a developer.", durable=True)
    def ask(args: Question, ctx: ToolContext) -> dict:
        return {"asked": args.question, "agent": ctx.agent.name}

    assert ask.durable
    assert ask.spec.input_schema == Question.model_json_schema()
    assert ask.invoke({"question": "why?"}, context()) == ({"asked": "why?", "agent": "a"}, False)


def test_an_explicit_parameters_model_and_a_ctx_named_parameter():
    def handler(payload, ctx):
        return [payload.question, ctx.network.name]

    ask = Tool(handler, name="ask", parameters=Question)
    assert ask.spec.input_schema["required"] == ["question"]
    assert ask.invoke({"question": "q"}, context()) == (["q", "n"], False)


def test_tool_definition_errors_are_reported():
    def untyped(query):
        return query

    def star(*args: str):
        return args

    with pytest.raises(TypeError, match="'query' needs a type hint"):
        tool(untyped)
    with pytest.raises(TypeError, match="cannot become a schema"):
        tool(star)
    with pytest.raises(ValueError, match="must match"):
        tool(name="has space")(search.handler)
