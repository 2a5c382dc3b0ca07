"""`manage.py run show ID`: a run's status, then its timeline, one step per line."""

import uuid

from django.core.management.base import BaseCommand, CommandError

from supportdesk.durable.models import Run
from supportdesk.durable.timeline import compact, run_timeline


class Command(BaseCommand):
    help = "Inspect durable runs: `run show ID` prints a readable timeline."

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        show = actions.add_parser("show", help="The run's status and timeline.")
        show.add_argument("id")

    def handle(self, *args, action: str, id: str, **options) -> None:
        try:
            run = Run.objects.get(pk=uuid.UUID(id))
        except (ValueError, Run.DoesNotExist):
            raise CommandError(f"no run with id {id}") from None
        took = ""
        if run.started_at and run.ended_at:
            took = f" in {(run.ended_at - run.started_at).total_seconds():.1f} s"
        self.stdout.write(f"run {run.pk} {run.function_id}: {run.status}{took}")
        if run.error:
            self.stdout.write(f"  error: {run.error}")
        for entry in run_timeline(run):
            duration = "" if entry.duration_ms is None else f"{entry.duration_ms:.1f} ms"
            self.stdout.write(
                f"  {entry.position + 1:>3}. {entry.key:<44} {entry.kind:<6} {entry.status:<9} "
                f"{duration:>10}  attempt {entry.attempts}"
            )
            if entry.label:
                self.stdout.write(f"       ({entry.label})")
            if entry.text:
                self.stdout.write(f"       says: {compact(entry.text)}")
            for use in entry.tool_uses:
                self.stdout.write(f"       calls {use.name}({compact(use.input)})")
            if entry.kind == "tool":
                marker = "error" if entry.is_error else "result"
                self.stdout.write(f"       {marker}: {compact(entry.result)}")
            if entry.resolution:
                self.stdout.write(f"       {entry.resolution}")
            if entry.error:
                self.stdout.write(f"       error: {compact(entry.error)}")
