"""`manage.py seed_demo`: the demo organization, knowledge base and release notes, and the demo
reviewer demo / demo (a superuser) — for trying supportdesk out, never for production."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from supportdesk.desk.demo_data import DEMO_PASSWORD, DEMO_USERNAME, demo_reviewer_seed, demo_seed


class Command(BaseCommand):
    help = (
        "Create the demo organization with its knowledge base and release notes, and a demo "
        "reviewer to sign in with (idempotent). For a trial only: with DEBUG off it needs --trial."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--no-reviewer", action="store_true", help="Skip the demo reviewer.")
        parser.add_argument(
            "--trial",
            action="store_true",
            help="Seed even though DEBUG is off: this install is a trial, not production "
            "(scripts/setup passes it for the embedded default only).",
        )

    def handle(self, *args, no_reviewer: bool, trial: bool, **options) -> None:
        if not settings.DEBUG and not trial:
            raise CommandError(
                f"seed_demo creates the superuser {DEMO_USERNAME} / {DEMO_PASSWORD} for trying "
                "supportdesk out: with DEBUG off it refuses unless you pass --trial "
                "(never in production; create real admins with createsuperuser)"
            )
        organization = demo_seed()
        self.stdout.write(f"demo organization: {organization.name} ({organization.slug})")
        if not no_reviewer:
            demo_reviewer_seed(organization)
            self.stdout.write(f"sign in as {DEMO_USERNAME} / {DEMO_PASSWORD}")
