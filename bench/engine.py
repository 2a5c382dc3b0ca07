"""Engine benchmarks, run inside one mode's process (see bench/__main__.py for both modes).

- checkpoint overhead: one `step.run` with no user work, timed inside the function;
- replay: a run with 1,000 memoized steps resumed, from execution start to the first new step;
- resume latency: from sending the matching event (its commit included) to the resumed run's next
  step starting, with real workers (embedded consumer threads, or a `run_huey` process on Redis);
- cost of waiting: 10,000 runs waiting at once hold no worker, and resuming one of them takes about
  as long as resuming one of 10.
"""

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


def summary(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"p50_ms": statistics.median(ordered) * 1000, "p99_ms": p99 * 1000, "n": len(ordered)}


def reset() -> None:
    Run.objects.all().delete()
    Event.objects.all().delete()


def start_runs(name: str, data_list: list[dict]) -> list:
    ids = []
    for offset in range(0, len(data_list), 500):
        ids += durable.send_events(
            [{"name": name, "data": d} for d in data_list[offset : offset + 500]]
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


class Workers:
    """Real workers for this mode: consumer threads in this process (embedded) or `run_huey`."""

    def __enter__(self):
        from huey.contrib.djhuey import HUEY

        HUEY.flush()
        self.process = None
        if settings.REDIS_URL:
            env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings"}
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "run_huey", "-w", "2", "-k", "thread"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        else:
            from supportdesk.durable.embedded import start_embedded_consumer

            self.consumer = start_embedded_consumer(workers=2)
        return self

    def __exit__(self, *exc_info):
        if self.process:
            self.process.terminate()
            self.process.wait()
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


def resume_latency(waiting: int, trials: int) -> dict:
    """Resume `trials` runs one at a time through the real workers, `waiting` runs parked at each
    moment (each resumed run is replaced by a fresh waiting one)."""
    reset()
    run_ids = park_waiting_runs(waiting)
    assert Run.objects.filter(status=RunStatus.WAITING).count() == waiting
    seconds, held = [], []
    with Workers():
        time.sleep(0.5)  # the consumer's threads are up
        for trial in range(trials):
            run_id = run_ids[trial]
            key = Run.objects.get(pk=run_id).event.data["key"]
            sent = time.time()
            durable.send_events({"name": "bench/answer", "data": {"key": key}})
            wait_for(lambda r=run_id: Step.objects.filter(run_id=r, key="resumed").exists())
            seconds.append(Step.objects.get(run_id=run_id, key="resumed").output - sent)
            wait_for(lambda r=run_id: Run.objects.get(pk=r).status == RunStatus.COMPLETED)
            held.append(Run.objects.filter(status=RunStatus.RUNNING).count())
            [fresh] = start_runs("bench/wait", [{"key": waiting + trial}])
            run_ids.append(fresh)
            wait_for(lambda r=fresh: Run.objects.get(pk=r).status == RunStatus.WAITING)
    result = summary(seconds)
    result["runs_waiting"] = waiting
    # Between resumes every parked run is waiting, none running: waiting holds no worker.
    result["runs_holding_a_worker"] = max(held)
    return result


def run_all() -> dict:
    mode = "postgresql+redis" if settings.REDIS_URL else "sqlite (embedded)"
    results = {"mode": mode, "database": connection.vendor}
    results["checkpoint_overhead"] = checkpoint_overhead()
    results["replay_1000_steps"] = replay()
    results["resume_latency"] = resume_latency(waiting=100, trials=200)
    results["resume_one_of_10"] = resume_latency(waiting=10, trials=100)
    results["resume_one_of_10000"] = resume_latency(waiting=10_000, trials=100)
    ratio = results["resume_one_of_10000"]["p50_ms"] / results["resume_one_of_10"]["p50_ms"]
    results["resume_10000_vs_10_ratio"] = ratio
    reset()
    return results
