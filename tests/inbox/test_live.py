"""The publisher of pushes (inbox/live.py): what a process queued is sent before it exits."""

import asyncio
import sys

import pytest
from channels.layers import get_channel_layer
from django.conf import settings

from tests.conftest import ROOT, worker_environment

pytestmark = pytest.mark.django_db(transaction=True)

# A process that queues one push and exits at once, its channel layer slowed so the push is still
# queued at the exit (as under load: `manage.py ticket close 3` is such a process).
EXITS_RIGHT_AFTER_A_PUSH = """
import asyncio, django
django.setup()
from channels.layers import get_channel_layer
from supportdesk.inbox import live

layer = get_channel_layer()
send = layer.group_send

async def slow_send(group, message):
    await asyncio.sleep(0.5)
    await send(group, message)

layer.group_send = slow_send
live._publisher.send("test-exit", {"type": "card.removed", "id": "q-1"})
"""


@pytest.mark.skipif(
    not settings.REDIS_URL,
    reason="scale-out mode only: in the embedded mode a command's pushes go through the outbox "
    "table, written in its own transaction",
)
def test_a_push_queued_just_before_the_process_exits_is_still_sent():
    """`ticket close` from the command line cancelled the question, and its open inboxes kept
    the card: the process exited with the push still queued for the publisher's thread."""

    async def receive_what_the_process_sends() -> dict:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add("test-exit", channel)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", EXITS_RIGHT_AFTER_A_PUSH, cwd=ROOT, env=worker_environment()
        )
        assert await process.wait() == 0
        return await asyncio.wait_for(layer.receive(channel), timeout=5)

    assert asyncio.run(receive_what_the_process_sends()) == {"type": "card.removed", "id": "q-1"}
