"""The peers, measured the way bench/engine.py and bench/scale.py measure us, in the same mode's
process (embedded: SQLite; scale-out: PostgreSQL, each peer on a database of its own name):

- LangGraph: checkpoint cost per node — a chain of no-op nodes run with the checkpointer
  (`durability="sync"`: each checkpoint written before the next node starts, as our step is
  stored before `step.run` returns) minus the same chain without one, per node, p50 of runs;
  resume — from calling `invoke(Command(resume=...))` on a thread paused in `interrupt()` to
  the code after `interrupt()` running (in-process: no queue, no second process);
- DBOS (bench/peer_dbos.py, in a process of its own): per-step cost (a no-op `@DBOS.step`,
  timed in the workflow); send → recv (from `DBOS.send` to the code after `DBOS.recv` running);
  recovery after SIGKILL (a worker killed 0.5 s into its second 2 s step and another started at
  once with the same executor id: from the kill to the step starting again), as ours is measured.

The peers are the optional `bench` extra (`pip install -e ".[bench]"`, which `make bench` does).
Without it, this suite reports `{"skipped": ...}` and the table says so.
"""

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from bench.engine import QUICK, samples

ROOT = Path(__file__).resolve().parent.parent
MISSING = (
    "peers not installed: `pip install -e '.[bench]'` (langgraph, langgraph-checkpoint-sqlite, "
    "langgraph-checkpoint-postgres, dbos); `make bench` installs them"
)


def installed() -> bool:
    try:
        import dbos  # noqa: F401
        import langgraph.checkpoint.postgres
        import langgraph.checkpoint.sqlite  # noqa: F401
    except ImportError:
        return False
    return True


def postgres_url(suffix: str) -> str:
    """A database of the peer's own beside the benchmarks' (created if missing)."""
    parts = urlsplit(settings.DATABASES["default"].get("URL") or os.environ["DATABASE_URL"])
    name = f"{parts.path.lstrip('/')}_{suffix}"
    subprocess.run(["createdb", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432),
                    "-U", parts.username or "postgres", name],
                   capture_output=True, check=False)  # fmt: skip
    return urlunsplit(("postgresql", parts.netloc, f"/{name}", "", ""))


def data_dir() -> Path:
    path = Path(settings.DATA_DIR) / "peers"
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- LangGraph -----------------------------------------------------------------------------------
def chain(nodes: int):
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph

    class State(TypedDict):
        n: int

    graph = StateGraph(State)
    for index in range(nodes):
        graph.add_node(f"n{index}", lambda state: {"n": state["n"] + 1})
        graph.add_edge(START if index == 0 else f"n{index - 1}", f"n{index}")
    graph.add_edge(f"n{nodes - 1}", END)
    return graph


def paused_graph():
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph
    from langgraph.types import interrupt

    class State(TypedDict):
        key: int
        answer: str
        resumed_at: float

    def ask(state):
        answer = interrupt("question")
        return {"answer": answer, "resumed_at": time.time()}  # the code after interrupt()

    def before(state):
        return {}

    graph = StateGraph(State)
    graph.add_node("before", before)
    graph.add_node("ask", ask)
    graph.add_node("after", lambda state: {})
    graph.add_edge(START, "before")
    graph.add_edge("before", "ask")
    graph.add_edge("ask", "after")
    graph.add_edge("after", END)
    return graph


def langgraph_figures(checkpointer, nodes: int, runs: int, trials: int) -> dict:
    from langgraph.types import Command

    graph = chain(nodes)
    bare, saved = graph.compile(), graph.compile(checkpointer=checkpointer)
    bare_per_node, saved_per_node = [], []
    for run in range(runs):
        started = time.perf_counter()
        bare.invoke({"n": 0})
        bare_per_node.append((time.perf_counter() - started) / nodes)
        config = {"configurable": {"thread_id": f"chain-{run}-{time.time_ns()}"}}
        started = time.perf_counter()
        saved.invoke({"n": 0}, config, durability="sync")
        saved_per_node.append((time.perf_counter() - started) / nodes)
    paused = paused_graph().compile(checkpointer=checkpointer)
    resume = []
    for trial in range(trials):
        config = {"configurable": {"thread_id": f"resume-{trial}-{time.time_ns()}"}}
        paused.invoke({"key": trial, "answer": "", "resumed_at": 0.0}, config, durability="sync")
        sent = time.time()
        state = paused.invoke(Command(resume="yes"), config, durability="sync")
        resume.append(state["resumed_at"] - sent)
    added = statistics.median(saved_per_node) - statistics.median(bare_per_node)
    return {
        "checkpoint_per_node_ms": added * 1000,
        "node_with_checkpoint_ms": statistics.median(saved_per_node) * 1000,
        "resume_p50_ms": statistics.median(resume) * 1000,
        "resume_n": len(resume),
    }


def langgraph(nodes: int = 100, runs: int = 20, trials: int = 100) -> dict:
    if connection_vendor() == "sqlite":
        from langgraph.checkpoint.sqlite import SqliteSaver

        path = data_dir() / "langgraph.sqlite3"
        path.unlink(missing_ok=True)
        with SqliteSaver.from_conn_string(str(path)) as saver:
            saver.setup()
            result = langgraph_figures(saver, nodes, runs, trials)
        result["checkpointer"] = "SqliteSaver"
        return result
    from langgraph.checkpoint.postgres import PostgresSaver

    with PostgresSaver.from_conn_string(postgres_url("langgraph")) as saver:
        saver.setup()
        result = langgraph_figures(saver, nodes, runs, trials)
    result["checkpointer"] = "PostgresSaver"
    return result


# --- DBOS ----------------------------------------------------------------------------------------
def dbos_url(tag: str) -> str:
    if connection_vendor() == "sqlite":
        path = data_dir() / f"dbos-{tag}.sqlite3"
        for stale in path.parent.glob(f"{path.name}*"):
            stale.unlink()
        return f"sqlite:///{path}"
    return postgres_url("dbos")


def dbos_command(url: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "bench.peer_dbos", url, *args]


def dbos_measure(steps: int, trials: int) -> dict:
    out = subprocess.run(dbos_command(dbos_url("measure"), "measure", str(steps), str(trials)),
                         cwd=ROOT, capture_output=True, text=True, timeout=600)  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"DBOS measurement failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def dbos_recovery(trials: int) -> dict:
    seconds = []
    for _ in range(trials):
        url = dbos_url("recovery")
        if url.startswith("postgresql"):  # a fresh system database: no earlier trial's workflows
            parts = urlsplit(url)
            name = parts.path.lstrip("/")
            for command in ("dropdb", "createdb"):
                subprocess.run([command, "-h", parts.hostname, "-p", str(parts.port or 5432),
                                "-U", parts.username or "postgres", name],
                               capture_output=True, check=False)  # fmt: skip
        with tempfile.NamedTemporaryFile("r", suffix=".marks", delete=False) as handle:
            marks = Path(handle.name)

        def lines(marks: Path = marks) -> list[tuple[int, float]]:
            return [(int(i), float(t)) for i, t in
                    (line.split() for line in marks.read_text().splitlines())]  # fmt: skip

        worker = subprocess.Popen(dbos_command(url, "worker", str(marks), "start"), cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)  # fmt: skip
        try:
            wait(lambda: any(i == 1 for i, _ in lines()), 120)
            time.sleep(0.5)  # in the middle of the second step
        finally:
            os.killpg(worker.pid, signal.SIGKILL)
            killed = time.time()
            worker.wait()
        replacement = subprocess.Popen(dbos_command(url, "worker", str(marks)), cwd=ROOT,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                       start_new_session=True)  # fmt: skip
        try:
            wait(lambda: sum(i == 1 for i, _ in lines()) == 2, 120)
            seconds.append(max(t for i, t in lines() if i == 1) - killed)
        finally:
            os.killpg(replacement.pid, signal.SIGKILL)
            replacement.wait()
            marks.unlink(missing_ok=True)
    return {"p50_ms": statistics.median(seconds) * 1000, "max_ms": max(seconds) * 1000,
            "n": len(seconds)}  # fmt: skip


def wait(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("peer benchmark condition not reached")
        time.sleep(0.005)


def connection_vendor() -> str:
    from django.db import connection

    return connection.vendor


def run_all() -> dict:
    if not installed():
        return {"skipped": MISSING}
    results = {"langgraph": langgraph(runs=samples(20), trials=samples(100))}
    dbos = dbos_measure(steps=samples(1000), trials=samples(50) if connection_vendor() != "sqlite"
                        else (5 if QUICK else 10))  # SQLite: recv polls each second  # fmt: skip
    dbos["recovery_after_sigkill"] = dbos_recovery(trials=1 if QUICK else 3)
    results["dbos"] = dbos
    return results
