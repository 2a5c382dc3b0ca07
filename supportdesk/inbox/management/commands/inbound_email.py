"""`manage.py inbound_email < message.eml`: take a reply email as an MTA pipe hands it over (a raw
RFC 822 message on standard input) — the same as POST /inbound/email.

Exit status 0 whether the reply was taken or refused (the sender is told by email, so the MTA must
not bounce it too); 75 (EX_TEMPFAIL) when the database can't be reached, so the MTA tries again.
"""

import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import Error as DatabaseError

from supportdesk.inbox.email_replies import inbound_email_receive

EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "Take a reply email (a raw RFC 822 message on standard input): answer its question."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--recipient",
            default="",
            help="The envelope recipient, when the message's headers may not show it "
            "(Postfix's pipe: ${original_recipient}).",
        )

    def handle(self, *args, recipient: str, **options) -> None:
        if not settings.INBOUND_EMAIL_DOMAIN:
            raise CommandError("answering by email is not set up: set INBOUND_EMAIL_DOMAIN")
        raw = sys.stdin.buffer.read()
        if not raw.strip():
            raise CommandError("no message on standard input")
        try:
            outcome = inbound_email_receive(raw, recipient=recipient)
        except DatabaseError as exc:
            self.stderr.write(f"temporary failure, try again later: {exc}")
            sys.exit(EX_TEMPFAIL)
        if outcome.status == "malformed":
            raise CommandError(outcome.reason)
        line = outcome.status + (f": {outcome.reason}" if outcome.reason else "")
        self.stdout.write(
            line + (f" (question {outcome.question_id})" if outcome.question_id else "")
        )
