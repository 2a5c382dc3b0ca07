"""Durable functions the engine tests drive; the worker processes of the tests import them too.

Side effects are appended to the file named by SIDE_EFFECT_LOG, so a test can count how often a
step body really ran, across processes and crashes.
"""

import contextlib
import os
import time
from pathlib import Path

from supportdesk import durable
from supportdesk.durable import NonRetriableError


def record(line: str) -> None:
    path = os.environ.get("SIDE_EFFECT_LOG")
    if path:
        with Path(path).open("a") as log:
            log.write(line + "\n")


def side_effects(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@durable.function(id="test-steps", trigger="test/steps")
def many_steps(ctx):
    count = ctx.event["data"].get("count", 3)
    pause = ctx.event["data"].get("pause", 0)
    total = 0
    for index in range(count):

        def body(index=index):
            record(f"{ctx.run_id} step {index} start")
            time.sleep(pause)
            record(f"{ctx.run_id} step {index} end")
            return index

        total += ctx.step.run("work", body)
    return {"total": total}


@durable.function(
    id="test-wait",
    trigger="test/wait",
    cancel_on=[{"event": "test/close", "match": "data.ticketId"}],
)
def wait_for_answer(ctx):
    before = ctx.step.run("before", lambda: record(f"{ctx.run_id} before") or "ready")
    answer = ctx.step.wait_for_event(
        "answer",
        event="test/answer",
        timeout=ctx.event["data"].get("timeout", "1h"),
        match="data.ticketId",
    )
    after = ctx.step.run("after", lambda: record(f"{ctx.run_id} after") or "done")
    return {"before": before, "answer": answer and answer["data"].get("answer"), "after": after}


@durable.function(id="test-if-exp", trigger="test/question")
def wait_with_expression(ctx):
    question_id = ctx.event["data"]["questionId"]
    answer = ctx.step.wait_for_event(
        "answer",
        event="test/answer",
        timeout="1h",
        if_exp=f"event.data.ticketId == async.data.ticketId && async.data.questionId == "
        f"'{question_id}'",
    )
    return answer and answer["data"]["answer"]


@durable.function(id="test-flaky", trigger="test/flaky", retries=2)
def flaky(ctx):
    fail_times = ctx.event["data"]["fail_times"]
    non_retriable = ctx.event["data"].get("non_retriable", False)

    def attempt():
        record(f"{ctx.run_id} attempt")
        attempts = sum(1 for line in side_effects(Path(os.environ["SIDE_EFFECT_LOG"]))
                       if line == f"{ctx.run_id} attempt")  # fmt: skip
        if non_retriable:
            raise NonRetriableError("the ticket does not exist")
        if attempts <= fail_times:
            raise ConnectionError(f"flaky service, attempt {attempts}")
        return attempts

    try:
        return {"succeeded_on": ctx.step.run("call", attempt)}
    except durable.StepError as exc:
        if ctx.event["data"].get("catch"):
            return {"caught": exc.message}
        raise


@durable.function(id="test-sleep-send", trigger="test/sleep")
def sleep_then_send(ctx):
    ctx.step.sleep("nap", ctx.event["data"].get("seconds", 0.2))
    ids = ctx.step.send_event("notify", {"name": "test/slept", "data": {"run": ctx.run_id}})
    return {"sent": ids}


ORDER_VARIANT = {"value": "a"}


@durable.function(id="test-order", trigger="test/order")
def order_sensitive(ctx):
    if ORDER_VARIANT["value"] == "a":
        ctx.step.run("first", lambda: 1)
    ctx.step.run("second", lambda: 2)
    ctx.step.wait_for_event("go", event="test/go", timeout="1h", match="data.ticketId")
    ctx.step.run("third", lambda: 3)
    return "ok"


# --- an agent network run durably, its model the real Anthropic SDK (ANTHROPIC_BASE_URL) ----------


def build_support_network():
    from agents import Agent, Network, RoutingAgent, tool
    from agents.models.anthropic import AnthropicModel

    @tool
    def lookup(topic: str) -> dict:
        """Look a topic up in the knowledge base."""
        record(f"lookup {topic}")
        return {"article": f"How to handle {topic}"}

    @tool
    def broken() -> dict:
        """A tool whose service is down."""
        record("broken called")
        raise RuntimeError("the release-notes service is down")

    @tool(durable=True)
    def ask_human(question: str, ctx) -> dict:
        """Ask a developer and wait for the answer."""
        answer = ctx.step.wait_for_event(
            "ask_human", event="test/answer", timeout="1h", match="data.ticketId"
        )
        if answer is None:
            return {"error": "No developer response provided"}
        return {"developerResponse": answer["data"]["answer"]}

    model = AnthropicModel("claude-fake", max_tokens=300, max_retries=0)
    support = Agent(
        name="Support",
        description="Answers tickets.",
        system="You are a support engineer.",
        tools=[lookup, broken, ask_human],
    )
    triage = Agent(name="Triage", description="Says hello first.", system="You triage tickets.")
    return Network(
        name="Support Network",
        agents=[triage, support],
        default_model=model,
        router=RoutingAgent(name="Supervisor"),
        max_iter=8,
    )


@durable.function(id="test-network", trigger="test/network")
def support_network_run(ctx):
    network = build_support_network()
    outcome = network.run(ctx.event["data"]["title"], step=ctx.step)
    return {"output": outcome.output, "turns": [r.agent_name for r in outcome.results]}


# --- the engine's edges (test_edges.py) ---------------------------------------------------------
VARIANT = {"value": "a"}


@durable.function(id="test-colliding-ids", trigger="test/colliding-ids")
def colliding_ids(ctx):
    """Caller ids that look like auto-indexed ones: each step must get a key of its own."""
    return [ctx.step.run(step_id, lambda n=n: n) for n, step_id in
            enumerate(["fetch", "fetch", "fetch:1", "fetch:1", "fetch"])]  # fmt: skip


@durable.function(id="test-kind-change", trigger="test/kind-change")
def kind_change(ctx):
    if VARIANT["value"] == "a":
        ctx.step.wait_for_event("x", event="test/go", timeout="1h", match="data.key")
    else:
        ctx.step.run("x", lambda: {"not": "an event"})
    ctx.step.wait_for_event("end", event="test/end", timeout="1h", match="data.key")
    return "ok"


@durable.function(id="test-gap", trigger="test/gap")
def step_after_a_gap(ctx):
    """Variant a: the wait's registration is refused (a user error the function catches), so
    nothing is stored at its position and the run goes on. Variant b: it registers — at a
    position below what the run already stored: the run's history would fork."""

    def refuse():
        if VARIANT["value"] == "a":
            raise ValueError("the question is blank")

    ctx.step.run("before", lambda: record(f"{ctx.run_id} before") or 1)
    with contextlib.suppress(ValueError):
        ctx.step.wait_for_event(
            "ask", event="test/answer", timeout="1h", match="data.key", on_register=refuse
        )
    ctx.step.run("after", lambda: record(f"{ctx.run_id} after") or 2)
    ctx.step.wait_for_event("end", event="test/end", timeout="1h", match="data.key")
    return "ok"


@durable.function(id="test-early-end", trigger="test/early-end")
def ends_early(ctx):
    """A gap (a refused wait), then a step that variant b no longer reaches."""
    ctx.step.run("a", lambda: 1)
    with contextlib.suppress(durable.StepError):
        ctx.step.wait_for_event("bad", event="test/x", timeout="1h", if_exp="async.data.x ==")
    if VARIANT["value"] == "a":
        ctx.step.run("b", lambda: 2)
    return "ok"


@durable.function(id="test-unstorable", trigger="test/unstorable", retries=3)
def unstorable_result(ctx):
    text = {"nul": "a\x00b", "surrogate": "a\ud800b"}[ctx.event["data"]["what"]]

    def body():
        record(f"{ctx.run_id} body")
        return {"text": text}

    return ctx.step.run("result", body)


class WorkerDied(BaseException):
    """Stands in for SIGKILL or OOM inside a step: nothing of the execution runs after it."""


@durable.function(id="test-dies", trigger="test/dies", retries=2)
def dies_in_its_step(ctx):
    """Its step kills the execution every time (a stand-in for SIGKILL or OOM: nothing after
    the body runs, the lease is left to expire)."""

    def body():
        record(f"{ctx.run_id} body")
        raise WorkerDied("the worker died")

    return ctx.step.run("deadly", body)


@durable.function(id="test-slow-between", trigger="test/slow-between")
def slow_between_steps(ctx):
    ctx.step.run("a", lambda: record(f"{ctx.run_id} a") or 1)
    time.sleep(ctx.event["data"]["pause"])  # slow code outside steps: the lease may lapse
    ctx.step.run("b", lambda: record(f"{ctx.run_id} b") or 2)
    return "ok"


RETRY_FAILS = {"value": True}


@durable.function(
    id="test-retry-cancel",
    trigger="test/retry-cancel",
    cancel_on=[{"event": "test/close", "match": "data.ticketId"}],
)
def fails_then_waits(ctx):
    def fragile():
        if RETRY_FAILS["value"]:
            raise NonRetriableError("the service refused")
        return "ok"

    ctx.step.run("fragile", fragile)
    ctx.step.wait_for_event("answer", event="test/answer", timeout="1h", match="data.ticketId")
    return "answered"


@durable.function(id="test-dies-once", trigger="test/dies-once")
def dies_once_in_its_second_step(ctx):
    """Step 0 completes; the first execution dies in step 1's body (the worker was killed)."""

    def second():
        record(f"{ctx.run_id} second")
        log = Path(os.environ["SIDE_EFFECT_LOG"])
        if side_effects(log).count(f"{ctx.run_id} second") == 1:
            raise WorkerDied("killed mid-step")
        return 2

    first = ctx.step.run("first", lambda: record(f"{ctx.run_id} first") or 1)
    return first + ctx.step.run("second", second)


@durable.function(id="test-timed", trigger="test/timed")
def timed_step(ctx):
    """One step whose body logs when it starts and ends (wall clock, comparable across
    processes), to see how many bodies ran at once."""

    def body():
        record(f"{ctx.run_id} {time.time():.6f} start")
        time.sleep(ctx.event["data"].get("pause", 0))
        record(f"{ctx.run_id} {time.time():.6f} end")

    ctx.step.run("body", body)
    return "ok"
