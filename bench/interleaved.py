"""Two checkouts measured turn about: `python -m bench.interleaved OLD NEW [ROUNDS] [MODE]`.

A full `make bench` of each, an hour apart, differs by ±20-30 % on this shared machine from its
own drift alone. Before-and-after claims are made here instead: the same rows of both
checkouts (their own `bench/` code, this virtualenv), one after the other, for several rounds;
the figure per row is the sum over the rounds, so a slow moment of the machine weighs on both.
Each checkout uses its own database names (BENCH_DATABASE_URL / BENCH_REDIS_URL of the mode,
passed per checkout: `OLD_DATABASE_URL`, `OLD_REDIS_URL`, `NEW_DATABASE_URL`, `NEW_REDIS_URL`).
MODE (`embedded` or `scale-out`) measures one mode's rows only.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

# Rows that every version of bench/ since 2026-11-25 measures the same way.
EMBEDDED_ROWS = """
from bench import desk
r = desk.ticket_round_trips(trials=30)
out = {"ticket → first question (embedded)": r["ticket_to_first_question"]["p50_ms"],
       "answer → completed (embedded)": r["answer_to_completion"]["p50_ms"]}
"""
SCALE_OUT_ROWS = """
from bench import api, engine
out = {"replay of 1,000 steps (scale-out)": engine.replay(trials=15)["p50_ms"],
       "resume latency (scale-out)": engine.resume_latency(waiting=100, trials=100)["p50_ms"],
       "resume, 1 of 10 (scale-out)": engine.resume_latency(waiting=10, trials=100)["p50_ms"],
       "events in, batches of 100 (scale-out, ms per 100)":
           100_000 / api.event_ingestion(singles=1, batches=100)["api_events_batched_per_s"]}
"""
PROGRAM = "import django, json; django.setup()\n{rows}\nprint(json.dumps(out))"


def measure(checkout: Path, rows: str, env: dict) -> dict:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", **env}
    for name, value in env.items():
        if not value:
            environment.pop(name)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=checkout,
                   env=environment, check=True)  # fmt: skip
    done = subprocess.run([sys.executable, "-c", PROGRAM.format(rows=rows)], cwd=checkout,
                          env=environment, capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    old, new = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    only = sys.argv[4] if len(sys.argv) > 4 else ""
    totals: dict[str, dict[str, list[float]]] = {"old": {}, "new": {}}
    for _ in range(rounds):
        for side, checkout in (("old", old), ("new", new)):
            prefix = side.upper()
            scale_out = {"DATABASE_URL": os.environ[f"{prefix}_DATABASE_URL"],
                         "REDIS_URL": os.environ[f"{prefix}_REDIS_URL"]}  # fmt: skip
            embedded = {"DATABASE_URL": "", "REDIS_URL": ""}
            for mode, rows, env in (("embedded", EMBEDDED_ROWS, embedded),
                                    ("scale-out", SCALE_OUT_ROWS, scale_out)):  # fmt: skip
                if only and mode != only:
                    continue
                for row, value in measure(checkout, rows, env).items():
                    totals[side].setdefault(row, []).append(value)
    print(f"| row (p50, ms; {rounds} rounds, turn about) | {old.name} | {new.name} | change |")
    print("|---|---|---|---|")
    for row, values in totals["old"].items():
        before, after = sum(values), sum(totals["new"][row])
        print(f"| {row} | {' + '.join(f'{v:.1f}' for v in values)} | "
              f"{' + '.join(f'{v:.1f}' for v in totals['new'][row])} | "
              f"{(after / before - 1) * 100:+.1f} % |")  # fmt: skip
    name = f"interleaved-{old.name}-{new.name}{'-' + only if only else ''}.json"
    output = Path(__file__).parent / "results" / name
    output.write_text(json.dumps({"old": str(old), "new": str(new), **totals}, indent=2))
    print(f"\nJSON: {output}")


if __name__ == "__main__":
    main()
