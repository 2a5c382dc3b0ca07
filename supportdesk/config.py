"""Settings that decide whether the server may start at all: the secret key, failing closed.

Imported by the settings module and by the entry points (manage.py, asgi.py, wsgi.py), which turn
`UnsafeSettings` into one line on stderr and a non-zero exit instead of a traceback.
"""

import sys
from collections.abc import Mapping
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

# Public: it is in the repository. Accepted only with DEBUG on.
DEVELOPMENT_SECRET_KEY = "insecure-dev-key-only-for-the-embedded-default"


class UnsafeSettings(ImproperlyConfigured):
    """The settings would make the server unsafe to run; the message is one line for humans."""


def secret_key(*, environ: Mapping[str, str], secret_file: Path, debug: bool) -> str:
    """SECRET_KEY from the environment, else from the data dir's secret file (written by
    scripts/setup), else, with DEBUG on only, the public development key."""
    key, source = environ.get("SECRET_KEY", "").strip(), "the SECRET_KEY environment variable"
    if not key and secret_file.is_file():
        key, source = secret_file.read_text().strip(), str(secret_file)
    if not key:
        if debug:
            return DEVELOPMENT_SECRET_KEY
        raise UnsafeSettings(
            f"DEBUG is off and no SECRET_KEY is set: set SECRET_KEY (50+ random characters) in "
            f"the environment, or run scripts/setup, which writes one to {secret_file}"
        )
    problem = weak_key_problem(key)
    if problem and not debug:
        raise UnsafeSettings(
            f"DEBUG is off and the secret key from {source} {problem}: set SECRET_KEY to 50+ "
            f"random characters, e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    return key


def weak_key_problem(key: str) -> str:
    """Why a key can't sign production cookies (the criteria of Django's check security.W009)."""
    if key == DEVELOPMENT_SECRET_KEY:
        return "is the public development key"
    if key.startswith("django-insecure-"):
        return "is a 'django-insecure-' key"
    if len(key) < 50 or len(set(key)) < 5:
        return "is too short or too simple (it needs 50+ characters, 5+ of them distinct)"
    return ""


def refuse_to_start(exc: UnsafeSettings) -> None:
    sys.exit(f"supportdesk refuses to start: {exc}")
