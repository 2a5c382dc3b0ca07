"""The sweeper: recovers runs whose worker died, fires overdue timers, and finishes matching
events whose sender died after commit. Every action is idempotent: overlapping sweeps are safe."""

import logging

from supportdesk.durable.events import events_process_stale
from supportdesk.durable.services import run_enqueue_due, waits_expire_due

logger = logging.getLogger(__name__)


def sweep() -> dict:
    report = {
        "events_matched": events_process_stale(),
        "waits_expired": waits_expire_due(),
        "runs_recovered": len(run_enqueue_due()),
    }
    if any(report.values()):
        logger.info("sweep: %s", report)
    return report
