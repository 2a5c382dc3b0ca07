"""SIGKILL a real worker at each step boundary, over many runs: every run still ends, completed
steps never run again, and the model never sees a call repeated after its checkpoint."""

import signal
import subprocess
import sys
from collections import Counter

import pytest

from supportdesk import durable
from supportdesk.desk.demo_data import demo_seed
from supportdesk.desk.models import Ticket
from supportdesk.durable.models import Run, RunStatus
from tests.conftest import ROOT, wait_until, worker_environment
from tests.durable.workflows import side_effects
from tests.reliability.workflows import STEPS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

KEYS = ["call", "call:1", "call:2"]
FAST_RECOVERY = {"DURABLE_LEASE_SECONDS": "1", "DURABLE_SWEEP_SECONDS": "0.5"}


@pytest.mark.parametrize("boundary", ["before_step", "after_step", "after_checkpoint"])
def test_sigkill_at_a_step_boundary(boundary, start_worker, side_effect_log, counting_model):
    env = {"ANTHROPIC_BASE_URL": counting_model.base_url, "ANTHROPIC_API_KEY": "k",
           **FAST_RECOVERY}  # fmt: skip
    crashed: dict[str, int] = {}  # run id -> index of the step it died at
    for index, key in enumerate(KEYS):
        worker = start_worker(workers=1, extra_env={**env, "DURABLE_CRASH_AT": f"{boundary}:{key}"})
        durable.send_events([{"name": "test/model-steps", "data": {"n": n}} for n in range(3)])
        assert worker.process.wait(timeout=30) == -signal.SIGKILL
        [victim] = Run.objects.filter(status=RunStatus.RUNNING)
        crashed[str(victim.pk)] = index
        recovery = start_worker(workers=1, extra_env=env)
        wait_until(lambda: not Run.objects.exclude(status=RunStatus.COMPLETED).exists(), 60)
        recovery.stop()

    runs = list(Run.objects.all())
    assert len(runs) == 9 and all(run.status == RunStatus.COMPLETED for run in runs)
    calls = Counter(body["messages"][-1]["content"] for body in counting_model.requests)
    effects = Counter(side_effects(side_effect_log))
    for run in runs:
        died_at = crashed.get(str(run.pk))
        assert run.output["answers"] == [f"answer to: run {run.pk} step {i}" for i in range(STEPS)]
        for step in range(STEPS):
            # At-least-once for the step in flight, exactly once for every other step: only a
            # call whose result was not yet checkpointed when the worker died runs twice.
            again = boundary == "after_step" and step == died_at
            assert calls[f"run {run.pk} step {step}"] == (2 if again else 1), (run.pk, step)
            assert effects[f"{run.pk} call {step}"] == (2 if again else 1), (run.pk, step)
        assert run.steps.count() == STEPS


def test_sigkill_after_commit_before_enqueue_loses_nothing(start_worker, organization_for_cli):
    """The sender (a CLI process) dies between committing a ticket and enqueueing its run."""
    env = worker_environment({"DURABLE_CRASH_AT": "before_enqueue", "ANTHROPIC_API_KEY": ""})
    created = subprocess.run(
        [sys.executable, "manage.py", "ticket", "create", "--title", "How do I export to CSV?"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert created.returncode == -signal.SIGKILL
    ticket = Ticket.objects.get()  # committed before the crash
    run = ticket.runs.get()
    assert run.status == RunStatus.QUEUED  # and its queue message never sent

    start_worker(workers=1, extra_env=FAST_RECOVERY)
    wait_until(lambda: Run.objects.get(pk=run.pk).status == RunStatus.COMPLETED, timeout=30)
    assert "Settings → Data → Export" in ticket.replies.get().body


@pytest.fixture
def organization_for_cli(transactional_db):
    return demo_seed(approvals=False)
