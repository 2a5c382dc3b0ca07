"""ASGI entry point: HTTP through Django (static files too: supportdesk.static), WebSockets
through Channels."""

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

from supportdesk.inbox.origins import SameOriginValidator
from supportdesk.inbox.routing import websocket_urlpatterns
from supportdesk.server import BodyLimitMiddleware

application = ProtocolTypeRouter(
    {
        "http": BodyLimitMiddleware(django_asgi_app),
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
