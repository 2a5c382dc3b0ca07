"""An agent network run durably by a real worker, its model the real `anthropic` SDK talking HTTP
to a fake Messages API: pausing and resuming never repeats an inference or a tool call."""

import json

import pytest

from agents import validate_messages
from supportdesk import durable
from supportdesk.durable.models import Run, RunStatus
from tests.conftest import wait_until
from tests.durable.workflows import side_effects
from tests.fakes.anthropic_server import FakeAnthropicServer, message, text_block, tool_use_block

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def tool_results(body: dict) -> list[dict]:
    return [
        block
        for m in body["messages"]
        if m["role"] == "user" and isinstance(m["content"], list)
        for block in m["content"]
        if block.get("type") == "tool_result"
    ]


def respond(body: dict) -> dict:
    """The supervisor sends Triage, then Support; Support looks up, asks a human, answers."""
    tools = {t["name"] for t in body.get("tools", [])}
    if "select_agent" in tools:
        said = json.dumps(body["messages"])
        if "Support has it" in said or "resolved" in said:
            return message(tool_use_block("done", {"summary": "answered"}))
        if "Triage here" in said:
            return message(tool_use_block("select_agent", {"name": "Support", "reason": "tech"}))
        return message(tool_use_block("select_agent", {"name": "Triage", "reason": "first"}))
    if "lookup" not in tools:
        return message(text_block("Triage here: this is a crash report."))
    results = tool_results(body)
    if not results:
        return message(
            text_block("Checking."),
            tool_use_block("lookup", {"topic": "crash"}),
            tool_use_block("broken", {}),
        )
    if len(results) == 2:
        return message(tool_use_block("ask_human", {"question": "Is 2.1 safe to roll back?"}))
    answer = json.loads(results[-1]["content"])
    return message(text_block(f"Support has it, resolved: {answer}"))


@pytest.fixture
def fake_anthropic():
    with FakeAnthropicServer(respond) as server:
        yield server


def test_network_pauses_and_resumes_without_repeating_inferences_or_tools(
    start_worker, side_effect_log, fake_anthropic
):
    env = {"ANTHROPIC_BASE_URL": fake_anthropic.base_url, "ANTHROPIC_API_KEY": "test-key"}
    worker = start_worker(workers=1, extra_env=env)
    durable.send_events({"name": "test/network", "data": {"ticketId": 7, "title": "App crashes"}})
    run = wait_until(lambda: Run.objects.filter(status=RunStatus.WAITING).first())
    requests_before_pause = len(fake_anthropic.requests)
    assert requests_before_pause == 5  # route, Triage, route, Support (tools), Support (ask)

    # The paused run holds no worker: the worker can even die and another take over.
    worker.kill()
    start_worker(workers=1, extra_env=env)
    durable.send_events(
        {"name": "test/answer", "data": {"ticketId": 7, "answer": "yes, roll back"}}
    )
    wait_until(lambda: Run.objects.get(pk=run.pk).status == RunStatus.COMPLETED, timeout=30)

    run.refresh_from_db()
    assert run.output["turns"] == ["Triage", "Support", "Support", "Support"]
    assert "yes, roll back" in run.output["output"]
    assert fake_anthropic.duplicate_requests() == []
    assert len(fake_anthropic.requests) == requests_before_pause + 2  # Support answers, done
    assert side_effects(side_effect_log) == ["lookup crash", "broken called"]

    # Every request's history was valid for the Messages API, across agents and turns...
    for body in fake_anthropic.requests:
        validate_messages(body["messages"])
    # ...and the tool that raised came back to the model as an error, the run going on.
    [failed] = [r for r in tool_results(fake_anthropic.requests[4]) if r.get("is_error")]
    assert "the release-notes service is down" in failed["content"]
    kinds = list(run.steps.values_list("kind", flat=True))
    assert kinds.count("infer") + kinds.count("route") == 7
    assert kinds.count("tool") == 2 and kinds.count("wait") == 1
