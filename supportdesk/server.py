"""The HTTP server of `manage.py serve`: daphne, with the two guards an ASGI application can't add
itself because daphne reads a request's whole body (into memory, then a temporary file) before it
calls the application:

- a body larger than MAX_REQUEST_BODY_BYTES is refused with 413 as soon as its Content-Length is
  read, or as soon as a chunked body grows past it, and the connection is closed: nothing is
  buffered, no authentication or database work is done;
- the access log shows an event key's visible prefix, never the key (`POST /e/sdevt_1a2b3c4d_…`).
"""

import json
import logging
import re

from daphne import server as daphne_server
from daphne.access import AccessLogGenerator
from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory, WebRequest
from django.conf import settings

EVENT_KEY_PATH = re.compile(r"(/e/)([^/?\s\"']*)")
VISIBLE_KEY = re.compile(r"^sdevt_[0-9a-f]{8}_")


def redacted_path(path: str) -> str:
    """`/e/<key>` with the key reduced to its visible prefix (or to nothing)."""

    def hide(found: re.Match) -> str:
        visible = VISIBLE_KEY.match(found.group(2))
        return f"{found.group(1)}{visible.group(0) if visible else ''}…"

    return EVENT_KEY_PATH.sub(hide, path)


class RedactEventKeys(logging.Filter):
    """A logging filter: event keys in request paths of log records (Django logs every 4xx
    with its path) are reduced to their visible prefix."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redacted_path(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = redacted_path(record.msg)
        return True


class RedactingAccessLog(AccessLogGenerator):
    def __call__(self, protocol, action, details):
        if "path" in details:
            details = {**details, "path": redacted_path(details["path"])}
        super().__call__(protocol, action, details)


class LimitedWebRequest(WebRequest):
    """A request whose body may not grow past the limit: refused before it is read."""

    received = 0
    refused = False

    def gotLength(self, length):
        if length is not None and length > settings.MAX_REQUEST_BODY_BYTES:
            self._refuse(declared=length)
            return
        super().gotLength(length)

    def handleContentChunk(self, data):
        if self.refused:
            return
        self.received += len(data)
        if self.received > settings.MAX_REQUEST_BODY_BYTES:
            self._refuse(declared=None)
            return
        super().handleContentChunk(data)

    def _refuse(self, *, declared: int | None) -> None:
        self.refused = True
        # No "100 Continue" invites the client to send what is refused.
        self.requestHeaders.removeHeader(b"Expect")
        limit = settings.MAX_REQUEST_BODY_BYTES
        size = f"{declared:,} bytes" if declared is not None else "larger"
        message = f"the request body is {size}; the limit is {limit:,} bytes (nothing was read)"
        body = json.dumps({"detail": message, "error": message, "status": 413}).encode()
        self.channel.transport.write(
            b"HTTP/1.1 413 Request Entity Too Large\r\nContent-Type: application/json\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        self.channel.transport.loseConnection()


class LimitedHTTPFactory(HTTPFactory):
    def buildProtocol(self, addr):
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = LimitedWebRequest
        return protocol


class Server(daphne_server.Server):
    def __init__(self, *args, action_logger=None, **kwargs):
        if action_logger is not None:
            action_logger = RedactingAccessLog(action_logger.stream)
        super().__init__(*args, action_logger=action_logger, **kwargs)

    def run(self):
        # daphne's Server.run builds its HTTP factory by this module-level name.
        daphne_server.HTTPFactory = LimitedHTTPFactory
        super().run()


def serve(argv: list[str]) -> None:
    """daphne's command line, with this module's server."""
    interface = CommandLineInterface()
    interface.server_class = Server
    interface.run(argv)


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """The same limit in the ASGI layer, for servers that stream bodies to the application:
    refused on Content-Length, or as soon as the streamed bytes pass it — before Django, before
    authentication."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = settings.MAX_REQUEST_BODY_BYTES
        declared = dict(scope.get("headers") or []).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > limit:
            return await _refuse(send, limit)
        received = 0

        async def counted():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        try:
            await self.app(scope, counted, send)
        except BodyTooLarge:
            await _refuse(send, limit)


async def _refuse(send, limit: int) -> None:
    message = f"the request body is larger than {limit:,} bytes, the limit"
    body = json.dumps({"detail": message, "error": message, "status": 413}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})
