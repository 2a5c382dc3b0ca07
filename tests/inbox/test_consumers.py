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


def connect(path: str, cookie: bytes | None = None, origin: bytes = b"http://127.0.0.1:8000"):
    headers = [(b"origin", origin), (b"host", b"127.0.0.1:8000")]
    if cookie is not None:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, path, headers=headers)


def run(scenario):
    async_to_sync(scenario)()


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
        assert await inbox.receive_nothing(timeout=0.3)

        # A new question of mine is inserted; answering it removes it.
        mine = await database_sync_to_async(ask)(organization, title="New crash")
        inserted = await inbox.receive_from()
        assert inserted.startswith('<div hx-swap-oob="afterbegin:#question-list">')
        assert f'id="question-{mine.pk}"' in inserted and "New crash" in inserted
        await database_sync_to_async(services.question_answer)(
            question=mine, answered_by="Ann", answer="ok"
        )
        removed = await inbox.receive_from()
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
        replaced = await everyone.receive_from()
        assert replaced.startswith(f'<article id="question-{question.pk}"')
        assert 'hx-swap-oob="true"' in replaced and "Claimed by Bob Ray" in replaced
        assert await unclaimed.receive_from() == (
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
