"""The inbox's fan-out: one hub per server process (per event loop) stands between the channel
layer and every open inbox socket of that process.

The hub, not each socket, listens to an organization's group: one channel-layer message per
change and process, however many reviewers are connected. It judges the change once per distinct
filter (inboxes with the same filter key accept the same requests), builds each frame (insert,
replace, delete) at most once per change, pre-encoded as a WebSocket frame, and writes it to every
socket that should get it, directly and in the same event loop: no coroutine hop, no re-encoding
per socket. The exact counts follow a moment later, computed once per filter key.
"""

import asyncio
import contextlib
import logging
import weakref
from functools import partial

from channels.db import database_sync_to_async

from supportdesk.inbox import live

logger = logging.getLogger(__name__)

COUNTS_DELAY_SECONDS = 0.05  # counts after a burst of changes are counted once


class Frame:
    """One frame's text, and its bytes on the wire, built once and sent to many sockets."""

    __slots__ = ("_wire", "text")

    def __init__(self, text: str):
        self.text = text
        self._wire = None

    @property
    def wire(self):
        if self._wire is None:
            from autobahn.websocket.protocol import PreparedMessage

            # A server's frames are not masked: the same bytes serve every connection.
            self._wire = PreparedMessage(self.text.encode("utf-8"), False, False, False)
        return self._wire


class Frames:
    """The frames one change can turn into, each built on first use."""

    def __init__(self, hub: "Hub", message: dict):
        self.hub = hub
        self.message = message
        self._built: dict[str, Frame] = {}

    def get(self, kind: str) -> Frame:
        frame = self._built.get(kind)
        if frame is None:
            self.hub.renders += 1
            question_id, card = self.message["question_id"], self.message.get("card", "")
            text = {
                "replace": card,  # carries hx-swap-oob="true": replaces the card in place
                "insert": f'<div hx-swap-oob="afterbegin:#question-list">{card}</div>',
                "delete": f'<div id="question-{question_id}" hx-swap-oob="delete"></div>',
            }[kind]
            frame = self._built[kind] = Frame(text)
        return frame


def daphne_transport(send):
    """The daphne WebSocket protocol behind an ASGI `send`, or None (another server, a test's
    communicator): the hub then writes through `send` as any consumer would."""
    if not isinstance(send, partial) or not send.args:
        return None
    server = getattr(send.func, "__self__", None)
    protocol = send.args[0]
    if not hasattr(server, "connections") or not hasattr(protocol, "sendPreparedMessage"):
        return None
    return server, protocol


def write(socket, frame: Frame) -> None:
    """Send a frame on one inbox socket now, without waiting for anything."""
    transport = socket.transport
    if transport is not None:
        server, protocol = transport
        connection = server.connections.get(protocol)
        if connection is None or connection.get("disconnected"):
            return
        if protocol.state == protocol.STATE_OPEN and not _send_now(protocol, frame):
            protocol.sendPreparedMessage(frame.wire)
        return
    task = asyncio.ensure_future(socket.send(text_data=frame.text))
    socket.sending.add(task)
    task.add_done_callback(socket.sending.discard)


def _send_now(protocol, frame: Frame) -> bool:
    """Hand the frame's bytes to the kernel at once when nothing is queued before them on this
    plain TCP connection (what Twisted would do one loop turn later, after registering the socket
    for writing: at 1,000 sockets, that registration and its callback were most of a push's
    time). Anything else (compression, TLS, bytes already waiting) goes through autobahn."""
    transport = protocol.transport
    sock = getattr(transport, "socket", None)
    queued = len(getattr(transport, "dataBuffer", b"x")) - getattr(transport, "offset", 0)
    if (
        sock is None
        or queued
        or getattr(transport, "_tempDataLen", 1)
        or getattr(protocol, "_perMessageCompress", None) is not None
        or not getattr(transport, "connected", False)
        or getattr(transport, "disconnecting", True)
    ):
        return False
    data = frame.wire.payloadHybi
    try:
        sent = sock.send(data)
    except BlockingIOError:
        sent = 0
    except OSError:
        return False  # let Twisted meet the error and close the connection its way
    if sent < len(data):
        transport.write(data[sent:])
    return True


class Hub:
    def __init__(self) -> None:
        self.sockets: dict[int, dict] = {}  # organization id → its open inbox sockets (ordered)
        self.joined: dict[int, asyncio.Future] = {}  # organization id → its group joined
        self.layer = None
        self.channel = ""
        self.reader: asyncio.Task | None = None
        self.counting: dict[int, asyncio.Task] = {}
        self.recount: set[int] = set()
        self.renders = 0  # frames built (the tests count them)
        self.deliveries = 0  # channel-layer messages received

    async def join(self, socket) -> None:
        """Add an inbox socket; from here on it gets its organization's changes (held in its
        backlog until it has sent its list)."""
        organization = socket.organization_id
        if self.layer is None:
            self.layer = socket.channel_layer
            # The default prefix: channels_redis reads every process-local channel through one
            # list named by it (another prefix would wait behind the sockets' own receives).
            self.named = asyncio.ensure_future(self.layer.new_channel())
        self.channel = await asyncio.shield(self.named)
        self.sockets.setdefault(organization, {})[socket] = None
        joined = self.joined.get(organization)
        if joined is None or (joined.done() and (joined.cancelled() or joined.exception())):
            # Not joined yet, or the last try failed (the layer was away): join (again).
            joined = self.joined[organization] = asyncio.ensure_future(
                self.layer.group_add(live.inbox_group(organization), self.channel)
            )
        try:
            await asyncio.shield(joined)
        except BaseException:
            await self.leave(socket)
            raise
        if self.reader is None or self.reader.done():
            self.reader = asyncio.ensure_future(self._read())

    async def leave(self, socket) -> None:
        organization = socket.organization_id
        members = self.sockets.get(organization)
        if members is None or socket not in members:
            return
        del members[socket]
        if members:
            return
        del self.sockets[organization]
        joined = self.joined.pop(organization, None)
        if joined is not None:
            with contextlib.suppress(Exception):
                await joined
        if organization in self.sockets:  # someone joined meanwhile: the group stays joined
            return
        await self.layer.group_discard(live.inbox_group(organization), self.channel)
        if not self.sockets and self.reader is not None:
            self.reader.cancel()
            self.reader = None

    async def _read(self) -> None:
        while True:
            message = await self.layer.receive(self.channel)
            self.deliveries += 1
            try:
                self.deliver(message)
            except Exception:  # a push is a hint: the next one, or a reconnect, converges
                logger.exception("delivering a push to the inboxes failed")

    def deliver(self, message: dict) -> None:
        if message.get("type") != "question.changed":
            return
        organization = message.get("organization_id")
        frames = Frames(self, message)
        judged: dict[tuple, bool] = {}
        for socket in list(self.sockets.get(organization, ())):
            socket.push(message, frames, judged)
        self.counts_later(organization)

    def counts_later(self, organization: int) -> None:
        if organization in self.counting:
            self.recount.add(organization)
            return
        self.counting[organization] = asyncio.ensure_future(self._count(organization))

    async def _count(self, organization: int) -> None:
        from supportdesk.inbox.consumers import render_counts

        try:
            while True:
                await asyncio.sleep(COUNTS_DELAY_SECONDS)
                self.recount.discard(organization)
                by_key: dict[tuple, list] = {}
                for socket in self.sockets.get(organization, ()):
                    if socket.backlog is None:
                        by_key.setdefault(socket.filter_key, []).append(socket)
                if by_key:
                    texts = await database_sync_to_async(render_counts)(
                        organization, [(key, members[0]) for key, members in by_key.items()]
                    )
                    for key, text in texts.items():
                        frame = Frame(text)
                        for socket in by_key[key]:
                            write(socket, frame)
                if organization not in self.recount:
                    return
        except Exception:
            logger.exception("counting an inbox failed")
        finally:
            self.counting.pop(organization, None)


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """This event loop's hub (a server has one loop; tests may run several in turn)."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = Hub()
    return found
