"""Durable functions of the fault-injection suite (imported by its worker processes too)."""

import os

from agents.models import InferenceRequest
from supportdesk import durable
from tests.durable.workflows import record

STEPS = 3


@durable.function(id="test-model-steps", trigger="test/model-steps")
def model_steps(ctx):
    """Three steps, each one model call through the real SDK (ANTHROPIC_BASE_URL: a fake API)."""
    from agents.models.anthropic import AnthropicModel

    model = AnthropicModel("claude-fake", max_tokens=50, max_retries=0)
    answers = []
    for index in range(STEPS):

        def call(index=index):
            record(f"{ctx.run_id} call {index}")
            prompt = f"run {ctx.run_id} step {index}"
            request = InferenceRequest(messages=[{"role": "user", "content": prompt}])
            return model.infer(request).text

        answers.append(ctx.step.run("call", call))
    return {"answers": answers, "pid": os.getpid()}


@durable.function(id="test-big-steps", trigger="test/big-steps")
def big_steps(ctx):
    """1,000 steps and one result of 1 MiB; every step body records that it ran."""
    total = 0
    for index in range(1000):
        total += ctx.step.run("small", lambda index=index: record(f"{ctx.run_id} small") or index)
    blob = ctx.step.run("blob", lambda: record(f"{ctx.run_id} blob") or "x" * (1024 * 1024))
    return {"total": total, "blob_length": len(blob)}


@durable.function(id="test-wait-only", trigger="test/wait-only")
def wait_only(ctx):
    """Waits at once: the cheapest run to park by the thousand."""
    answer = ctx.step.wait_for_event("answer", event="test/answer", timeout="1h", match="data.key")
    return answer and answer["data"]["answer"]
