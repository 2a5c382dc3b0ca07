"""Runs through the API: a run with its steps; cancelling a run that has not ended; retrying a
failed one. Anything else is a 409 that changes nothing."""

import pytest

from supportdesk.desk.models import Question, QuestionStatus
from supportdesk.durable.models import Run, RunStatus
from tests.api.conftest import post_json
from tests.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def waiting_run(api, drain) -> Run:
    ticket = post_json(api, "/api/tickets", {"title": "The app crashes", "priority": "critical"})
    drain()
    return Run.objects.get(pk=ticket.json()["runs"][0]["id"])


def test_a_run_with_its_steps(api, waiting_run):
    response = api.get(f"/api/runs/{waiting_run.pk}")
    assert response.status_code == 200
    run = response.json()
    assert run["status"] == "waiting" and run["function_id"] == "support-agent-workflow"
    assert run["event_name"] == "app/support.ticket.created" and run["event_id"]
    steps = {step["key"]: step for step in run["steps"]}
    assert steps["get_ticket_details"]["kind"] == "run"
    assert steps["get_ticket_details"]["result"]["title"] == "The app crashes"
    route = steps["Supervisor.route"]
    assert route["kind"] == "route" and route["label"] == "offline demo model"
    assert route["actor"] == "Supervisor"
    assert route["tool_uses"][0]["name"] == "select_agent"
    [wait] = [step for step in run["steps"] if step["kind"] == "wait"]
    assert wait["status"] == "waiting" and wait["resolution"].startswith("waiting for app/")
    assert [t["status"] for t in run["transitions"]][:2] == ["queued", "running"]
    positions = [step["position"] for step in run["steps"]]
    assert positions == sorted(positions)


def test_cancelling_a_waiting_run_cancels_its_question(api, waiting_run):
    response = api.post(f"/api/runs/{waiting_run.pk}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["transitions"][-1]["reason"].startswith(
        "cancelled through the API by tests (sdapi_"
    )
    assert Question.objects.get(run=waiting_run).status == QuestionStatus.CANCELLED

    again = api.post(f"/api/runs/{waiting_run.pk}/cancel")
    assert again.status_code == 409
    assert again.json()["detail"] == (
        f"run {waiting_run.pk} has already ended (cancelled): nothing to cancel"
    )


def test_only_a_failed_run_can_be_retried(api, waiting_run):
    response = api.post(f"/api/runs/{waiting_run.pk}/retry")
    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"only a failed run can be retried; run {waiting_run.pk} is waiting"
    )
    assert Run.objects.get(pk=waiting_run.pk).status == RunStatus.WAITING


def test_retrying_a_failed_run_runs_its_failed_step_again(api, drain, side_effect_log):
    # test-flaky (tests/durable/workflows.py) fails its step 3 times, then succeeds; with
    # retries=2 its run fails after the third attempt.
    sent = post_json(api, "/api/events", {"name": "test/flaky", "data": {"fail_times": 3}})
    [event_id] = sent.json()["ids"]
    run = Run.objects.get(event__event_id=event_id)

    def settled() -> bool:
        drain()
        return Run.objects.get(pk=run.pk).is_terminal

    wait_until(settled)
    assert Run.objects.get(pk=run.pk).status == RunStatus.FAILED

    response = api.post(f"/api/runs/{run.pk}/retry")
    assert response.status_code == 200
    assert response.json()["status"] == "queued" and response.json()["error"] == ""
    wait_until(settled)
    retried = api.get(f"/api/runs/{run.pk}").json()
    assert retried["status"] == "completed" and retried["output"] == {"succeeded_on": 4}
    reasons = [t["reason"] for t in retried["transitions"]]
    assert any(r.startswith("retried through the API by tests (sdapi_") for r in reasons)


def test_unknown_run_ids(api):
    unknown = "8a7602ff-8904-4740-bf5e-7e46c177227e"
    for response in (api.get(f"/api/runs/{unknown}"), api.post(f"/api/runs/{unknown}/cancel"),
                     api.post(f"/api/runs/{unknown}/retry")):  # fmt: skip
        assert response.status_code == 404
        assert response.json() == {"detail": f"no run with id {unknown}"}
    assert api.get("/api/runs/42").status_code == 422
