"""The README's walkthrough as a test: the app served by `manage.py serve`, driven by the CLI in
other processes. Once on the offline demo model, once on Claude's API (a fake Messages API on
127.0.0.1 through the real SDK) — where the fake server never sees a request twice."""

import re
import socket
import subprocess
import sys

import pytest

from supportdesk.desk.demo_model import demo_blocks
from supportdesk.desk.models import Ticket
from supportdesk.durable.models import Run, RunStatus
from tests.conftest import ROOT, wait_until, worker_environment
from tests.fakes.anthropic_server import FakeAnthropicServer, message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class App:
    """`manage.py serve` in its own process, and the CLI run against the same database."""

    def __init__(self, env: dict):
        self.env = worker_environment({"EMBEDDED_WORKER": "1", **env})
        self.port = free_port()
        self.server = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(self.port)],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(self._listening)

    def _listening(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    def stop(self) -> None:
        self.server.terminate()
        self.server.wait(timeout=10)


@pytest.fixture
def serve(organization):
    apps: list[App] = []

    def start(env: dict | None = None) -> App:
        apps.append(App(env or {}))
        return apps[-1]

    yield start
    for app in apps:
        app.stop()


def walkthrough(app: App) -> Run:
    created = app.cli(
        *("ticket", "create", "--title", "App crashes on launch", "--priority", "critical"),
        *("--body", "Since this morning the iOS app crashes."),
    )
    assert created.returncode == 0, created.stderr
    found = re.fullmatch(
        r"ticket (\d+) created \(critical\); run ([0-9a-f-]{36})\n", created.stdout
    )
    assert found, created.stdout
    ticket_id, run_id = found.groups()

    listed = wait_until(lambda: app.cli("question", "list").stdout.strip())
    [line] = listed.splitlines()
    question_id = line.split()[0]
    assert f"ticket {ticket_id} [critical] Technical Support:" in line
    assert Run.objects.get(pk=run_id).status == RunStatus.WAITING

    answered = app.cli("question", "answer", question_id, "Fixed in 2.4.2; disable offline mode.")
    assert answered.returncode == 0, answered.stderr
    wait_until(lambda: Run.objects.get(pk=run_id).status == RunStatus.COMPLETED, timeout=30)

    shown = app.cli("run", "show", run_id).stdout.splitlines()
    assert shown[0].startswith(f"run {run_id} support-agent-workflow: completed")
    assert any("developer.response" in line and "wait" in line for line in shown)
    reply = Ticket.objects.get(pk=ticket_id).replies.get()
    assert "Fixed in 2.4.2; disable offline mode." in reply.body
    again = app.cli("question", "answer", question_id, "again")
    assert again.returncode == 1 and "already answered by" in again.stderr
    return Run.objects.get(pk=run_id)


def test_walkthrough_on_the_offline_demo_model(serve):
    app = serve({"ANTHROPIC_API_KEY": ""})
    run = walkthrough(app)
    assert "(offline demo model)" in app.cli("run", "show", str(run.pk)).stdout


def test_walkthrough_on_claude_through_the_real_sdk(serve):
    def claude(body: dict) -> dict:
        tools = [t["name"] for t in body.get("tools", [])]
        return message(*demo_blocks(messages=body["messages"], tools=tools, labelled=False))

    with FakeAnthropicServer(claude) as fake:
        app = serve({"ANTHROPIC_API_KEY": "test-key", "ANTHROPIC_BASE_URL": fake.base_url})
        run = walkthrough(app)
    assert fake.duplicate_requests() == []
    assert len(fake.requests) == run.steps.filter(kind="infer").count() == 6
    assert {body["model"] for body in fake.requests} == {"claude-haiku-4-5"}
    assert "offline demo model" not in app.cli("run", "show", str(run.pk)).stdout
