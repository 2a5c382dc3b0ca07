"""Runs, steps, waits and events are readable in Django admin; runs can be cancelled there."""

import pytest
from django.contrib.auth.models import User

from supportdesk import durable
from supportdesk.durable.models import Run, RunStatus

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def test_run_page_shows_steps_inline_read_only(admin_client, drain):
    durable.send_events({"name": "test/wait", "data": {"ticketId": 1}, "id": "adm"})
    drain()
    run = Run.objects.get()
    page = admin_client.get(f"/admin/durable/run/{run.pk}/change/").content.decode()
    assert "before" in page and "answer" in page  # the step keys
    assert "waiting for test/answer" in page  # a transition
    assert 'name="steps-0-key"' not in page  # inlines are read-only
    assert admin_client.get("/admin/durable/event/").status_code == 200
    assert admin_client.get("/admin/durable/wait/").status_code == 200


def test_cancel_action_cancels_the_run(admin_client, drain):
    durable.send_events({"name": "test/wait", "data": {"ticketId": 2}})
    drain()
    run = Run.objects.get()
    response = admin_client.post(
        "/admin/durable/run/", {"action": "cancel_runs", "_selected_action": [str(run.pk)]}
    )
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert "cancelled by root" in run.transitions.last().reason


def test_retry_action_retries_failed_runs_only(admin_client, drain, side_effect_log):
    durable.send_events({"name": "test/flaky", "data": {"fail_times": 0, "non_retriable": True}})
    durable.send_events({"name": "test/wait", "data": {"ticketId": 3}})
    drain()
    failed = Run.objects.get(function_id="test-flaky")
    waiting = Run.objects.get(function_id="test-wait")
    response = admin_client.post("/admin/durable/run/", {
        "action": "retry_runs", "_selected_action": [str(failed.pk), str(waiting.pk)],
    }, follow=True)  # fmt: skip
    assert "Retried 1 run(s) (1 skipped: only failed runs can be retried)." in (
        response.content.decode()
    )
    failed.refresh_from_db()
    assert failed.status == RunStatus.QUEUED
    assert Run.objects.get(pk=waiting.pk).status == RunStatus.WAITING
