"""`manage.py ticket create --title ... [--body ...] [--priority critical]`."""

from django.core.management.base import BaseCommand, CommandError

from supportdesk.desk import selectors, services
from supportdesk.desk.errors import DeskError
from supportdesk.desk.models import Priority


class Command(BaseCommand):
    help = "Work with tickets: `ticket create` starts the support workflow."

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Create a ticket and start its workflow.")
        create.add_argument("--title", required=True)
        create.add_argument("--body", default="")
        create.add_argument("--priority", choices=Priority.values, default=Priority.MEDIUM)
        create.add_argument("--customer", default="")
        create.add_argument("--org", default=None, help="Organization slug (default: the first).")
        show = actions.add_parser("show", help="A ticket, its replies and its runs.")
        show.add_argument("id")
        close = actions.add_parser("close", help="Close a ticket; its waiting runs stop.")
        close.add_argument("id")

    def handle(self, *args, action: str, **options) -> None:
        try:
            if action == "create":
                ticket = services.ticket_create(
                    organization=selectors.organization_get(options["org"]),
                    title=options["title"],
                    body=options["body"],
                    priority=options["priority"],
                    customer=options["customer"],
                )
                run_ids = ", ".join(str(r.pk) for r in ticket.runs.all())
                self.stdout.write(f"ticket {ticket.pk} created ({ticket.priority}); run {run_ids}")
            elif action == "show":
                self._show(selectors.ticket_get(options["id"]))
            else:
                ticket = services.ticket_close(ticket=selectors.ticket_get(options["id"]))
                self.stdout.write(f"ticket {ticket.pk} closed")
        except DeskError as exc:
            raise CommandError(exc.message) from None

    def _show(self, ticket) -> None:
        self.stdout.write(
            f"ticket {ticket.pk} [{ticket.priority}] {ticket.get_status_display()}: {ticket.title}"
        )
        for run in ticket.runs.all():
            self.stdout.write(f"  run {run.pk}: {run.status}")
        for reply in ticket.replies.all():
            self.stdout.write(f"  reply from {reply.agent}: {reply.body}")
