"""Test settings: the project's settings with the tests' own data dir, queue and short timers."""

import os
import secrets
from pathlib import Path

_base = Path(__file__).resolve().parent.parent
os.environ.setdefault("SUPPORTDESK_DATA_DIR", str(_base / "var" / "test"))
os.environ.setdefault("HUEY_QUEUE_NAME", f"supportdesk-test-{os.getpid()}")
os.environ.setdefault("DURABLE_LEASE_SECONDS", "3")
os.environ.setdefault("DURABLE_SWEEP_SECONDS", "0.5")
os.environ.setdefault("DURABLE_RETRY_BASE_SECONDS", "0.05")
os.environ.setdefault("DURABLE_REQUEUE_AFTER_SECONDS", "2")
os.environ.setdefault(
    "DURABLE_WORKFLOW_MODULES", "tests.durable.workflows,tests.reliability.workflows"
)
os.environ.setdefault("TEST_DATABASE_NAME", "test_supportdesk")
# One random key per test session, inherited by the servers and workers the tests start.
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
# Rate limits out of the way, except where a test sets its own (tests/api/test_rate_limits.py).
for _limit in ("KEY_REQUESTS", "ORG_REQUESTS", "ORG_EVENTS"):
    os.environ.setdefault(f"SUPPORTDESK_{_limit}_PER_MINUTE", "1000000")

from supportdesk.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The tests' fake Slack webhooks listen on 127.0.0.1 (any port); production allows Slack only.
SLACK_WEBHOOK_ALLOWED_PREFIXES = [*SLACK_WEBHOOK_ALLOWED_PREFIXES, "http://127.0.0.1/"]  # noqa: F405
