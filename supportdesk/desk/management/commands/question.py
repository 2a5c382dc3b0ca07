"""`manage.py question list|answer|answer-group|decide`: what the agents wait on — questions to
answer (one, or a whole incident's group at once) and proposed tool calls to decide — through the
same services as every other door."""

import getpass
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from supportdesk.desk import selectors, services
from supportdesk.desk.errors import DeskError, InvalidFields
from supportdesk.desk.models import Channel, Decision, RequestKind


class Command(BaseCommand):
    help = "The agents' questions and approvals: list the pending ones, answer or decide one."

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("list", help="Pending questions and approvals, one per line, id first.")
        answer = actions.add_parser("answer", help="Answer a question; its run resumes.")
        answer.add_argument("id")
        answer.add_argument("text")
        answer.add_argument("--by", default=None, help="Who answers (default: your user name).")
        group = actions.add_parser(
            "answer-group", help="Answer every waiting question of a group (an incident) at once."
        )
        group.add_argument("id", help="The group's id, as `question list` shows it.")
        group.add_argument("text")
        group.add_argument("--by", default=None, help="Who answers (default: your user name).")
        decide = actions.add_parser("decide", help="Decide a proposed tool call; its run resumes.")
        decide.add_argument("id")
        decide.add_argument("decision", choices=Decision.values)
        decide.add_argument("--arguments", default=None,
                            help="edit: the call's arguments as JSON, e.g. '{\"message\": \"…\"}'")
        decide.add_argument("--message", default="",
                            help="reject: the reason; respond: the guidance")
        decide.add_argument("--by", default=None, help="Who decides (default: your user name).")

    def handle(self, *args, action: str, **options) -> None:
        try:
            if action == "list":
                self._list()
            elif action == "answer":
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
            elif action == "answer-group":
                self._answer_group(options)
            else:
                self._decide(options)
        except InvalidFields as exc:
            raise CommandError("; ".join(f"{'.'.join(map(str, loc))}: {msg}"
                                         for loc, msg in exc.problems)) from None  # fmt: skip
        except DeskError as exc:
            raise CommandError(exc.message) from None

    def _answer_group(self, options) -> None:
        result = services.group_answer(
            group=selectors.question_group_get(options["id"]), answer=options["text"],
            answered_by=options["by"] or getpass.getuser(), channel=Channel.CLI,
        )  # fmt: skip
        self.stdout.write(
            f"answered {len(result.answered)} question(s) of group {result.group.pk} "
            f"({result.group.title}); their runs resume"
        )
        for question, reason in result.skipped:
            self.stdout.write(f"  not answered: {question.pk} on ticket {question.ticket_id}: "
                              f"{reason}")  # fmt: skip

    def _decide(self, options) -> None:
        arguments = None
        if options["arguments"] is not None:
            try:
                arguments = json.loads(options["arguments"])
            except ValueError as exc:
                raise CommandError(f"--arguments is not JSON: {exc}") from None
        approval = services.approval_decide(
            approval=selectors.question_get(options["id"]), decision=options["decision"],
            arguments=arguments, message=options["message"],
            decided_by=options["by"] or getpass.getuser(), channel=Channel.CLI,
        )  # fmt: skip
        self.stdout.write(
            f"{approval.get_decision_display()} {approval.agent}'s call of {approval.tool} on "
            f"ticket {approval.ticket_id}; run {approval.run_id} resumes"
        )

    def _list(self) -> None:
        now = timezone.now()
        pending = selectors.questions_pending()
        if not pending.exists():
            self.stdout.write("no pending questions or approvals")
            return
        for question in pending:
            left = max(int((question.expires_at - now).total_seconds() // 60), 0)
            head = f"{question.pk}  ticket {question.ticket_id} [{question.ticket.priority}]"
            if question.group_id:
                head += f" [group {question.group_id}]"
            if question.kind == RequestKind.APPROVAL:
                proposed = json.dumps(question.arguments, ensure_ascii=False)
                self.stdout.write(
                    f"{head} approval: {question.agent} wants to call {question.tool}"
                    f"({proposed[:160]})  ({left} min left)"
                )
            else:
                self.stdout.write(
                    f"{head} {question.agent}: {question.question}  ({left} min left)"
                )
