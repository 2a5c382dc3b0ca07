"""`manage.py serve`: the app in one process — daphne (HTTP + WebSockets) and, unless a separate
`run_huey` is used, the embedded Huey consumer."""

from django.conf import settings
from django.core.management.base import BaseCommand

from supportdesk.durable.embedded import start_embedded_consumer
from supportdesk.inbox.live import OutboxRelay
from supportdesk.server import serve


class Command(BaseCommand):
    help = "Serve supportdesk over HTTP and WebSockets, with in-process workers by default."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Don't run the embedded Huey consumer (workers run as `manage.py run_huey`).",
        )

    def handle(self, *args, host: str, port: int, no_worker: bool, **options) -> None:
        if not settings.SITE_URL_SET:
            # Links in emails and Slack point where this server listens (its embedded workers
            # send them); behind a proxy or with separate workers, set SITE_URL.
            shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
            settings.SITE_URL = f"http://{shown}:{port}"
        if settings.EMBEDDED_WORKER and not no_worker:
            start_embedded_consumer()
        if not settings.REDIS_URL:
            # Other processes (the command line) can't reach this process's sockets themselves.
            OutboxRelay().start()
        self.stdout.write(f"supportdesk on http://{host}:{port}/  (Ctrl-C to stop)")
        # Behind a TLS proxy, take the client's address and scheme from its headers.
        proxy = ["--proxy-headers"] if settings.HTTPS_ONLY else []
        serve(["-b", host, "-p", str(port), *proxy, "supportdesk.asgi:application"])
