"""A reviewer's WebSockets end with their access: signing out, deactivation, removal as a
reviewer, and — for what no signal reports — the socket's own periodic session check."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.contrib.sessions.models import Session
from django.test import Client

from supportdesk.desk.models import Reviewer
from supportdesk.inbox.consumers import CLOSED_SESSION_ENDED
from supportdesk.inbox.live import _publisher
from tests.inbox.test_consumers import connect

pytestmark = [pytest.mark.django_db(transaction=True)]


def signed_in(user) -> tuple[Client, bytes]:
    client = Client()
    client.force_login(user)
    return client, f"sessionid={client.cookies['sessionid'].value}".encode()


def assert_closed_by(action, path: str, cookie: bytes) -> None:
    async def scenario():
        socket = connect(path, cookie)
        assert (await socket.connect())[0]
        await socket.receive_from()  # the list (or the ticket) sent on connect
        await database_sync_to_async(action)()
        await database_sync_to_async(_publisher.flush)()
        closed = await socket.receive_output(timeout=3)
        assert closed == {"type": "websocket.close", "code": CLOSED_SESSION_ENDED}
        await socket.disconnect()

    async_to_sync(scenario)()


@pytest.mark.parametrize("path", ["/ws/inbox/", "ticket"])
def test_signing_out_closes_the_sockets_opened_before(ann, organization, ask, path):
    question = ask(organization)
    path = f"/ws/tickets/{question.ticket_id}/" if path == "ticket" else path
    client, cookie = signed_in(ann)
    assert_closed_by(lambda: client.post("/accounts/logout/"), path, cookie)


def test_deactivating_a_user_closes_their_sockets(ann):
    _, cookie = signed_in(ann)

    def deactivate():
        ann.is_active = False
        ann.save()

    assert_closed_by(deactivate, "/ws/inbox/", cookie)


def test_removing_a_reviewer_closes_their_sockets(ann):
    _, cookie = signed_in(ann)
    assert_closed_by(lambda: Reviewer.objects.filter(user=ann).delete(), "/ws/inbox/", cookie)


def test_a_session_that_ended_without_a_signal_is_noticed_by_the_socket(ann, settings):
    settings.INBOX_SESSION_RECHECK_SECONDS = 0.2
    _, cookie = signed_in(ann)
    assert_closed_by(lambda: Session.objects.all().delete(), "/ws/inbox/", cookie)


def test_a_socket_whose_session_holds_stays_open(ann, settings):
    settings.INBOX_SESSION_RECHECK_SECONDS = 0.1

    async def scenario():
        _, cookie = await database_sync_to_async(signed_in)(ann)
        socket = connect("/ws/inbox/", cookie)
        assert (await socket.connect())[0]
        await socket.receive_from()
        assert await socket.receive_nothing(timeout=0.6)  # several checks passed
        await socket.disconnect()

    async_to_sync(scenario)()
