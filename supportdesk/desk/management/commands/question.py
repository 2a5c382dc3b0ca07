"""`manage.py question list` and `manage.py question answer ID "text"`."""

import getpass

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from supportdesk.desk import selectors, services
from supportdesk.desk.errors import DeskError
from supportdesk.desk.models import Channel


class Command(BaseCommand):
    help = "Agents' questions to developers: list the pending ones, answer one."

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("list", help="Pending questions, one per line, id first.")
        answer = actions.add_parser("answer", help="Answer a question; its run resumes.")
        answer.add_argument("id")
        answer.add_argument("text")
        answer.add_argument("--by", default=None, help="Who answers (default: your user name).")

    def handle(self, *args, action: str, **options) -> None:
        try:
            if action == "list":
                self._list()
            else:
                question = services.question_answer(
                    question=selectors.question_get(options["id"]),
                    answered_by=options["by"] or getpass.getuser(),
                    answer=options["text"],
                    channel=Channel.CLI,
                )
                self.stdout.write(
                    f"answered question {question.pk} on ticket {question.ticket_id}; "
                    f"run {question.run_id} resumes"
                )
        except DeskError as exc:
            raise CommandError(exc.message) from None

    def _list(self) -> None:
        now = timezone.now()
        for question in selectors.questions_pending():
            left = max(int((question.expires_at - now).total_seconds() // 60), 0)
            self.stdout.write(
                f"{question.pk}  ticket {question.ticket_id} [{question.ticket.priority}] "
                f"{question.agent}: {question.question}  ({left} min left)"
            )
