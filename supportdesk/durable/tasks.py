"""Huey tasks: thin wrappers over the engine. Tasks carry ids only; the database holds the state."""

import threading

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, on_startup

from supportdesk.durable import engine, services, sweeper


@db_task()
def execute_run_task(run_id: str) -> str:
    return engine.execute_run(run_id)


@db_task()
def expire_wait_task(wait_id: int) -> bool:
    return services.wait_expire(wait_id)


@db_task()
def sweep_task() -> dict:
    return sweeper.sweep()


@db_periodic_task(crontab(minute="*"))
def schedule_sweeps() -> None:
    """Huey's periodic tasks tick once a minute; the sweeper runs every SWEEP_SECONDS within it."""
    interval = settings.DURABLE["SWEEP_SECONDS"]
    for index in range(max(int(60 / interval), 1)):
        sweep_task.schedule(delay=index * interval)


_first_sweep = threading.Lock()


@on_startup()
def sweep_when_a_consumer_starts() -> None:
    # One sweep per consumer process (the hook runs in every worker thread): a worker restarted
    # after a crash recovers its runs without waiting for the next minute's tick.
    if _first_sweep.acquire(blocking=False):
        schedule_sweeps.call_local()
