"""A run with 1,000 steps and a 1 MiB result stays correct; results over the limit fail clearly."""

import pytest

from supportdesk import durable
from supportdesk.durable.engine import execute_run
from supportdesk.durable.models import Run, RunStatus, StepStatus
from tests.durable.workflows import side_effects

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_a_thousand_steps_and_a_megabyte_result_survive_replay(drain, settings, side_effect_log):
    settings.DURABLE = {**settings.DURABLE, "MAX_STEP_OUTPUT_BYTES": 2 * 1024 * 1024}
    [event_id] = durable.send_events({"name": "test/big-steps", "data": {}})
    run = Run.objects.get(event__event_id=event_id)
    drain()
    run.refresh_from_db()
    expected = {"total": sum(range(1000)), "blob_length": 1024 * 1024}
    assert run.status == RunStatus.COMPLETED
    assert run.output == expected
    assert run.steps.count() == 1001
    assert run.steps.get(key="small:999").output == 999
    assert side_effects(side_effect_log) == [f"{run.pk} small"] * 1000 + [f"{run.pk} blob"]
    stored = list(run.steps.values_list("key", "output", "ended_at"))

    # Replay the finished run from scratch, its output forgotten: every step's stored result is
    # read back, no step body runs, and the replay alone computes the output again.
    Run.objects.filter(pk=run.pk).update(status=RunStatus.QUEUED, output=None)
    replayed_from = run.transitions.count()
    assert execute_run(run.pk) == RunStatus.COMPLETED
    run.refresh_from_db()
    assert (run.status, run.output) == (RunStatus.COMPLETED, expected)
    assert list(run.transitions.values_list("status", flat=True)[replayed_from:]) == [
        RunStatus.RUNNING,
        RunStatus.COMPLETED,
    ]
    assert list(run.steps.values_list("key", "output", "ended_at")) == stored
    assert len(side_effects(side_effect_log)) == 1000 + 1  # no step body ran again


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
