"""Deterministic models for tests and scripts: a scripted sequence, or a function of the request.

Tool-use ids left out are derived from a hash of the request, so a replay sees the same ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from agents.models import InferenceRequest, InferenceResponse

Reply = InferenceResponse | dict[str, Any]
ScriptItem = Reply | Callable[[InferenceRequest], Reply]


class ScriptExhaustedError(RuntimeError):
    pass


def text(content: str) -> InferenceResponse:
    return InferenceResponse(content=[{"type": "text", "text": content}], stop_reason="end_turn")


def tool_call(
    name: str, input: dict[str, Any] | None = None, id: str | None = None
) -> InferenceResponse:
    block: dict[str, Any] = {"type": "tool_use", "name": name, "input": input or {}}
    if id:
        block["id"] = id
    return InferenceResponse(content=[block], stop_reason="tool_use")


def tool_calls(*calls: tuple[str, dict[str, Any]]) -> InferenceResponse:
    """Several tool calls in one response: `tool_calls(("search", {"q": "x"}), ("reply", {}))`."""
    blocks = [block for name, input in calls for block in tool_call(name, input).content]
    return InferenceResponse(content=blocks, stop_reason="tool_use")


def _complete(reply: Reply, request: InferenceRequest, model: str) -> InferenceResponse:
    response = InferenceResponse.model_validate(reply).model_copy(deep=True)
    digest = hashlib.sha256(request.model_dump_json().encode()).hexdigest()[:16]
    for index, block in enumerate(response.content):
        if block["type"] == "tool_use" and not block.get("id"):
            block["id"] = f"toolu_{digest}_{index}"
    response.model = response.model or model
    return response


class ScriptedModel:
    """Answers with `responses` in order (an item may be a function of the request)."""

    def __init__(self, responses: list[ScriptItem], *, name: str = "scripted") -> None:
        self.name = name
        self.responses = list(responses)
        self.requests: list[InferenceRequest] = []

    def infer(self, request: InferenceRequest) -> InferenceResponse:
        self.requests.append(request)
        if len(self.requests) > len(self.responses):
            raise ScriptExhaustedError(
                f"{self.name}: request #{len(self.requests)} but only "
                f"{len(self.responses)} responses were scripted; "
                f"last message: {request.messages[-1] if request.messages else None}"
            )
        item = self.responses[len(self.requests) - 1]
        return _complete(item(request) if callable(item) else item, request, self.name)


class FunctionModel:
    """Answers every request with `fn(request)`."""

    def __init__(self, fn: Callable[[InferenceRequest], Reply], *, name: str = "function") -> None:
        self.name = name
        self.fn = fn
        self.requests: list[InferenceRequest] = []

    def infer(self, request: InferenceRequest) -> InferenceResponse:
        self.requests.append(request)
        return _complete(self.fn(request), request, self.name)
