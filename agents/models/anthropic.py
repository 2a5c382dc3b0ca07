"""Anthropic Messages API adapter: the only module that imports the `anthropic` SDK."""

from __future__ import annotations

import os
from functools import cached_property, lru_cache
from typing import Any

import anthropic

from agents.models import InferenceRequest, InferenceResponse, Usage


class AnthropicModel:
    """A Claude model. Without `api_key` / `base_url` the SDK reads ANTHROPIC_API_KEY and
    ANTHROPIC_BASE_URL. API errors propagate after the SDK's own retries, so a durable step
    can retry the inference.
    """

    def __init__(
        self,
        model: str,
        *,
        max_tokens: int = 1024,
        temperature: float | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        max_retries: int = 2,
        client: anthropic.Anthropic | None = None,
    ) -> None:
        self.name = model
        self.max_tokens = max_tokens
        self.temperature = temperature
        self._client_options = {
            "api_key": api_key,
            "base_url": base_url,
            "max_retries": max_retries,
        }
        if client is not None:
            self.client = client

    @cached_property
    def client(self) -> anthropic.Anthropic:
        # Created on first use, so a network can be defined where no key is configured; shared
        # by every model with the same options, since a new client costs ~20 ms (its HTTP pool).
        # The SDK reads its key and base URL from the environment: they are part of the identity.
        environment = (os.environ.get("ANTHROPIC_API_KEY"), os.environ.get("ANTHROPIC_BASE_URL"))
        return _shared_client(**self._client_options, environment=environment)

    def infer(self, request: InferenceRequest) -> InferenceResponse:
        params: dict[str, Any] = {
            "model": self.name,
            "max_tokens": request.max_tokens or self.max_tokens,
            "messages": request.messages,
        }
        if request.system:
            params["system"] = request.system
        if request.tools:
            params["tools"] = [spec.model_dump() for spec in request.tools]
            params["tool_choice"] = _tool_choice(request.tool_choice)
        temperature = request.temperature if request.temperature is not None else self.temperature
        if temperature is not None:
            # This SDK version has no `temperature` argument; the API still takes the field.
            params["extra_body"] = {"temperature": temperature}
        message = self.client.messages.create(**params)
        return InferenceResponse(
            content=[_block(b) for b in message.content if b.type in ("text", "tool_use")],
            stop_reason=message.stop_reason,
            usage=Usage(
                input_tokens=message.usage.input_tokens, output_tokens=message.usage.output_tokens
            ),
            model=message.model,
        )


@lru_cache(maxsize=16)
def _shared_client(
    *, api_key: str | None, base_url: str | None, max_retries: int, environment: tuple
) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=api_key, base_url=base_url, max_retries=max_retries)


def _tool_choice(choice: str) -> dict[str, str]:
    if choice in ("auto", "any", "none"):
        return {"type": choice}
    return {"type": "tool", "name": choice}


def _block(block: Any) -> dict[str, Any]:
    if block.type == "text":
        return {"type": "text", "text": block.text}
    return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
