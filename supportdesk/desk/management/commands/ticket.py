"""`manage.py ticket create|show|close|reopen|retry|message`: a ticket's life from the command
line, through the same services as every other door."""

import getpass

from django.core.management.base import BaseCommand, CommandError

from supportdesk.desk import selectors, services
from supportdesk.desk.errors import DeskError
from supportdesk.desk.models import Channel, Priority


class Command(BaseCommand):
    help = "Work with tickets: create one (its workflow starts), show, close, reopen, retry, "
    "or add the customer's follow-up message."

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Create a ticket and start its workflow.")
        create.add_argument("--title", required=True)
        create.add_argument("--body", default="")
        create.add_argument("--priority", choices=Priority.values, default=Priority.MEDIUM)
        create.add_argument("--customer", default="")
        create.add_argument("--org", default=None, help="Organization slug (default: the first).")
        show = actions.add_parser("show", help="A ticket, why it is in its state, its runs.")
        show.add_argument("id")
        for name, what in (
            ("close", "Close a ticket: its runs stop, its questions leave every inbox."),
            ("reopen", "Work an ended ticket again: a new run reads the conversation so far."),
            ("retry", "Retry the ticket's failed run from its failed step."),
        ):
            action = actions.add_parser(name, help=what)
            action.add_argument("id")
            action.add_argument("--by", default=None, help="Who acts (default: your user name).")
        message = actions.add_parser(
            "message", help="The customer wrote again: the conversation continues."
        )
        message.add_argument("id")
        message.add_argument("text")
        message.add_argument("--by", default=None, help="Who entered it (default: your user).")

    def handle(self, *args, action: str, **options) -> None:
        try:
            if action == "create":
                self._create(options)
            elif action == "show":
                self._show(selectors.ticket_get(options["id"]))
            else:
                self._act(action, selectors.ticket_get(options["id"]), options)
        except DeskError as exc:
            raise CommandError(exc.message) from None

    def _create(self, options) -> None:
        ticket = services.ticket_create(
            organization=selectors.organization_get(options["org"]),
            title=options["title"],
            body=options["body"],
            priority=options["priority"],
            customer=options["customer"],
        )
        run_ids = ", ".join(str(r.pk) for r in ticket.runs.all())
        self.stdout.write(f"ticket {ticket.pk} created ({ticket.priority}); run {run_ids}")

    def _act(self, action: str, ticket, options) -> None:
        who = options["by"] or getpass.getuser()
        if action == "message":
            services.ticket_message(ticket=ticket, body=options["text"], entered_by=who,
                                    channel=Channel.CLI)  # fmt: skip
            ticket.refresh_from_db()
            waits = " (it waits for the run working the ticket)" if ticket.live_run_id else ""
            self.stdout.write(f"message added to ticket {ticket.pk}{waits}")
            return
        act = {"close": services.ticket_close, "reopen": services.ticket_reopen,
               "retry": services.ticket_retry}[action]  # fmt: skip
        act(ticket=ticket, actor=who, channel=Channel.CLI)
        ticket.refresh_from_db()
        self.stdout.write(
            f"ticket {ticket.pk} {ticket.get_status_display()}: {ticket.status_reason}"
        )

    def _show(self, ticket) -> None:
        reason = f" ({ticket.status_reason})" if ticket.status_reason else ""
        self.stdout.write(
            f"ticket {ticket.pk} [{ticket.priority}] {ticket.get_status_display()}{reason}: "
            f"{ticket.title}"
        )
        for run in ticket.runs.order_by("created_at"):
            live = " (live)" if run.pk == ticket.live_run_id else ""
            error = f": {run.error[:200]}" if run.error else ""
            self.stdout.write(f"  run {run.pk}: {run.status}{live}{error}")
        for message in ticket.messages.all():
            self.stdout.write(f"  customer wrote ({message.entered_by}): {message.body}")
        for reply in ticket.replies.all():
            self.stdout.write(f"  reply from {reply.agent}: {reply.body}")
        for entry in ticket.activity.all():
            self.stdout.write(f"  {entry.at:%Y-%m-%d %H:%M} {entry.action} by {entry.actor}")
