"""`python -m bench`: every benchmark in both modes, side by side; JSON in bench/results/.

Each mode runs in its own process (settings are per process): the embedded default (SQLite, Huey
on SQLite, in-process channel layer) and scale-out (PostgreSQL + Redis), on the benchmarks' own
database and queue names. `python -m bench engine desk` runs only those suites.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SUITES = ["engine", "desk", "fairness", "inbox", "api", "scale", "peers"]
# BENCH_DATABASE_URL / BENCH_REDIS_URL move the scale-out mode elsewhere (another engineer's
# benchmarks on the same machine, say).
MODES = {
    "embedded": {"DATABASE_URL": "", "REDIS_URL": ""},
    "scale-out": {
        "DATABASE_URL": os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/supportdesk_bench"
        ),
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/2"),
    },
}
# BENCH_QUICK=1 takes a tenth of the samples, to check the code runs; not figures to quote.
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")


def latency(key: str):
    """p50 / p99 from 100 samples on; below that the p99 would be the maximum: say so."""

    def cell(results: dict) -> str:
        figures = results[key]
        if "p99_ms" in figures:
            return f"{figures['p50_ms']:.2f} / {figures['p99_ms']:.2f} ms"
        return f"{figures['p50_ms']:.2f} / max {figures['max_ms']:.2f} ms (n={figures['n']})"

    return cell


def sized(key: str):
    """A latency cell with the largest response's size."""

    def cell(results: dict) -> str:
        return f"{latency(key)(results)}, {results[key]['bytes'] / 1024:.1f} KiB"

    return cell


def workers_held(results: dict) -> str:
    probe = results["resume_one_of_10000"]
    return (
        f"{probe['workers_held']} of {probe['worker_threads']} "
        f"({probe['resumes_completed_while_waiting']} resumes done meanwhile)"
    )


def scaling(results: dict) -> str:
    four = results["throughput_4_workers"]["steps_per_second"]
    two = results["throughput_2_workers"]["steps_per_second"]
    return f"{four:,.0f} steps/s ({four / two:.2f}×)"


# (label, suite, formatter of one mode's results, target); a tuple of suites: the formatter reads
# the mode's results of every suite (ratios of ours to the peers').
ROWS = [
    ("checkpoint overhead per step.run", "engine", latency("checkpoint_overhead"),
     "p50 ≤ 1 ms SQLite, ≤ 2 ms PG"),
    ("replay of 1,000 memoized steps", "engine", latency("replay_1000_steps"), "≤ 100 ms"),
    ("resume latency (event → next step)", "engine", latency("resume_latency"),
     "p50 ≤ 20 ms, p99 ≤ 100 ms"),
    ("resume, 1 of 10 waiting", "engine", latency("resume_one_of_10"), ""),
    ("resume, 1 of 10,000 waiting", "engine", latency("resume_one_of_10000"), ""),
    ("resume 1 of 10,000 ÷ 1 of 10 (p50)", "engine",
     lambda r: f"{r['resume_10000_vs_10_ratio']:.2f}×", "≤ 1.5×"),
    ("worker threads held by 10,000 waiting runs (probe)", "engine", workers_held, "0"),
    ("ticket created → first question", "desk", latency("ticket_to_first_question"),
     "fake Claude API"),
    ("answer → run completed", "desk", latency("answer_to_completion"), "fake Claude API"),
    ("incident: one answer resumes 100 waiting runs (last resume / last done)", "desk",
     lambda r: f"{r['incident_all_resumed']}/{r['incident_runs']} resumed; "
               f"{r['incident_last_resume_ms'] / 1000:.2f} s / "
               f"{r['incident_last_completion_ms'] / 1000:.2f} s", "all resumed"),
    ("org A: ticket → first question, unloaded", "fairness",
     latency("quiet_first_question_unloaded"), "fake Claude API"),
    ("org A: ticket → first question, org B flooding 2,000 tickets", "fairness",
     lambda r: f"{latency('quiet_first_question_under_flood')(r)} "
               f"({r['flood_over_unloaded_p50']:.2f}× unloaded)",
     "p50 ≤ 2× unloaded"),
    ("push latency, 1 client", "inbox", latency("push_latency_1_clients"),
     "p50 ≤ 20 ms, p99 ≤ 100 ms"),
    ("push latency, 100 clients", "inbox", latency("push_latency_100_clients"),
     "p50 ≤ 5 ms, p99 ≤ 50 ms"),
    ("push latency, 1,000 clients", "inbox", latency("push_latency_1000_clients"),
     "p50 ≤ 20 ms, p99 ≤ 150 ms"),
    ("large inbox (10,000 pending): first page, most urgent first", "inbox",
     sized("large_inbox_first_page_urgent"), "≤ 100 ms server time, ≤ 50 KiB"),
    ("large inbox (10,000 pending): first page, newest first", "inbox",
     sized("large_inbox_first_page_newest"), "≤ 100 ms server time, ≤ 50 KiB"),
    ("large inbox (10,000 pending): reconnect frame", "inbox",
     sized("large_inbox_reconnect_frame"), "≤ 100 ms, ≤ 50 KiB"),
    ("API ticket → first model request", "api", latency("api_ticket_to_first_model_request"),
     "p50 ≤ 50 ms with Redis"),
    ("events in at /e/, 1 per request", "api",
     lambda r: f"{r['api_events_single_per_s']:,.0f} events/s", "≥ 300 events/s"),
    ("events in at /e/, batches of 100", "api",
     lambda r: f"{r['api_events_batched_per_s']:,.0f} events/s", "≥ 2,000 events/s"),
    ("events in at /e/, batches of 100 starting runs and resolving waits", "api",
     lambda r: f"{r['api_events_with_work_accepted_per_s']:,.0f} events/s in; work done at "
               f"{r['api_events_with_work_done_per_s']:,.0f} events/s", ""),
    ("throughput, 2 workers", "scale",
     lambda r: f"{r['throughput_2_workers']['steps_per_second']:,.0f} steps/s",
     "≥ 2,000/s SQLite, ≥ 1,000/s PG"),
    ("recovery after SIGKILL", "scale",
     lambda r: f"{r['recovery_after_sigkill']['p50_ms'] / 1000:.1f} s (median, "
               f"n={r['recovery_after_sigkill']['n']})",
     "≤ 10 s"),
    ("throughput, 4 workers (÷ 2 workers)", "scale", scaling, "≥ 1.6× on PG"),
    # The peers (bench/peers.py), beside our figure of the same run: ours ÷ the best peer's.
    ("peers: resume — LangGraph Command(resume) / DBOS send → recv (p50)", "peers",
     lambda r: peer(r, lambda p: f"{p['langgraph']['resume_p50_ms']:.2f} / "
                                 f"{p['dbos']['send_recv_p50_ms']:.2f} ms"), ""),
    ("resume ÷ best peer's resume (p50)", ("engine", "peers"),
     lambda r: ratio(r, r["engine"]["resume_latency"]["p50_ms"],
                     lambda p: min(p["langgraph"]["resume_p50_ms"], p["dbos"]["send_recv_p50_ms"])),
     "≤ 2× LangGraph (SQLite); ≤ 1× DBOS (PG)"),
    ("peers: checkpoint per node/step — LangGraph (added) / DBOS (p50)", "peers",
     lambda r: peer(r, lambda p: f"{p['langgraph']['checkpoint_per_node_ms']:.2f} / "
                                 f"{p['dbos']['step_p50_ms']:.2f} ms"), ""),
    ("checkpoint ÷ best peer's (p50)", ("engine", "peers"),
     lambda r: ratio(r, r["engine"]["checkpoint_overhead"]["p50_ms"],
                     lambda p: min(p["langgraph"]["checkpoint_per_node_ms"],
                                   p["dbos"]["step_p50_ms"])), "≤ 1×"),
    ("peers: DBOS recovery after SIGKILL", "peers",
     lambda r: peer(r, lambda p: f"{p['dbos']['recovery_after_sigkill']['p50_ms'] / 1000:.1f} s "
                                 f"(median, n={p['dbos']['recovery_after_sigkill']['n']})"), ""),
    ("recovery ÷ DBOS recovery", ("scale", "peers"),
     lambda r: ratio(r, r["scale"]["recovery_after_sigkill"]["p50_ms"],
                     lambda p: p["dbos"]["recovery_after_sigkill"]["p50_ms"]), ""),
]  # fmt: skip


def peer(results: dict, cell) -> str:
    """A peer's figure, or why there is none (the `bench` extra is not installed)."""
    if "skipped" in results:
        return "skipped: peers not installed"
    return cell(results)


def ratio(results: dict, ours: float, best) -> str:
    """Our figure ÷ the best peer's, both of this run."""
    if "skipped" in results["peers"]:
        return "skipped: peers not installed"
    return f"{ours / best(results['peers']):.2f}×"


def run_mode(name: str, env: dict, suites: list[str]) -> dict:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings"}
    for key, value in env.items():
        if value:
            environment[key] = value
        else:
            environment.pop(key, None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=environment,
                   check=True)  # fmt: skip
    results = {}
    for suite in suites:
        code = (
            "import django, json; django.setup(); "
            f"from bench import {suite}; print(json.dumps({suite}.run_all()))"
        )
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment,
                             capture_output=True, text=True)  # fmt: skip
        if out.returncode != 0:
            sys.exit(f"the {suite} benchmarks failed in the {name} mode:\n{out.stderr[-4000:]}")
        results[suite] = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"[{name}] {suite} done", file=sys.stderr)
    return results


def ensure_database(url: str) -> None:
    parts = urlsplit(url)
    subprocess.run(["createdb", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432),
                    "-U", parts.username or "postgres", parts.path.lstrip("/")],
                   capture_output=True, check=False)  # fmt: skip


def rows(results: dict, suites: list[str]) -> list[str]:
    lines = [
        "| benchmark | embedded (SQLite) | scale-out (PostgreSQL + Redis) | target |",
        "|---|---|---|---|",
    ]
    for label, suite, cell, target in ROWS:
        if isinstance(suite, tuple):  # a ratio between suites: the cell reads them all
            if all(s in suites for s in suite):
                cells = [cell(results[mode]) for mode in MODES]
                lines.append(f"| {label} | {cells[0]} | {cells[1]} | {target} |")
            continue
        if suite in suites:
            cells = [cell(results[mode][suite]) for mode in MODES]
            lines.append(f"| {label} | {cells[0]} | {cells[1]} | {target} |")
    return lines


def main() -> None:
    suites = [s for s in sys.argv[1:] if s in SUITES] or SUITES
    ensure_database(MODES["scale-out"]["DATABASE_URL"])
    results = {name: run_mode(name, env, suites) for name, env in MODES.items()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    output = RESULTS / ("benchmarks-quick.json" if QUICK else "benchmarks.json")
    output.write_text(json.dumps(results, indent=2))
    print("\n".join(rows(results, suites)))
    print(f"\nJSON: {output}" + (" (BENCH_QUICK: a tenth of the samples)" if QUICK else ""))


if __name__ == "__main__":
    main()
