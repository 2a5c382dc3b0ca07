"""`manage.py apikey create --org SLUG --name NAME [--kind api|event]`, `apikey list [--org SLUG]`,
`apikey revoke PREFIX`."""

from django.core.management.base import BaseCommand, CommandError

from supportdesk.api import selectors, services
from supportdesk.desk import selectors as desk_selectors
from supportdesk.desk.errors import DeskError


class Command(BaseCommand):
    help = "Create, list and revoke API keys (REST API) and event keys (/e/<key>)."

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Create a key; it is printed once.")
        create.add_argument("--org", required=True, help="The organization's slug.")
        create.add_argument("--name", required=True, help="What the key is for.")
        create.add_argument("--kind", choices=list(services.KEY_MODELS), default="api")
        listing = actions.add_parser("list", help="Keys with their prefix, never the key.")
        listing.add_argument("--org", default=None, help="Only this organization's keys.")
        revoke = actions.add_parser("revoke", help="Revoke a key at once.")
        revoke.add_argument("id", help="The key's prefix as `list` shows it (or the whole key).")

    def handle(self, *args, action: str, **options) -> None:
        try:
            if action == "create":
                self._create(options["org"], options["name"], options["kind"])
            elif action == "list":
                self._list(options["org"])
            else:
                self._revoke(options["id"])
        except DeskError as exc:
            raise CommandError(exc.message) from None

    def _create(self, slug: str, name: str, kind: str) -> None:
        issued = services.key_create(
            organization=desk_selectors.organization_get(slug), name=name, kind=kind
        )
        key, kind = issued.key, issued.key._meta.verbose_name
        self.stdout.write(f"{kind} {key.prefix} created for {key.organization.slug}: {key.name}")
        self.stdout.write(issued.plaintext)
        self.stderr.write("Copy the key now: it is not shown again.")

    def _list(self, slug: str | None) -> None:
        organization = desk_selectors.organization_get(slug) if slug else None
        keys = selectors.keys_list(organization=organization)
        if not keys:
            self.stdout.write("no keys")
        for key in keys:
            state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
            used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
            self.stdout.write(
                f"{key.prefix:<16} {key.KIND:<5} {key.organization.slug:<16} {state:<24} "
                f"last used {used:<16} {key.name}"
            )

    def _revoke(self, prefix: str) -> None:
        key = selectors.key_get(prefix)
        if not services.key_revoke(key=key):
            raise CommandError(f"key {key.prefix} was already revoked at {key.revoked_at:%c}")
        self.stdout.write(f"revoked {key._meta.verbose_name} {key.prefix} ({key.name})")
