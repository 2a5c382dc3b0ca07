"""DBOS (dbos-transact-py), measured as bench/peers.py says: run as its own process, since DBOS is
a process-wide singleton.

`python -m bench.peer_dbos <system database url> measure <steps> <trials>` prints JSON: per-step
cost and send → recv latency. `python -m bench.peer_dbos <url> worker <marks file> [start]` is a
worker for the recovery measurement: it launches DBOS (which recovers this executor's pending
workflows) and, with `start`, starts a workflow of slow steps, each appending its start time to
the marks file.
"""

import json
import statistics
import sys
import time

from dbos import DBOS, DBOSConfig

STEP_SECONDS: list[float] = []
RESUMED_AT: dict[str, float] = {}


def configure(url: str) -> None:
    config: DBOSConfig = {
        "name": "supportdesk-bench-peer",
        "system_database_url": url,
        "log_level": "WARNING",
        "console_log_level": "WARNING",
        "executor_id": "bench-peer",  # the replacement worker recovers the killed one's workflows
    }
    DBOS(config=config)


@DBOS.step()
def noop() -> None:
    return None


@DBOS.workflow()
def empty_steps(count: int) -> None:
    for _ in range(count):
        started = time.perf_counter()
        noop()
        STEP_SECONDS.append(time.perf_counter() - started)


@DBOS.workflow()
def waits_for_answer(key: str) -> None:
    DBOS.recv("answer", timeout_seconds=60)
    RESUMED_AT[key] = time.time()  # the workflow's code after recv runs


MARKS = {"file": ""}


@DBOS.step()
def slow_step(index: int, seconds: float) -> None:
    with open(MARKS["file"], "a") as marks:
        marks.write(f"{index} {time.time()}\n")
    time.sleep(seconds)


@DBOS.workflow()
def slow_steps(count: int, seconds: float) -> None:
    for index in range(count):
        slow_step(index, seconds)


def measure(steps: int, trials: int) -> dict:
    empty_steps(10)  # warm
    STEP_SECONDS.clear()
    empty_steps(steps)
    per_step = statistics.median(STEP_SECONDS) * 1000
    latencies = []
    for trial in range(trials):
        key = f"answer-{trial}-{time.time_ns()}"
        handle = DBOS.start_workflow(waits_for_answer, key)
        time.sleep(0.02)  # the workflow is inside recv, waiting
        sent = time.time()
        DBOS.send(handle.get_workflow_id(), "yes", "answer")
        handle.get_result()
        latencies.append(RESUMED_AT[key] - sent)
    return {
        "step_p50_ms": per_step,
        "send_recv_p50_ms": statistics.median(latencies) * 1000,
        "send_recv_n": len(latencies),
    }


def main() -> None:
    url, command = sys.argv[1], sys.argv[2]
    configure(url)
    if command == "measure":
        DBOS.launch()
        try:
            print(json.dumps(measure(int(sys.argv[3]), int(sys.argv[4]))))
        finally:
            DBOS.destroy()
    elif command == "worker":
        MARKS["file"] = sys.argv[3]
        DBOS.launch()  # recovers the pending workflows of this executor id
        if len(sys.argv) > 4 and sys.argv[4] == "start":
            DBOS.start_workflow(slow_steps, 3, 2.0)
        while True:
            time.sleep(1)


if __name__ == "__main__":
    main()
