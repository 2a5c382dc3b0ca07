"""Who wants to hear that a run changed (the live pages do). Called after commit, throttled for
step checkpoints; an observer's failure is logged and never touches the run."""

import logging
import time
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)

_observers: list[Callable[[object], None]] = []
_last_progress: dict[object, float] = {}
PROGRESS_INTERVAL_SECONDS = 0.25


def subscribe(observer: Callable[[object], None]) -> None:
    if observer not in _observers:
        _observers.append(observer)


def run_changed(run_id, *, progress: bool = False) -> None:
    """A run changed status (always told) or stored a step (`progress`: told at most every
    PROGRESS_INTERVAL_SECONDS per run, so a 1,000-step run doesn't flood the pages)."""
    if not _observers:
        return
    if progress:
        now = time.monotonic()
        if now - _last_progress.get(run_id, 0.0) < PROGRESS_INTERVAL_SECONDS:
            return
        _last_progress[run_id] = now
    else:
        _last_progress.pop(run_id, None)
    transaction.on_commit(lambda: _tell(run_id))


def _tell(run_id) -> None:
    for observer in _observers:
        try:
            observer(run_id)
        except Exception:
            logger.warning("run observer %r failed for run %s", observer, run_id, exc_info=True)
