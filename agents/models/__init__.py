"""The model boundary: inference request/response in Anthropic Messages format, and the protocol.

Provider adapters live in submodules; each is the only module importing its SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from agents.step import Step


class ToolSpec(BaseModel):
    name: str
    description: str
    input_schema: dict[str, Any]


class Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
        )


class InferenceRequest(BaseModel):
    """One model call. `tool_choice` is "auto", "any", "none" or the name of a tool to force.

    `max_tokens` / `temperature` left as None fall back to the model's own defaults.
    """

    system: str = ""
    messages: list[dict[str, Any]]
    tools: list[ToolSpec] = Field(default_factory=list)
    tool_choice: str = "auto"
    max_tokens: int | None = None
    temperature: float | None = None


class InferenceResponse(BaseModel):
    """The model's answer (`text` and `tool_use` blocks); `label` flags e.g. an offline demo."""

    content: list[dict[str, Any]]
    stop_reason: str | None = None
    usage: Usage = Field(default_factory=Usage)
    model: str = ""
    label: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(b["text"] for b in self.content if b["type"] == "text")

    @property
    def tool_uses(self) -> list[dict[str, Any]]:
        return [b for b in self.content if b["type"] == "tool_use"]


class Model(Protocol):
    name: str

    def infer(self, request: InferenceRequest) -> InferenceResponse: ...


def infer_step(
    step: Step,
    step_id: str,
    model: Model,
    request: InferenceRequest,
    *,
    actor: str = "",
    kind: str = "infer",
) -> InferenceResponse:
    """Run one inference as a step (kind "infer", or "route" for a router's decision), so that a
    replay never calls the model; `actor` is who asks."""
    output = step.run(step_id, _infer, model, request, kind=kind, meta={"actor": actor})
    return InferenceResponse.model_validate(output)


def _infer(model: Model, request: InferenceRequest) -> dict[str, Any]:
    return model.infer(request).model_dump(mode="json")


__all__ = ["InferenceRequest", "InferenceResponse", "Model", "ToolSpec", "Usage", "infer_step"]
