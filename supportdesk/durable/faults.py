"""Crash points for the fault-injection tests: the worker kills itself with SIGKILL exactly at a
step boundary, so tests can prove what survives each one. Inert unless DURABLE_CRASH_AT is set."""

import os
import signal

from django.conf import settings


def crash_point(point: str, step_key: str) -> None:
    target = settings.DURABLE["CRASH_AT"]
    if not target:
        return
    wanted_point, _, wanted_key = target.partition(":")
    if wanted_point == point and wanted_key in ("", step_key):
        os.kill(os.getpid(), signal.SIGKILL)
