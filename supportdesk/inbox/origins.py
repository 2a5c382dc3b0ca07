"""The WebSocket handshake's Origin check: the page must come from this very site.

A browser opens a WebSocket to any host a page names and sends the site's cookies along, so the
Origin header is the only thing that tells a reviewer's own inbox from a hostile page. It must
equal, as scheme://host:port, the origin the socket was opened on (ws → http, wss → https, the
host and port of the Host header, which must be one of ALLOWED_HOSTS) or one of
CSRF_TRUSTED_ORIGINS — the same rule Django's CSRF check applies to an Origin on a form post.
Channels' AllowedHostsOriginValidator compares host names only: http://127.0.0.1:9999 passed.
"""

from typing import NamedTuple
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import is_same_domain, split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


class Origin(NamedTuple):
    scheme: str
    host: str
    port: int


def parse_origin(value: str) -> Origin | None:
    """`scheme://host[:port]` as a comparable triple (default port filled in), else None."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.username or parts.password:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    return Origin(scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme])


def own_origin(scope: dict, headers: dict[bytes, str]) -> Origin | None:
    """The origin the socket was opened on, or None when its Host isn't one of ours."""
    domain, port = split_domain_port(headers.get(b"host", ""))
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    secure = scope.get("scheme", "ws") == "wss"
    if settings.SECURE_PROXY_SSL_HEADER:  # behind the TLS proxy, as for HTTP requests
        header, value = settings.SECURE_PROXY_SSL_HEADER
        name = header.removeprefix("HTTP_").replace("_", "-").lower().encode()
        secure = secure or headers.get(name, "").split(",")[0].strip() == value
    scheme = "https" if secure else "http"
    try:
        return Origin(scheme, domain, int(port) if port else DEFAULT_PORTS[scheme])
    except ValueError:
        return None


def trusted(origin: Origin) -> bool:
    for entry in settings.CSRF_TRUSTED_ORIGINS:
        wildcard = "://*." in entry
        allowed = parse_origin(entry.replace("://*.", "://", 1) if wildcard else entry)
        if allowed is None or (allowed.scheme, allowed.port) != (origin.scheme, origin.port):
            continue
        if origin.host == allowed.host or (
            wildcard and is_same_domain(origin.host, f".{allowed.host}")
        ):
            return True
    return False


def origin_allowed(scope: dict) -> bool:
    headers = {name: value.decode("latin1") for name, value in scope.get("headers", [])}
    origin = parse_origin(headers.get(b"origin", ""))
    if origin is None:
        return False
    own = own_origin(scope, headers)
    return own is not None and (origin == own or trusted(origin))


class SameOriginValidator:
    """ASGI middleware for WebSockets: a handshake from another origin is refused (403)."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
