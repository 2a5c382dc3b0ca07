"""The channel layer drops a share of pushes (Channels is at-most-once): an inbox that applied only
the frames that arrived has drifted from the database's truth, and converges when it reconnects."""

import random
import re

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import channel_layers

from supportdesk.desk import services
from supportdesk.desk.models import Question
from supportdesk.inbox.layers import InProcessChannelLayer
from supportdesk.inbox.live import _publisher
from tests.inbox.test_consumers import COUNTS, connect, session_cookie

pytestmark = [pytest.mark.django_db(transaction=True)]


class LossyChannelLayer(InProcessChannelLayer):
    """Drops about half of the pushes to inboxes, reproducibly (the same seeded draws for the
    same sequence of inbox pushes); `drop_rate = 0` makes it deliver everything again."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.random = random.Random(7)
        self.drop_rate = 0.5
        self.dropped = self.delivered = 0

    async def group_send(self, group, message):
        if group.startswith("inbox-"):
            if self.random.random() < self.drop_rate:
                self.dropped += 1
                return
            self.delivered += 1
        await super().group_send(group, message)


@pytest.fixture
def lossy_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": f"{__name__}.LossyChannelLayer"}}
    channel_layers.backends.clear()
    _publisher.__init__()  # a fresh publisher bound to the new layer
    yield
    channel_layers.backends.clear()
    _publisher.__init__()


CARD = re.compile(r'<article id="question-([0-9a-f-]{36})"')
INSERTED = '<div hx-swap-oob="afterbegin:#question-list">'
DELETED = re.compile(r'^<div id="question-([0-9a-f-]{36})" hx-swap-oob="delete"></div>$')


class ClientInbox:
    """The question list a browser shows after htmx applied the frames it received, as the inbox
    page's ws extension applies them (out-of-band swaps by id)."""

    def __init__(self):
        self.ids: list[str] = []
        self.frames = 0

    def apply(self, frame: str) -> None:
        self.frames += 1
        if 'id="question-list"' in frame and 'hx-swap-oob="innerHTML"' in frame:
            self.ids = CARD.findall(frame)  # the full list replaces what was shown
        elif frame.startswith(INSERTED):
            self.ids.insert(0, CARD.search(frame).group(1))
        elif deleted := DELETED.match(frame):
            self.ids = [shown for shown in self.ids if shown != deleted.group(1)]
        elif 'hx-swap-oob="true"' in frame and CARD.match(frame):
            pass  # a card replaced in place: the same question, re-rendered
        elif frame.startswith(COUNTS):
            pass  # the exact counts, after changes
        else:
            raise AssertionError(f"a frame the inbox page would not understand: {frame[:200]}")

    async def receive_all(self, communicator) -> None:
        """Apply every frame that arrives until none has for a moment."""
        while not await communicator.receive_nothing(timeout=0.3):
            self.apply(await communicator.receive_from())

    @property
    def shown(self) -> set[str]:
        assert len(self.ids) == len(set(self.ids)), "a card shown twice"
        return set(self.ids)


def pending_ids() -> set[str]:
    return {
        str(pk) for pk in Question.objects.filter(status="pending").values_list("pk", flat=True)
    }


def test_an_inbox_that_missed_pushes_drifts_and_converges_on_reconnect(
    lossy_layer, ann, bob, organization, ask
):
    cookies = [session_cookie(ann), session_cookie(bob)]
    asked = [ask(organization, title=f"Crash {n}") for n in range(3)]
    truth = database_sync_to_async(pending_ids)

    async def scenario():
        layer = channel_layers["default"]
        inboxes = [(connect("/ws/inbox/", cookie), ClientInbox()) for cookie in cookies]
        for communicator, client in inboxes:
            assert (await communicator.connect())[0]
            client.apply(await communicator.receive_from())
            assert client.shown == {str(q.pk) for q in asked}

        # Changes while about half of the pushes are lost.
        for n in range(6):
            await database_sync_to_async(ask)(organization, title=f"New crash {n}")
        for question in asked[:2]:
            await database_sync_to_async(services.question_answer)(
                question=question, answered_by="ann", answer="ok"
            )
        await database_sync_to_async(_publisher.flush)()
        pending = await truth()
        assert len(pending) == 1 + 6
        for communicator, client in inboxes:
            await client.receive_all(communicator)
            assert client.frames > 1  # the pushes that got through were applied...
            assert client.shown != {str(q.pk) for q in asked}
            assert client.shown != pending  # ...and the ones lost left the inbox stale
            await communicator.disconnect()
        assert layer.dropped > 0 and layer.delivered > 0

        # Reconnect: the full list again, applied over the stale one.
        inboxes = [(connect("/ws/inbox/", cookie), client) for cookie, (_, client) in
                   zip(cookies, inboxes, strict=True)]  # fmt: skip
        for communicator, client in inboxes:
            assert (await communicator.connect())[0]
            client.apply(await communicator.receive_from())
            assert client.shown == pending

        # Converged, it stays so: with nothing lost, the next changes keep it equal to the truth.
        layer.drop_rate = 0
        await database_sync_to_async(ask)(organization, title="Crash after the reconnect")
        await database_sync_to_async(services.question_answer)(
            question=asked[2], answered_by="bob", answer="ok"
        )
        await database_sync_to_async(_publisher.flush)()
        pending = await truth()
        for communicator, client in inboxes:
            await client.receive_all(communicator)
            assert client.shown == pending
            await communicator.disconnect()

    async_to_sync(scenario)()
