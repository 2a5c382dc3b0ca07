"""The app under benchmark: `manage.py serve` on a free port with this mode's workers (the
embedded consumer, or a `run_huey` process on Redis), DEBUG off as in production; ready when it
answers HTTP and its workers have completed a sentinel run."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
from django.conf import settings

from bench.engine import sentinel_run, wait_for

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`manage.py serve` on a free port with this mode's workers, `env` added to its environment."""

    def __init__(self, env: dict | None = None):
        self.env = env or {}

    def __enter__(self):
        from huey.contrib.djhuey import HUEY

        HUEY.flush()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # DEBUG off, as in production: no per-query bookkeeping, no debug pages.
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "ANTHROPIC_API_KEY": "",
               "DEBUG": "0", "LOG_LEVEL": "WARNING", **self.env}  # fmt: skip
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": ROOT}
        serve = [sys.executable, "manage.py", "serve", "--port", str(self.port)]
        self.processes = []
        if settings.REDIS_URL:
            self.processes.append(subprocess.Popen(
                [sys.executable, "manage.py", "run_huey", "-w", "2", "-k", "thread"],
                env=env, **quiet,
            ))  # fmt: skip
            serve.append("--no-worker")
        else:
            env["EMBEDDED_WORKER"] = "1"
        self.processes.append(subprocess.Popen(serve, env=env, **quiet))
        wait_for(self._answers, timeout=30)
        sentinel_run()  # the workers (run_huey, or the server's own threads) are up
        return self

    def _answers(self) -> bool:
        try:
            return httpx.get(f"{self.url}/api/openapi.json").status_code == 200
        except httpx.TransportError:
            return False

    def __exit__(self, *exc_info):
        for process in self.processes:
            process.terminate()
            process.wait()
