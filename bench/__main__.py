"""`python -m bench`: every benchmark in both modes, side by side; JSON in bench/results/."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
MODES = {
    "embedded": {"DATABASE_URL": "", "REDIS_URL": ""},
    "scale-out": {
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/supportdesk_bench",
        "REDIS_URL": "redis://127.0.0.1:6379/2",
    },
}
ROWS = [
    ("checkpoint overhead per step.run", "checkpoint_overhead", "p50 ≤ 1 ms SQLite, ≤ 2 ms PG"),
    ("replay of 1,000 memoized steps", "replay_1000_steps", "≤ 100 ms"),
    ("resume latency (event → next step)", "resume_latency", "p50 ≤ 20 ms, p99 ≤ 100 ms"),
    ("resume, 1 of 10 waiting", "resume_one_of_10", ""),
    ("resume, 1 of 10,000 waiting", "resume_one_of_10000", "≤ 1.5× 1 of 10"),
    ("ticket created → first question", "ticket_to_first_question", "fake Claude API"),
    ("answer → run completed", "answer_to_completion", "fake Claude API"),
    ("push latency, 1 client", "push_latency_1_clients", "p50 ≤ 20 ms, p99 ≤ 100 ms"),
    ("push latency, 100 clients", "push_latency_100_clients", "p50 ≤ 20 ms, p99 ≤ 100 ms"),
]


def run_mode(name: str, env: dict) -> dict:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings"}
    for key, value in env.items():
        if value:
            environment[key] = value
        else:
            environment.pop(key, None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=environment,
                   check=True)  # fmt: skip
    code = (
        "import django, json; django.setup(); "
        "from bench import engine, desk, inbox; "
        "print(json.dumps({**engine.run_all(), **desk.run_all(), **inbox.run_all()}))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, check=True,
                         capture_output=True, text=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def ensure_database(name: str) -> None:
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name],
                   capture_output=True, check=False)  # fmt: skip


def main() -> None:
    ensure_database("supportdesk_bench")
    results = {name: run_mode(name, env) for name, env in MODES.items()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "benchmarks.json").write_text(json.dumps(results, indent=2))
    header = (
        f"| {'benchmark':38} | {'SQLite p50 / p99':>18} | {'PG+Redis p50 / p99':>18} | target |"
    )
    print(header)
    print("|" + "---|" * 4)
    for label, key, target in ROWS:
        cells = [f"{results[m][key]['p50_ms']:7.2f} / {results[m][key]['p99_ms']:7.2f} ms"
                 for m in MODES]  # fmt: skip
        print(f"| {label:38} | {cells[0]:>18} | {cells[1]:>18} | {target} |")
    ratios = " | ".join(f"{results[m]['resume_10000_vs_10_ratio']:.2f}×" for m in MODES)
    print(f"| {'resume 1 of 10,000 ÷ 1 of 10 (p50)':38} | {ratios} | ≤ 1.5× |")
    holding = " | ".join(
        str(results[m]["resume_one_of_10000"]["runs_holding_a_worker"]) for m in MODES
    )
    print(f"| {'workers held by 10,000 waiting runs':38} | {holding} | 0 |")
    print(f"\nJSON: {RESULTS / 'benchmarks.json'}")


if __name__ == "__main__":
    main()
