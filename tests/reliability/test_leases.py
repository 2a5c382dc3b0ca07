"""Leases with real worker processes: a long step is not taken from a live worker, and a worker
paused past its lease (SIGSTOP) while another finishes the run writes nothing when it wakes."""

import os
import signal
import time

import pytest

from supportdesk import durable
from supportdesk.durable.models import Run, RunStatus
from tests.conftest import wait_until
from tests.durable.workflows import side_effects

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SHORT_LEASE = {"DURABLE_LEASE_SECONDS": "1", "DURABLE_SWEEP_SECONDS": "0.3"}


def run_of(event_id: str) -> Run:
    return Run.objects.get(event__event_id=event_id)


def test_a_step_longer_than_the_lease_is_not_recovered_while_its_worker_lives(
    start_worker, side_effect_log
):
    start_worker(workers=1, extra_env=SHORT_LEASE)
    start_worker(workers=1, extra_env=SHORT_LEASE)  # a second worker, sweeping too
    durable.send_events({"name": "test/steps", "data": {"count": 1, "pause": 3.5}, "id": "long"})
    wait_until(lambda: run_of("long").status == RunStatus.COMPLETED, timeout=30)
    run_id = run_of("long").pk
    assert side_effects(side_effect_log).count(f"{run_id} step 0 start") == 1
    assert run_of("long").recoveries == 0
    reasons = run_of("long").transitions.values_list("reason", flat=True)
    assert not any(reason.startswith("recovered") for reason in reasons)


def test_a_worker_paused_past_its_lease_is_fenced_when_it_wakes(start_worker, side_effect_log):
    paused = start_worker(workers=1, extra_env=SHORT_LEASE)
    durable.send_events({"name": "test/steps", "data": {"count": 2, "pause": 2}, "id": "fence"})
    run_id = str(wait_until(lambda: Run.objects.filter(event__event_id="fence").first()).pk)
    wait_until(lambda: f"{run_id} step 0 start" in side_effects(side_effect_log))
    os.killpg(paused.process.pid, signal.SIGSTOP)  # frozen mid-step, lease and all
    try:
        start_worker(workers=1, extra_env=SHORT_LEASE)
        wait_until(lambda: run_of("fence").status == RunStatus.COMPLETED, timeout=30)
        finished = run_of("fence")
        transitions = finished.transitions.count()
    finally:
        os.killpg(paused.process.pid, signal.SIGCONT)
    # The paused worker wakes, ends its step body, and tries to checkpoint it: refused.
    wait_until(lambda: side_effects(side_effect_log).count(f"{run_id} step 0 end") == 2)
    time.sleep(1.5)
    lines = side_effects(side_effect_log)
    assert lines.count(f"{run_id} step 1 start") == 1  # the woken worker did not go on
    after = run_of("fence")
    assert (after.status, after.output, after.recoveries) == (RunStatus.COMPLETED, {"total": 1}, 1)
    assert after.transitions.count() == transitions  # it wrote nothing at all
    assert list(after.steps.values_list("key", "attempts")) == [("work", 1), ("work:1", 1)]
