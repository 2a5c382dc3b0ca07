"""SQLite for the embedded mode, whose writers of one process queue on a lock instead of on
SQLite's busy handler.

SQLite has one writer at a time. A second `BEGIN IMMEDIATE` waits in SQLite's busy handler,
which polls the lock with sleeps of 1, 2, 5, 10, 15, 20, 25 … ms: between the threads of the web
process (requests, the embedded workers, the sweeper, the publisher) every collision cost
milliseconds of sleep after the lock was already free, on the path of every answer. Here a
transaction first takes a lock per database file in this process, handed to the next writer
the moment the holder commits or rolls back. Writers in other processes (a CLI command) still
meet the busy timeout, and a transaction that can't get the lock within it goes on to SQLite,
which then answers as before ("database is locked").
"""

import os
import threading

from django.db.backends.sqlite3 import base

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _forget_locks_in_child() -> None:
    """A forked child starts with no writer: a lock held by another thread at the fork would
    never be released there."""
    global _locks_guard
    _locks.clear()
    _locks_guard = threading.Lock()


os.register_at_fork(after_in_child=_forget_locks_in_child)


def writer_lock(name: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(str(name), threading.Lock())


class DatabaseWrapper(base.DatabaseWrapper):
    held_writer_lock: "threading.Lock | None" = None

    def _start_transaction_under_autocommit(self):
        if self.held_writer_lock is None:
            timeout = float(self.settings_dict["OPTIONS"].get("timeout", 5))
            lock = writer_lock(self.settings_dict["NAME"])
            if lock.acquire(timeout=timeout):
                self.held_writer_lock = lock
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_writer_lock()
            raise

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._release_writer_lock()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._release_writer_lock()

    def _close(self):
        try:
            return super()._close()
        finally:
            self._release_writer_lock()

    def _release_writer_lock(self) -> None:
        held, self.held_writer_lock = self.held_writer_lock, None
        if held is not None:
            held.release()
