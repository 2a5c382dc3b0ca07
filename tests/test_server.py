"""The server refuses oversized bodies before reading them, and its access log hides event keys."""

import socket
import time

import pytest
from asgiref.sync import async_to_sync

from supportdesk.api import services as api_services
from supportdesk.server import BodyLimitMiddleware, redacted_path

pytestmark = [pytest.mark.django_db(transaction=True)]
MIB = 1024 * 1024


def raw_request(app, head: bytes, body_chunks=(), *, read_timeout: float = 5) -> bytes:
    """Send `head`, then the chunks as long as the server lets us; return what it answered."""
    with socket.create_connection(("127.0.0.1", app.port), timeout=read_timeout) as sock:
        sock.sendall(head)
        try:
            for chunk in body_chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused mid-body: the server closed the connection
        answer = b""
        while True:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            answer += data
        return answer


def test_a_huge_declared_body_is_refused_before_a_byte_of_it_is_sent(live_app):
    """400 MiB to /e/not-a-key were written to disk in full before the 413."""
    app = live_app()
    started = time.monotonic()
    head = (b"POST /e/not-a-key HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % (400 * MIB))  # fmt: skip
    answer = raw_request(app, head)  # no body sent at all
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"100 Continue" not in answer
    assert b"419,430,400 bytes; the limit is 2,097,152 bytes" in answer
    assert time.monotonic() - started < 3


def test_a_chunked_body_is_cut_off_once_it_passes_the_limit(live_app):
    app = live_app()
    head = (b"POST /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")  # fmt: skip
    chunk = b"x" * (256 * 1024)
    chunks = (b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(400))  # 100 MiB, if read
    answer = raw_request(app, head, chunks)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]


def test_a_body_within_the_limit_still_reaches_the_application(live_app, organization):
    app = live_app()
    key = api_services.key_create(organization=organization, name="sdk", kind="event").plaintext
    body = b'{"name": "test/nothing", "data": {"pad": "%s"}}' % (b"x" * (MIB // 2))
    head = (b"POST /e/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n") % (key.encode(), len(body))
    answer = raw_request(app, head, [body])
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:300]  # the API's own 256 KiB per event
    assert b"per event" in answer
    small = b'{"name": "test/nothing"}'
    head = head.replace(b"%d" % len(body), b"%d" % len(small))
    assert raw_request(app, head, [small]).startswith(b"HTTP/1.1 200 ")
    # The access log shows the key's visible prefix only.
    log = app.log.read_text()
    assert f"/e/{key[:15]}…" in log and key not in log


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/e/sdevt_1a2b3c4d_SECRETsecretSECRETsecretSECRETsecret", "/e/sdevt_1a2b3c4d_…"),
        ("/e/not-a-key", "/e/…"),
        ("/api/events", "/api/events"),
    ],
)
def test_the_access_log_never_shows_an_event_key(path, shown):
    assert redacted_path(path) == shown


def test_the_asgi_layer_counts_streamed_bytes_too(settings):
    """For servers that stream the body to the application: refused mid-stream."""
    settings.MAX_REQUEST_BODY_BYTES = 1000
    reached: list[bool] = []

    async def application(scope, receive, send):
        while (await receive()).get("more_body"):
            pass
        reached.append(True)

    async def scenario():
        sent: list[dict] = []
        chunks = [{"type": "http.request", "body": b"x" * 400, "more_body": True}] * 5

        async def receive():
            return chunks.pop(0)

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "headers": [], "method": "POST", "path": "/e/x"}
        await BodyLimitMiddleware(application)(scope, receive, send)
        return sent

    sent = async_to_sync(scenario)()
    assert sent[0]["status"] == 413 and not reached
