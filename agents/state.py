"""A network run's state: typed data, one result per agent turn, and the message history built
from them, which is always valid for the Anthropic Messages API.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from agents.approvals import Decision
from agents.models import Usage

if TYPE_CHECKING:
    from agents.agent import Agent
    from agents.routing import RoutingAgent

DataT = TypeVar("DataT", bound=BaseModel)


class ToolCall(BaseModel):
    id: str
    name: str
    input: Any  # as the model proposed it
    result: Any = None
    is_error: bool = False
    decision: Decision | None = None  # a person's, when the call needed approval


class AgentResult(BaseModel):
    """One agent turn: the model's output blocks, the tool calls it made with their results."""

    agent_name: str
    output: list[dict[str, Any]]
    tool_calls: list[ToolCall] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    stop_reason: str | None = None
    model: str = ""
    label: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(b["text"] for b in self.output if b["type"] == "text")


class Data(BaseModel):
    """State data for networks that declare no model of their own: any attribute may be set."""

    model_config = ConfigDict(extra="allow")


class State(BaseModel, Generic[DataT]):
    data: DataT = Field(default_factory=Data)  # type: ignore[assignment]
    results: list[AgentResult] = Field(default_factory=list)

    def messages_for(self, agent: Agent | RoutingAgent, input: str) -> list[dict[str, Any]]:
        """The conversation so far, as the messages of `agent`'s next inference.

        Every agent sees every turn. Consecutive turns of one role are merged, each tool_use is
        answered by its tool_result in the next user message, and a history ending with an
        assistant turn gets a user prompt so that `agent` is asked to continue.
        """
        messages: list[dict[str, Any]] = []
        _append(messages, "user", [{"type": "text", "text": input}])
        for result in self.results:
            # The API rejects blank text blocks; a turn that produced only blanks is left out.
            output = [b for b in result.output if b["type"] != "text" or b["text"].strip()]
            if not output:
                continue
            _append(messages, "assistant", output)
            calls = {call.id: call for call in result.tool_calls}
            answers = [
                _tool_result(b["id"], calls.get(b["id"])) for b in output if b["type"] == "tool_use"
            ]
            if answers:
                _append(messages, "user", answers)
        if messages[-1]["role"] == "assistant":
            prompt = f"You are {agent.name}. Please continue."
            messages.append({"role": "user", "content": [{"type": "text", "text": prompt}]})
        return messages


def _append(messages: list[dict[str, Any]], role: str, blocks: list[dict[str, Any]]) -> None:
    if messages and messages[-1]["role"] == role:
        messages[-1]["content"].extend(blocks)
    else:
        messages.append({"role": role, "content": list(blocks)})


def _tool_result(tool_use_id: str, call: ToolCall | None) -> dict[str, Any]:
    if call is None:
        content, is_error = json.dumps({"error": "the tool call was not executed"}), True
    else:
        content, is_error = json.dumps(call.result), call.is_error
    block = {"type": "tool_result", "tool_use_id": tool_use_id, "content": content}
    if is_error:
        block["is_error"] = True
    return block


def validate_messages(messages: list[dict[str, Any]]) -> None:
    """Raise ValueError describing the first way `messages` breaks the Messages API's rules."""
    if not messages:
        raise ValueError("there are no messages")
    seen_tool_use_ids: set[str] = set()
    unanswered: list[str] = []
    for index, message in enumerate(messages):
        role, content = message.get("role"), message.get("content")
        expected = "user" if index % 2 == 0 else "assistant"
        if role != expected:
            raise ValueError(
                f"message {index} has role {role!r}, expected {expected!r}: "
                "roles must alternate, starting with the user"
            )
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if not blocks:
            raise ValueError(f"message {index} has no content")
        if any(b["type"] == "text" and not b["text"].strip() for b in blocks):
            raise ValueError(f"message {index} has a blank text block")
        if role == "assistant":
            ids = [b["id"] for b in blocks if b["type"] == "tool_use"]
            repeated = seen_tool_use_ids.intersection(ids) or len(set(ids)) != len(ids)
            if repeated:
                raise ValueError(f"message {index} repeats a tool_use id: {ids}")
            seen_tool_use_ids.update(ids)
            unanswered = ids
            continue
        answered = [b["tool_use_id"] for b in blocks if b["type"] == "tool_result"]
        if sorted(answered) != sorted(unanswered):
            raise ValueError(
                f"message {index} answers tool_use ids {answered}, "
                f"but the assistant message before it asked for {unanswered}"
            )
        if any(b["type"] != "tool_result" for b in blocks[: len(answered)]):
            raise ValueError(f"message {index}: tool_result blocks must come before other content")
        unanswered = []
    if messages[-1]["role"] != "user":
        raise ValueError("the last message must be from the user")
