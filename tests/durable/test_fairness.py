"""Fair scheduling: one tenant's flood cannot take every worker, and a quiet tenant's run is taken
before a flooding tenant's backlog."""

import time

import pytest
from huey.contrib.djhuey import HUEY

from supportdesk import durable
from supportdesk.desk.demo_data import demo_seed
from supportdesk.desk.services import organization_tenant
from supportdesk.durable import fairness
from supportdesk.durable.engine import execute_run
from supportdesk.durable.models import Run, RunStatus
from tests.conftest import in_threads, wait_until
from tests.durable.workflows import side_effects

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def flooding_organization(transactional_db):
    organization = demo_seed(slug="flood", name="Flood Inc.", approvals=False)
    organization.max_concurrent_runs = 1
    organization.save(update_fields=["max_concurrent_runs"])
    fairness.forget()
    yield organization
    fairness.forget()


def running_at_once_of(lines: list[str]) -> int:
    """The most step bodies the side-effect log shows running at the same time."""
    events = []
    for line in lines:
        _, at, what = line.split()
        events.append((float(at), 1 if what == "start" else -1))
    running = most = 0
    for _, change in sorted(events):
        running += change
        most = max(most, running)
    return most


def send(tenant: str, count: int, pause: float) -> list:
    ids = durable.send_events(
        [{"name": "test/timed", "data": {"pause": pause}} for _ in range(count)],
        tenant=tenant,
    )
    return list(Run.objects.filter(event__event_id__in=ids).values_list("pk", flat=True))


def test_of_two_executions_at_once_beyond_the_limit_exactly_one_gives_way(flooding_organization):
    first, second = send(organization_tenant(flooding_organization.pk), 2, pause=0.5)
    HUEY.flush()  # executed by hand below
    outcomes: list[str] = []
    assert in_threads(lambda: outcomes.append(execute_run(first)),
                      lambda: outcomes.append(execute_run(second))) == []  # fmt: skip
    assert sorted(outcomes) == ["completed", "throttled"]
    waiting = Run.objects.get(status=RunStatus.QUEUED)
    assert waiting.throttled_at is not None
    reason = waiting.transitions.last().reason
    assert reason == "waiting for a free slot: its tenant runs 1 at a time"
    # When the other execution ended, it enqueued the throttled run: nobody needs the sweeper.
    assert [task.args for task in HUEY.pending()] == [(str(waiting.pk), waiting.tenant)]
    assert execute_run(waiting.pk) == "completed"
    assert Run.objects.get(pk=waiting.pk).throttled_at is None


@pytest.mark.slow
def test_a_flood_never_takes_every_worker_and_others_go_first(
    flooding_organization, organization, start_worker, side_effect_log
):
    start_worker(workers=2)
    flood = send(organization_tenant(flooding_organization.pk), 20, pause=0.5)
    # The flood is being worked on (the worker may still be starting: its start is no part of
    # what the quiet run's latency below measures).
    wait_until(lambda: any(line.endswith(" start") for line in side_effects(side_effect_log)))
    started = time.monotonic()
    [quiet] = send(organization_tenant(organization.pk), 1, pause=0)
    wait_until(lambda: Run.objects.get(pk=quiet).status == RunStatus.COMPLETED, timeout=3)
    took = time.monotonic() - started
    # Serial at one run at a time, the flood is 10 s of work: the quiet run did not wait for it.
    assert Run.objects.filter(pk__in=flood, status=RunStatus.COMPLETED).count() <= 6
    assert took < 1.5
    wait_until(lambda: Run.objects.filter(pk__in=flood, status="completed").count() >= 8, 15)
    flood_bodies = [line for line in side_effects(side_effect_log) if line.split()[0] != str(quiet)]
    assert running_at_once_of(flood_bodies) == 1


def test_a_quiet_tenants_run_is_dequeued_before_a_flooding_tenants_backlog(
    flooding_organization, organization
):
    """Both queues (Huey on SQLite, Huey on Redis) pop by priority, and priority falls with how
    much a tenant enqueued lately."""
    HUEY.flush()
    send(organization_tenant(flooding_organization.pk), 50, pause=0)
    [quiet] = send(organization_tenant(organization.pk), 1, pause=0)
    order = []
    while (task := HUEY.dequeue()) is not None:
        order.append(task.args[0])
    assert len(order) == 51
    assert order.index(str(quiet)) <= 1  # behind at most the flood's first run
