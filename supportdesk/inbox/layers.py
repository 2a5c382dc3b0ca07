"""The embedded mode's channel layer: Channels' in-memory layer, safe to send to from other threads.

In the embedded mode the workers that commit questions run in their own threads (each with its own
event loop via async_to_sync), while every consumer lives on the server's event loop. asyncio
queues are not thread-safe: a message put from another loop sits unnoticed until the server's
loop wakes for something else (we measured ~0.85 s). So sends are handed to the server's loop.
"""

import asyncio

from channels.layers import InMemoryChannelLayer


class InProcessChannelLayer(InMemoryChannelLayer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._receiving_loop: asyncio.AbstractEventLoop | None = None

    async def receive(self, channel):
        self._receiving_loop = asyncio.get_running_loop()
        return await super().receive(channel)

    async def send(self, channel, message):
        await self._on_receiving_loop(super().send(channel, message))

    async def group_send(self, group, message):
        await self._on_receiving_loop(super().group_send(group, message))

    async def _on_receiving_loop(self, operation) -> None:
        loop = self._receiving_loop
        if loop is None or loop is asyncio.get_running_loop() or loop.is_closed():
            await operation
            return
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(operation, loop))
