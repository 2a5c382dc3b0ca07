"""Benchmark settings: the project's settings on the benchmarks' own database and queue names."""

import os
import secrets
from pathlib import Path

_base = Path(__file__).resolve().parent.parent
os.environ.setdefault("SUPPORTDESK_DATA_DIR", str(_base / "var" / "bench"))
os.environ.setdefault("HUEY_QUEUE_NAME", "supportdesk-bench")
os.environ.setdefault("DURABLE_WORKFLOW_MODULES", "bench.workflows")
# One random key per benchmark session (DEBUG is off), inherited by the processes it starts.
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
# The benchmarks measure the engine, not the rate limits (bench/fairness.py sets its own).
for _limit in ("KEY_REQUESTS", "ORG_REQUESTS", "ORG_EVENTS"):
    os.environ.setdefault(f"SUPPORTDESK_{_limit}_PER_MINUTE", "100000000")

from supportdesk.settings import *  # noqa: E402, F403
