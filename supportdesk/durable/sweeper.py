"""The sweeper: recovers runs whose worker died, fires overdue timers, and finishes matching
events whose sender died after commit. Every action is idempotent: overlapping sweeps are safe.

Each worker process runs it in a thread of its own, every SWEEP_SECONDS, reading the database
only: it must not depend on the queue, since recovering from a lost queue is part of its job.
"""

import logging
import threading

from django.conf import settings
from django.db import close_old_connections

from supportdesk.durable.events import events_process_stale
from supportdesk.durable.fairness import dispatch_all_throttled
from supportdesk.durable.services import run_enqueue_due, waits_expire_due

logger = logging.getLogger(__name__)


def sweep() -> dict:
    report = {
        # Events their sender has not matched for a while (it died after the commit): not too
        # soon, or a sender still matching on a loaded machine races every worker's sweeper.
        "events_matched": events_process_stale(
            older_than_seconds=max(2.0, 5 * settings.DURABLE["SWEEP_SECONDS"])
        ),
        "waits_expired": waits_expire_due(),
        "runs_recovered": len(run_enqueue_due()),
        "throttled_dispatched": dispatch_all_throttled(),
    }
    if any(report.values()):
        logger.info("sweep: %s", report)
    return report


_started = threading.Lock()
_stop = threading.Event()


def start_sweeper_thread() -> bool:
    """Start this process's sweeper (once); True if this call started it."""
    if not _started.acquire(blocking=False):
        return False
    threading.Thread(target=_sweep_forever, name="durable-sweeper", daemon=True).start()
    return True


def _sweep_forever() -> None:
    while True:
        close_old_connections()
        try:
            sweep()
        except Exception:  # The database is away for a moment: try again at the next tick.
            logger.warning("sweep failed", exc_info=True)
        if _stop.wait(settings.DURABLE["SWEEP_SECONDS"]):
            return
