"""The Huey instance: SQLite with in-process wake-ups (embedded) or Redis (scale-out).

The queue only wakes workers; the durable engine's state lives in the database, so a lost queue
message costs latency (the sweeper re-enqueues), never data.
"""

import threading
from pathlib import Path

from huey import PriorityRedisHuey, SqliteHuey
from huey.storage import SqliteStorage

# Huey's SQLite storage makes idle workers poll with a back-off of up to 10 s. Producers in the same
# process (the web process with its embedded consumer) wake the workers directly through this
# condition instead; producers in other processes (a CLI command) are seen at the next short poll.
_enqueued = threading.Condition()
CROSS_PROCESS_POLL_SECONDS = 0.2


class WakeableSqliteStorage(SqliteStorage):
    blocking = True

    def enqueue(self, data, priority=None):
        super().enqueue(data, priority=priority)
        with _enqueued:
            _enqueued.notify()

    def dequeue(self):
        data = super().dequeue()
        if data is not None:
            return data
        with _enqueued:
            _enqueued.wait(CROSS_PROCESS_POLL_SECONDS)
        return super().dequeue()


class WakeableSqliteHuey(SqliteHuey):
    storage_class = WakeableSqliteStorage


def build_huey(*, name: str, redis_url: str, sqlite_path: Path, immediate: bool):
    if redis_url:
        # Priorities order each tenant's runs behind quieter tenants' (durable/fairness.py).
        huey = PriorityRedisHuey(
            name, url=redis_url, immediate=immediate, results=False, blocking=True
        )
    else:
        huey = WakeableSqliteHuey(
            name, filename=str(sqlite_path), immediate=immediate, results=False, fsync=False
        )
    return huey
