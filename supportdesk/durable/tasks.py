"""Huey tasks: thin wrappers over the engine. Tasks carry ids only (and a run's tenant, which never
changes: it spares the worker a read); the database holds the state."""

from huey.contrib.djhuey import db_task, on_startup

from supportdesk.durable import engine, services, sweeper


@db_task()
def execute_run_task(run_id: str, tenant: str | None = None) -> str:
    return engine.execute_run(run_id, tenant)


@db_task()
def expire_wait_task(wait_id: int) -> bool:
    return services.wait_expire(wait_id)


@on_startup()
def start_the_sweeper() -> None:
    """Every consumer process (run_huey, or the one embedded in `serve`) sweeps the database."""
    sweeper.start_sweeper_thread()
