"""Engine benchmarks, run inside one mode's process (see bench/__main__.py for both modes).

- checkpoint overhead: one `step.run` with no user work, timed inside the function;
- replay: a run with 1,000 memoized steps resumed, from execution start to the first new step;
- resume latency: from sending the matching event (its commit included) to the resumed run's next
  step starting, with real workers (embedded consumer threads, or a `run_huey` process on Redis);
- cost of waiting: resuming one of 10,000 waiting runs takes about as long as one of 10, and the
  10,000 waiting runs hold no worker thread: two probe runs sent while they wait must both be
  running at the same moment on the 2 worker threads (`workers_held` = 2 − the most probes seen
  running at once).

Clocks start only after a sentinel run has completed on the freshly started workers, so a
worker's start-up (~1 s for `run_huey`) is never counted. A figure over fewer than 100 samples
reports its maximum (`max_ms`, with `n`), not a p99.
"""

import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from bench import workflows
from supportdesk import durable
from supportdesk.durable.engine import execute_run
from supportdesk.durable.models import Event, Run, RunStatus, Step

ROOT = Path(__file__).resolve().parent.parent


# BENCH_QUICK=1: a tenth of the samples (at least 5), to check that the code runs; its results
# go to a file of their own and are not figures to quote.
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")


def samples(count: int) -> int:
    return max(5, count // 10) if QUICK else count


def summary(seconds: list[float]) -> dict:
    """p50 and max of the samples; p99 (nearest rank) only from 100 samples on: below that, the
    99th percentile is just the maximum, and is reported as such."""
    ordered = sorted(seconds)
    result = {"p50_ms": statistics.median(ordered) * 1000, "max_ms": ordered[-1] * 1000,
              "n": len(ordered)}  # fmt: skip
    if len(ordered) >= 100:
        result["p99_ms"] = ordered[math.ceil(len(ordered) * 0.99) - 1] * 1000
    return result


def reset() -> None:
    Run.objects.all().delete()
    Event.objects.all().delete()


def start_runs(name: str, data_list: list[dict], tenant: str = "") -> list:
    ids = []
    for offset in range(0, len(data_list), 500):
        ids += durable.send_events(
            [{"name": name, "data": d} for d in data_list[offset : offset + 500]], tenant=tenant
        )
    return list(Run.objects.filter(event__event_id__in=ids).values_list("pk", flat=True))


def checkpoint_overhead(steps: int = 2000) -> dict:
    reset()
    workflows.STEP_SECONDS.clear()
    [run_id] = start_runs("bench/empty-steps", [{"count": steps}])
    execute_run(run_id)
    assert Run.objects.get(pk=run_id).status == RunStatus.COMPLETED
    return summary(workflows.STEP_SECONDS)


def replay(memoized: int = 1000, trials: int = 15) -> dict:
    reset()
    run_ids = start_runs("bench/wait", [{"count": memoized, "key": n} for n in range(trials)])
    for run_id in run_ids:
        execute_run(run_id)  # runs the 1,000 steps, then waits
    seconds = []
    for run_id in run_ids:
        key = Run.objects.get(pk=run_id).event.data["key"]
        durable.send_events({"name": "bench/answer", "data": {"key": key}})
        started = time.time()
        execute_run(run_id)
        resumed_at = Step.objects.get(run_id=run_id, key="resumed").output
        seconds.append(resumed_at - started)
    return summary(seconds)


def sentinel_run(timeout: float = 60) -> None:
    """Send a one-step run and wait until the workers completed it: they are up and warm."""
    [run_id] = start_runs("bench/empty-steps", [{"count": 1}])
    wait_for(lambda: Run.objects.get(pk=run_id).status == RunStatus.COMPLETED, timeout)


WORKER_THREADS = 2


class Workers:
    """Real workers for this mode: consumer threads in this process (embedded) or `run_huey`;
    ready (a sentinel run completed) when the `with` block starts."""

    def __init__(self, threads: int = WORKER_THREADS, processes: int = 1):
        """Scale-out: `processes` run_huey processes of `threads` threads each; embedded: the
        consumer threads of this process, `threads` × `processes` of them."""
        self.threads, self.processes = threads, processes

    def __enter__(self):
        from huey.contrib.djhuey import HUEY

        HUEY.flush()
        self.started = []
        if settings.REDIS_URL:
            env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings"}
            self.started = [subprocess.Popen(
                [sys.executable, "manage.py", "run_huey", "-w", str(self.threads),
                 "-k", "thread"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ) for _ in range(self.processes)]  # fmt: skip
        else:
            from supportdesk.durable.embedded import start_embedded_consumer

            self.consumer = start_embedded_consumer(workers=self.threads * self.processes)
        sentinel_run()
        return self

    def __exit__(self, *exc_info):
        if self.started:
            for process in self.started:
                process.terminate()
            for process in self.started:
                process.wait()
        else:
            self.consumer.stop(graceful=True)


def wait_for(predicate, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark condition not reached")
        time.sleep(0.005)


def park_waiting_runs(count: int) -> list:
    """`count` runs waiting on their own key, executed inline (the fastest way to get there)."""
    run_ids = start_runs("bench/wait", [{"key": n} for n in range(count)])
    for run_id in run_ids:
        execute_run(run_id)
    return run_ids


def resume_latency(waiting: int, trials: int, probe: bool = False) -> dict:
    """Resume `trials` runs one at a time through the real workers, `waiting` runs parked at each
    moment (each resumed run is replaced by a fresh waiting one). With `probe`, then measure how
    many worker threads the parked runs hold (see `workers_held_while_waiting`)."""
    reset()
    run_ids = park_waiting_runs(waiting)
    assert Run.objects.filter(status=RunStatus.WAITING).count() == waiting
    seconds = []
    with Workers():
        for trial in range(trials):
            run_id = run_ids[trial]
            key = Run.objects.get(pk=run_id).event.data["key"]
            sent = time.time()
            durable.send_events({"name": "bench/answer", "data": {"key": key}})
            wait_for(lambda r=run_id: Step.objects.filter(run_id=r, key="resumed").exists())
            seconds.append(Step.objects.get(run_id=run_id, key="resumed").output - sent)
            wait_for(lambda r=run_id: Run.objects.get(pk=r).status == RunStatus.COMPLETED)
            [fresh] = start_runs("bench/wait", [{"key": waiting + trial}])
            run_ids.append(fresh)
            wait_for(lambda r=fresh: Run.objects.get(pk=r).status == RunStatus.WAITING)
        result = summary(seconds)
        result["runs_waiting"] = waiting
        # Every resume above completed on the 2 worker threads while `waiting` runs waited.
        result["resumes_completed_while_waiting"] = len(seconds)
        if probe:
            result.update(workers_held_while_waiting(waiting))
    return result


def workers_held_while_waiting(waiting: int, timeout: float = 10) -> dict:
    """Send one probe run per worker thread while `waiting` runs wait. A probe holds its thread
    until it sees every probe running at once (or `timeout` passes) and returns the most it saw:
    if the waiting runs held k threads, at most WORKER_THREADS − k probes ever run together."""
    assert Run.objects.filter(status=RunStatus.WAITING).count() == waiting
    assert not Run.objects.filter(status=RunStatus.RUNNING).exists()
    probes = start_runs("bench/probe", [{"expected": WORKER_THREADS, "timeout": timeout}]
                        * WORKER_THREADS)  # fmt: skip
    done = Run.objects.filter(pk__in=probes, status=RunStatus.COMPLETED)
    wait_for(lambda: done.count() == WORKER_THREADS, timeout=WORKER_THREADS * timeout + 30)
    together = max(done.values_list("output", flat=True))
    return {"worker_threads": WORKER_THREADS, "workers_free": together,
            "workers_held": WORKER_THREADS - together}  # fmt: skip


def run_all() -> dict:
    mode = "postgresql+redis" if settings.REDIS_URL else "sqlite (embedded)"
    results = {"mode": mode, "database": connection.vendor}
    results["checkpoint_overhead"] = checkpoint_overhead(samples(2000))
    results["replay_1000_steps"] = replay(trials=samples(15))
    results["resume_latency"] = resume_latency(waiting=100, trials=samples(200))
    results["resume_one_of_10"] = resume_latency(waiting=10, trials=samples(100))
    results["resume_one_of_10000"] = resume_latency(
        waiting=samples(10_000), trials=samples(100), probe=True
    )
    ratio = results["resume_one_of_10000"]["p50_ms"] / results["resume_one_of_10"]["p50_ms"]
    results["resume_10000_vs_10_ratio"] = ratio
    reset()
    return results
