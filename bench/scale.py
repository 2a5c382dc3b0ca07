"""Scale benchmarks:

- throughput: steps per second executed by 2 workers (embedded: 2 consumer threads; scale-out:
  `run_huey -w 2`), over many runs of empty steps, from enqueue to the last run's end; and by 4
  (embedded: 4 consumer threads; scale-out: two `run_huey -w 2` processes), twice the runs;
- recovery after SIGKILL: a worker process is killed in the middle of a step and another started
  at once; from the kill to the interrupted step starting again (default lease and sweep settings).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

from bench.engine import QUICK, Workers, reset, samples, start_runs, summary, wait_for
from bench.server import free_port
from supportdesk.durable.models import Run, RunStatus, Step

ROOT = Path(__file__).resolve().parent.parent


def steps_per_second(runs: int = 40, steps: int = 100, threads: int = 2, processes: int = 1
                     ) -> dict:  # fmt: skip
    reset()
    with Workers(threads, processes):  # up: a sentinel run completed
        started = time.monotonic()
        run_ids = start_runs("bench/empty-steps", [{"count": steps}] * runs)
        wait_for(lambda: Run.objects.filter(pk__in=run_ids, status=RunStatus.COMPLETED).count()
                 == runs, timeout=600)  # fmt: skip
        elapsed = time.monotonic() - started
    return {"steps_per_second": runs * steps / elapsed, "steps": runs * steps, "seconds": elapsed}


def worker_process() -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings"}
    if settings.REDIS_URL:
        command = ["manage.py", "run_huey", "-w", "2", "-k", "thread"]
    else:  # the embedded deployment: the web process with its consumer threads
        env["EMBEDDED_WORKER"] = "1"
        command = ["manage.py", "serve", "--port", str(free_port())]
    return subprocess.Popen([sys.executable, *command], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip


def recovery_after_sigkill(trials: int = 3) -> dict:
    from huey.contrib.djhuey import HUEY

    seconds = []
    for _ in range(trials):
        reset()
        HUEY.flush()
        worker = worker_process()
        [run_id] = start_runs("bench/slow-steps", [{"count": 3, "seconds": 2}])
        wait_for(lambda r=run_id: Step.objects.filter(run_id=r).count() == 1, timeout=60)
        time.sleep(0.5)  # in the middle of the second step
        os.killpg(worker.pid, signal.SIGKILL)
        killed = time.time()
        worker.wait()
        replacement = worker_process()
        try:
            # The second step ran again: the third step starts 2 s after it restarted.
            wait_for(lambda r=run_id: Step.objects.filter(run_id=r).count() == 2, timeout=120)
            restarted = Step.objects.get(run_id=run_id, key="slow:1").started_at.timestamp()
            seconds.append(restarted - killed)
        finally:
            os.killpg(replacement.pid, signal.SIGKILL)
            replacement.wait()
    result = summary(seconds)
    result["lease_seconds"] = settings.DURABLE["LEASE_SECONDS"]
    result["sweep_seconds"] = settings.DURABLE["SWEEP_SECONDS"]
    return result


def run_all() -> dict:
    return {
        "throughput_2_workers": steps_per_second(runs=samples(40)),
        # Scale-out: two run_huey processes of 2 threads (one process's threads share its GIL);
        # embedded: 4 consumer threads in the one process.
        "throughput_4_workers": steps_per_second(runs=samples(80), processes=2),
        "recovery_after_sigkill": recovery_after_sigkill(trials=3 if not QUICK else 1),
    }
