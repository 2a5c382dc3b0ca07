"""Email backends for worker processes under test (set with EMAIL_BACKEND in their environment).

`FileEmailBackend` is Django's file backend writing to TEST_EMAIL_DIR, so a test can read what a
worker process really sent; `FailingEmailBackend` is a mail server that refuses every message.
"""

import email
import email.policy
import os
from email.message import EmailMessage
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.filebased import EmailBackend

SEPARATOR = b"\n" + b"-" * 79 + b"\n"


class FileEmailBackend(EmailBackend):
    def __init__(self, *args, **kwargs):
        kwargs["file_path"] = os.environ["TEST_EMAIL_DIR"]
        super().__init__(*args, **kwargs)


class FailingEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("the mail server refused the connection")


def sent_emails(directory: Path) -> list[EmailMessage]:
    """Every message the file backend wrote to `directory`, oldest file first."""
    if not directory.exists():
        return []
    messages = []
    for path in sorted(directory.iterdir(), key=lambda p: p.stat().st_mtime_ns):
        for chunk in path.read_bytes().split(SEPARATOR):
            if chunk.strip():
                messages.append(email.message_from_bytes(chunk, policy=email.policy.default))
    return messages
