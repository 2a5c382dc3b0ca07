"""The channel layer drops a share of pushes (Channels is at-most-once): every inbox still
converges on the database's truth when it reconnects."""

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
from tests.inbox.test_consumers import connect, session_cookie

pytestmark = [pytest.mark.django_db(transaction=True)]


class LossyChannelLayer(InProcessChannelLayer):
    """Drops about half of all group messages, reproducibly."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.random = random.Random(7)
        self.dropped = 0

    async def group_send(self, group, message):
        if self.random.random() < 0.5:
            self.dropped += 1
            return
        await super().group_send(group, message)


@pytest.fixture
def lossy_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": f"{__name__}.LossyChannelLayer"}}
    channel_layers.backends.clear()
    _publisher.__init__()  # a fresh publisher bound to the new layer
    yield
    channel_layers.backends.clear()
    _publisher.__init__()


def shown_ids(html: str) -> set[str]:
    return set(re.findall(r'<article id="question-([0-9a-f-]{36})"', html))


def test_every_inbox_converges_on_reconnect(lossy_layer, ann, bob, organization, ask):
    cookies = [session_cookie(ann), session_cookie(bob)]
    asked = [ask(organization, title=f"Crash {n}") for n in range(3)]

    async def scenario():
        inboxes = [connect("/ws/inbox/", cookie) for cookie in cookies]
        for inbox in inboxes:
            assert (await inbox.connect())[0]
            assert shown_ids(await inbox.receive_from()) == {str(q.pk) for q in asked}
        # Changes while about half of the pushes are lost.
        for n in range(6):
            await database_sync_to_async(ask)(organization, title=f"New crash {n}")
        for question in asked[:2]:
            await database_sync_to_async(services.question_answer)(
                question=question, answered_by="ann", answer="ok"
            )
        await database_sync_to_async(_publisher.flush)()
        for inbox in inboxes:
            await inbox.disconnect()
        pending = Question.objects.filter(status="pending").values_list("pk", flat=True)
        truth = await database_sync_to_async(lambda: {str(pk) for pk in pending})()
        assert len(truth) == 1 + 6
        for cookie in cookies:  # reconnect: the full list again
            inbox = connect("/ws/inbox/", cookie)
            assert (await inbox.connect())[0]
            assert shown_ids(await inbox.receive_from()) == truth
            await inbox.disconnect()

    async_to_sync(scenario)()
    assert channel_layers["default"].dropped > 0
