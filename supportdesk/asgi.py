"""ASGI entry point: HTTP through Django (with our static files), WebSockets through Channels."""

import os

from django.core.asgi import get_asgi_application

from supportdesk.config import UnsafeSettings, refuse_to_start

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
try:
    django_asgi_app = get_asgi_application()
except UnsafeSettings as exc:  # one line and a non-zero exit under daphne, not a traceback
    refuse_to_start(exc)

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.conf import settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

from supportdesk.inbox.routing import websocket_urlpatterns

http_app = ASGIStaticFilesHandler(django_asgi_app) if settings.SERVE_STATIC else django_asgi_app
application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
