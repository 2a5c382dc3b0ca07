"""`manage.py seed_demo`: the demo organization, knowledge base and release notes."""

from django.core.management.base import BaseCommand

from supportdesk.desk.demo_data import DEMO_PASSWORD, DEMO_USERNAME, demo_reviewer_seed, demo_seed


class Command(BaseCommand):
    help = (
        "Create the demo organization with its knowledge base and release notes, and a demo "
        "reviewer to sign in with (idempotent). Not for production."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--no-reviewer", action="store_true", help="Skip the demo reviewer.")

    def handle(self, *args, no_reviewer: bool, **options) -> None:
        organization = demo_seed()
        self.stdout.write(f"demo organization: {organization.name} ({organization.slug})")
        if not no_reviewer:
            demo_reviewer_seed(organization)
            self.stdout.write(f"sign in as {DEMO_USERNAME} / {DEMO_PASSWORD}")
