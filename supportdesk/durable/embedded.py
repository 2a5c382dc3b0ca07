"""The Huey consumer embedded in the web process (the default single-process mode)."""

import logging

from django.conf import settings

logger = logging.getLogger(__name__)


def start_embedded_consumer(workers: int | None = None):
    """Start Huey's scheduler and worker threads in this process and return the consumer.

    Huey's `Consumer.start()` would also take over the process's signal handlers, which belong to
    the web server here; so the threads are started directly.
    """
    from huey.contrib.djhuey import HUEY

    consumer = HUEY.create_consumer(
        workers=workers or settings.HUEY_WORKERS,
        worker_type="thread",
        periodic=True,
        scheduler_interval=1,
        check_worker_health=False,
    )
    consumer.scheduler.start()
    for _, worker_thread in consumer.worker_threads:
        worker_thread.start()
    logger.info(
        "embedded Huey consumer started with %d worker threads", len(consumer.worker_threads)
    )
    return consumer
