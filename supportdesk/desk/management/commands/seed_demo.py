"""`manage.py seed_demo`: the demo organization, knowledge base and release notes."""

from django.core.management.base import BaseCommand

from supportdesk.desk.demo_data import demo_seed


class Command(BaseCommand):
    help = "Create the demo organization with its knowledge base and release notes (idempotent)."

    def handle(self, *args, **options) -> None:
        organization = demo_seed()
        self.stdout.write(f"demo organization: {organization.name} ({organization.slug})")
