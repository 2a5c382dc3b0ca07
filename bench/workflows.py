"""Durable functions the benchmarks drive (the benchmark's worker processes import them too)."""

import time

from supportdesk import durable

# Per-step timings of the current process, read by the benchmark that ran the function inline.
STEP_SECONDS: list[float] = []


@durable.function(id="bench-empty-steps", trigger="bench/empty-steps")
def empty_steps(ctx):
    for _ in range(ctx.event["data"]["count"]):
        started = time.perf_counter()
        ctx.step.run("noop", lambda: None)
        STEP_SECONDS.append(time.perf_counter() - started)


@durable.function(id="bench-wait", trigger="bench/wait")
def steps_then_wait(ctx):
    """`count` memoized steps, a wait, then a step recording when it started (wall clock)."""
    for _ in range(ctx.event["data"].get("count", 0)):
        ctx.step.run("noop", lambda: None)
    ctx.step.wait_for_event("answer", event="bench/answer", timeout="1h", match="data.key")
    resumed_at = time.time()
    ctx.step.run("resumed", lambda: resumed_at)


@durable.function(id="bench-slow-steps", trigger="bench/slow-steps")
def slow_steps(ctx):
    """Steps that take a while, each storing when it started: a worker is killed in one."""
    for _ in range(ctx.event["data"]["count"]):
        ctx.step.run("slow", lambda: time.sleep(ctx.event["data"]["seconds"]) or time.time())


@durable.function(id="bench-probe", trigger="bench/probe")
def probe(ctx):
    """Holds a worker thread until `expected` probes are running at the same moment (or `timeout`
    passes); returns the most it saw running at once. Having seen them all, it lingers a moment
    so the others see them too."""
    from supportdesk.durable.models import Run, RunStatus

    expected, timeout = ctx.event["data"]["expected"], ctx.event["data"]["timeout"]

    def meet() -> int:
        running = Run.objects.filter(function_id="bench-probe", status=RunStatus.RUNNING)
        deadline, most = time.monotonic() + timeout, 0
        while time.monotonic() < deadline and most < expected:
            most = max(most, running.count())
            time.sleep(0.005)
        time.sleep(0.2)
        return most

    return ctx.step.run("meet", meet)
