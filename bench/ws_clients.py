"""Many inbox WebSocket clients in a process of their own, for the push benchmarks: the server's
fan-out is measured without the clients sharing its process.

`python -m bench.ws_clients --port P --cookie C --clients N [--query sort=newest]` connects N
sockets, prints `{"ready": N, "first_frame_bytes": ...}` once each got its list, then, for every
card inserted at all N, one line `{"question": id, "arrivals": [epoch seconds, ...]}`. A minimal
client on asyncio's protocols (server frames are not masked, one frame per message): the arrival
time is taken when the bytes reach the process, before any parsing.
"""

import argparse
import asyncio
import base64
import json
import os
import re
import resource
import struct
import sys
import time

CARD = re.compile(rb'afterbegin:#question-list"><article id="question-([0-9a-f-]{36})"')


def raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class InboxClient(asyncio.Protocol):
    def __init__(self, request: bytes, seen: "Arrivals"):
        self.request = request
        self.seen = seen
        self.buffer = b""
        self.upgraded = False
        self.first = asyncio.get_running_loop().create_future()
        self.transport = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc) -> None:
        if not self.first.done():
            self.first.set_exception(ConnectionError(f"closed before the list came: {exc}"))

    def data_received(self, data: bytes) -> None:
        arrived = time.time()
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.buffer.startswith(b"HTTP/1.1 101"):
                self.first.set_exception(ConnectionError(self.buffer[:200].decode("latin-1")))
                return
            self.upgraded = True
            self.buffer = self.buffer[end + 4 :]
        while True:
            frame = self._next_frame()
            if frame is None:
                return
            opcode, payload = frame
            if opcode == 9:  # ping: pong, masked as a client must
                self._send(10, payload)
            elif opcode == 1:
                if not self.first.done():
                    self.first.set_result(len(payload))
                else:
                    self.seen.frame(payload, arrived)

    def _next_frame(self):
        buffer = self.buffer
        if len(buffer) < 2:
            return None
        opcode, length, offset = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
        if length == 126:
            if len(buffer) < 4:
                return None
            length, offset = struct.unpack("!H", buffer[2:4])[0], 4
        elif length == 127:
            if len(buffer) < 10:
                return None
            length, offset = struct.unpack("!Q", buffer[2:10])[0], 10
        if len(buffer) < offset + length:
            return None
        self.buffer = buffer[offset + length :]
        return opcode, buffer[offset : offset + length]

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)


class Arrivals:
    def __init__(self, clients: int):
        self.clients = clients
        self.times: dict[str, list[float]] = {}

    def frame(self, payload: bytes, arrived: float) -> None:
        found = CARD.search(payload, 0, 300)
        if not found:
            return  # counts, replaced or deleted cards
        question = found.group(1).decode()
        times = self.times.setdefault(question, [])
        times.append(arrived)
        if len(times) == self.clients:
            print(json.dumps({"question": question, "arrivals": times}), flush=True)
            del self.times[question]


async def main(port: int, cookie: str, clients: int, query: str) -> None:
    raise_fd_limit()
    loop = asyncio.get_running_loop()
    seen = Arrivals(clients)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /ws/inbox/?{query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Origin: http://127.0.0.1:{port}\r\nCookie: {cookie}\r\n\r\n"
    ).encode()
    connected = []
    gate = asyncio.Semaphore(20)  # the server renders each socket's list: not all at once

    async def open_one():
        async with gate:
            for attempt in range(5):  # a handshake the busy server timed out: again
                _, client = await loop.create_connection(lambda: InboxClient(request, seen),
                                                         "127.0.0.1", port)  # fmt: skip
                try:
                    size = await asyncio.wait_for(client.first, 120)
                except (ConnectionError, TimeoutError) as exc:
                    print(f"connection attempt {attempt + 1}: {exc}", file=sys.stderr)
                    client.transport.close()
                    continue
                connected.append(client)
                return size
            raise ConnectionError("could not connect")

    sizes = await asyncio.gather(*(open_one() for _ in range(clients)))
    print(json.dumps({"ready": len(connected), "first_frame_bytes": max(sizes)}), flush=True)
    # Until the benchmark closes our stdin.
    await loop.run_in_executor(None, sys.stdin.read)
    for client in connected:
        client.transport.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cookie", required=True)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--query", default="sort=newest")
    options = parser.parse_args()
    asyncio.run(main(options.port, options.cookie, options.clients, options.query))
