"""The inbox WebSocket through the real ASGI stack (origin check, session auth, URL routing)."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from supportdesk.asgi import application
from supportdesk.desk import services

pytestmark = [pytest.mark.django_db(transaction=True)]


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def connect(
    path: str,
    cookie: bytes | None = None,
    origin: bytes | None = b"http://127.0.0.1:8000",
    host: bytes = b"127.0.0.1:8000",
    scheme: str = "ws",
    extra_headers=(),
):
    headers = [(b"host", host), *extra_headers]
    if origin is not None:
        headers.append((b"origin", origin))
    if cookie is not None:
        headers.append((b"cookie", cookie))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    communicator.scope["scheme"] = scheme  # read when the application starts, on connect()
    return communicator


def run(scenario):
    async_to_sync(scenario)()


COUNTS = '<p id="inbox-totals"'


async def receive_push(communicator, timeout: float = 5) -> str:
    """The next frame that changes the list; the exact counts that follow changes are skipped."""
    while True:
        frame = await communicator.receive_from(timeout=timeout)
        if not frame.startswith(COUNTS):
            return frame


async def no_push(communicator, timeout: float = 0.3) -> bool:
    """Nothing but counts arrives for a moment."""
    while not await communicator.receive_nothing(timeout=timeout):
        if not (await communicator.receive_from()).startswith(COUNTS):
            return False
    return True


def test_anonymous_connections_are_refused():
    async def scenario():
        communicator = connect("/ws/inbox/")
        connected, _ = await communicator.connect()
        assert not connected
        await communicator.disconnect()

    run(scenario)


def test_a_foreign_origin_is_refused(ann):
    ann_cookie = session_cookie(ann)

    async def scenario():
        communicator = connect("/ws/inbox/", ann_cookie, origin=b"http://evil.example")
        connected, _ = await communicator.connect()
        assert not connected
        await communicator.disconnect()

    run(scenario)


def handshake(cookie: bytes, **connection) -> bool:
    async def scenario() -> bool:
        communicator = connect("/ws/inbox/", cookie, **connection)
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    return async_to_sync(scenario)()


@pytest.mark.parametrize(
    "origin",
    [
        b"http://127.0.0.1:9999",  # another port
        b"https://127.0.0.1:8000",  # another scheme
        b"http://127.0.0.1",  # port 80
        b"http://localhost:8000",  # an allowed host, but not the one the socket was opened on
        b"http://127.0.0.1:8000.evil.example",
        b"http://user@127.0.0.1:8000",
        b"null",
        b"",
        None,
    ],
)
def test_only_the_sockets_own_origin_is_accepted(ann, origin):
    cookie = session_cookie(ann)
    assert handshake(cookie, origin=b"http://127.0.0.1:8000")
    assert not handshake(cookie, origin=origin)


def test_a_secure_socket_wants_an_https_origin(ann, settings):
    cookie = session_cookie(ann)
    assert handshake(cookie, scheme="wss", origin=b"https://127.0.0.1:8000")
    assert not handshake(cookie, scheme="wss", origin=b"http://127.0.0.1:8000")
    # Behind the TLS proxy (HTTPS_ONLY): the proxy's X-Forwarded-Proto says the page was https.
    settings.ALLOWED_HOSTS = ["desk.example.com"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    proxied = {"host": b"desk.example.com", "extra_headers": [(b"x-forwarded-proto", b"https")]}
    assert handshake(cookie, origin=b"https://desk.example.com", **proxied)
    assert not handshake(cookie, origin=b"http://desk.example.com", **proxied)
    assert not handshake(cookie, origin=b"https://desk.example.com:8443", **proxied)


def test_trusted_origins_and_allowed_hosts(ann, settings):
    cookie = session_cookie(ann)
    settings.CSRF_TRUSTED_ORIGINS = ["https://desk.example.com", "https://*.desk.example.org"]
    assert handshake(cookie, origin=b"https://desk.example.com")
    assert handshake(cookie, origin=b"https://eu.desk.example.org")
    assert not handshake(cookie, origin=b"http://desk.example.com")
    assert not handshake(cookie, origin=b"https://desk.example.com:444")
    assert not handshake(cookie, origin=b"https://evil-desk.example.org")
    # The Host must be one of ALLOWED_HOSTS, whatever the Origin.
    assert not handshake(cookie, host=b"evil.example:8000", origin=b"http://evil.example:8000")
    assert not handshake(cookie, host=b"", origin=b"http://127.0.0.1:8000")


def test_reviewer_gets_the_full_list_then_only_their_organizations_pushes(
    ann, carol, ask, organization, other_organization, drain
):
    existing = ask(organization, title="Already waiting")

    ann_cookie = session_cookie(ann)

    async def scenario():
        inbox = connect("/ws/inbox/", ann_cookie)
        connected, _ = await inbox.connect()
        assert connected
        first = await inbox.receive_from()
        assert 'id="question-list"' in first and 'hx-swap-oob="innerHTML"' in first
        assert f'id="question-{existing.pk}"' in first

        # Another organization's question: nothing arrives.
        await database_sync_to_async(ask)(other_organization, title="Globex is down")
        assert await no_push(inbox)

        # A new question of mine is inserted; answering it removes it.
        mine = await database_sync_to_async(ask)(organization, title="New crash")
        inserted = await receive_push(inbox)
        assert inserted.startswith('<div hx-swap-oob="afterbegin:#question-list">')
        assert f'id="question-{mine.pk}"' in inserted and "New crash" in inserted
        await database_sync_to_async(services.question_answer)(
            question=mine, answered_by="Ann", answer="ok"
        )
        removed = await receive_push(inbox)
        assert removed == f'<div id="question-{mine.pk}" hx-swap-oob="delete"></div>'
        await inbox.disconnect()

    run(scenario)


def test_claims_update_the_card_and_respect_filters(ann, bob, ask, organization):
    question = ask(organization)

    ann_cookie = session_cookie(ann)

    async def scenario():
        everyone = connect("/ws/inbox/", ann_cookie)
        unclaimed = connect("/ws/inbox/?claim=unclaimed", ann_cookie)
        for communicator in (everyone, unclaimed):
            assert (await communicator.connect())[0]
            await communicator.receive_from()  # the full list
        await database_sync_to_async(services.question_claim)(question=question, user=bob)
        replaced = await receive_push(everyone)
        assert replaced.startswith(f'<article id="question-{question.pk}"')
        assert 'hx-swap-oob="true"' in replaced and "Claimed by Bob Ray" in replaced
        assert await receive_push(unclaimed) == (
            f'<div id="question-{question.pk}" hx-swap-oob="delete"></div>'
        )
        for communicator in (everyone, unclaimed):
            await communicator.disconnect()

    run(scenario)


def test_ticket_socket_refuses_other_organizations_and_pushes_progress(
    ann, carol, ask, organization, drain
):
    question = ask(organization)

    ann_cookie = session_cookie(ann)
    carol_cookie = session_cookie(carol)

    async def scenario():
        foreign = connect(f"/ws/tickets/{question.ticket_id}/", carol_cookie)
        assert not (await foreign.connect())[0]
        page = connect(f"/ws/tickets/{question.ticket_id}/", ann_cookie)
        assert (await page.connect())[0]
        assert 'id="ticket-live" hx-swap-oob="true"' in await page.receive_from()
        await database_sync_to_async(services.question_answer)(
            question=question, answered_by="Ann", answer="Ship 2.4.2"
        )
        await database_sync_to_async(drain)()
        seen = ""
        while "Our engineering team says: Ship 2.4.2" not in seen:
            seen = await page.receive_from(timeout=5)
        await page.disconnect()

    run(scenario)
