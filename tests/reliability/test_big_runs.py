"""A run with 1,000 steps and a 1 MiB result stays correct; results over the limit fail clearly."""

import pytest

from supportdesk import durable
from supportdesk.durable.models import Run, RunStatus, StepStatus

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_a_thousand_steps_and_a_megabyte_result_survive_replay(drain, settings):
    settings.DURABLE = {**settings.DURABLE, "MAX_STEP_OUTPUT_BYTES": 2 * 1024 * 1024}
    [event_id] = durable.send_events({"name": "test/big-steps", "data": {}})
    run = Run.objects.get(event__event_id=event_id)
    drain()
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert run.output == {"total": sum(range(1000)), "blob_length": 1024 * 1024}
    assert run.steps.count() == 1001
    assert run.steps.get(key="small:999").output == 999
    # Replaying the finished run from scratch returns the same output without running steps.
    from supportdesk.durable.engine import execute_run

    Run.objects.filter(pk=run.pk).update(status=RunStatus.QUEUED)
    execute_run(run.pk)
    run.refresh_from_db()
    assert run.output["total"] == sum(range(1000)) and run.steps.count() == 1001


def test_a_result_over_the_documented_limit_fails_the_step_clearly(drain, settings):
    settings.DURABLE = {**settings.DURABLE, "MAX_STEP_OUTPUT_BYTES": 512 * 1024}
    [event_id] = durable.send_events({"name": "test/big-steps", "data": {}})
    drain()
    run = Run.objects.get(event__event_id=event_id)
    assert run.status == RunStatus.FAILED
    assert (
        "step 'blob' failed: StepOutputTooLarge: the step's result is 1,048,578 bytes" in run.error
    )
    assert "DURABLE_MAX_STEP_OUTPUT_BYTES" in run.error
    assert run.steps.get(key="blob").status == StepStatus.FAILED
    assert run.steps.filter(status=StepStatus.COMPLETED).count() == 1000
