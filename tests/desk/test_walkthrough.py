"""The README's walkthrough as a test: the app served by `manage.py serve`, driven by the CLI in
other processes. Once on the offline demo model, once on Claude's API (a fake Messages API on
127.0.0.1 through the real SDK) — where the fake server never sees a request twice."""

import re

import pytest

from supportdesk.desk import selectors
from supportdesk.desk.demo_model import demo_blocks
from supportdesk.desk.models import Ticket
from supportdesk.durable.models import Run, RunStatus
from tests.conftest import LiveApp, wait_until
from tests.fakes.anthropic_server import FakeAnthropicServer, message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def walkthrough(app: LiveApp) -> Run:
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

    def pending_lines():
        out = app.cli("question", "list").stdout.strip()
        return out if "  ticket " in out else None

    # Each `question list` starts a process: poll the database until there is something to list.
    wait_until(selectors.questions_pending().exists)
    listed = wait_until(pending_lines)
    [line] = listed.splitlines()
    question_id = line.split()[0]
    assert f"ticket {ticket_id} [critical] Technical Support:" in line
    assert Run.objects.get(pk=run_id).status == RunStatus.WAITING

    answered = app.cli("question", "answer", question_id, "Fixed in 2.4.2; disable offline mode.")
    assert answered.returncode == 0, answered.stderr

    # The reply on a critical ticket waits for a reviewer's approval (the demo's default).
    def approval_line():
        lines = app.cli("question", "list").stdout.splitlines()
        return next((line for line in lines if " approval: " in line), None)

    wait_until(selectors.questions_pending().filter(kind="approval").exists)
    line = wait_until(approval_line)
    assert f"ticket {ticket_id} [critical] approval: Technical Support wants to call " in line
    assert "reply_to_customer(" in line and Ticket.objects.get(pk=ticket_id).replies.count() == 0
    decided = app.cli("question", "decide", line.split()[0], "approve")
    assert decided.returncode == 0, decided.stderr
    assert decided.stdout.startswith("approved Technical Support's call of reply_to_customer")
    wait_until(lambda: Run.objects.get(pk=run_id).status == RunStatus.COMPLETED, timeout=30)

    shown = app.cli("run", "show", run_id).stdout.splitlines()
    assert shown[0].startswith(f"run {run_id} support-agent-workflow: completed")
    assert any("developer.response" in line and "wait" in line for line in shown)
    reply = Ticket.objects.get(pk=ticket_id).replies.get()
    assert "Fixed in 2.4.2; disable offline mode." in reply.body
    again = app.cli("question", "answer", question_id, "again")
    assert again.returncode == 1 and "already answered by" in again.stderr
    return Run.objects.get(pk=run_id)


@pytest.fixture
def serve(approving_organization, live_app):
    return live_app


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
    assert len(fake.requests) == run.steps.filter(kind__in=["infer", "route"]).count() == 6
    assert run.steps.filter(key__startswith="approval.decision", kind="wait").count() == 1
    assert {body["model"] for body in fake.requests} == {"claude-haiku-4-5"}
    assert "offline demo model" not in app.cli("run", "show", str(run.pk)).stdout
