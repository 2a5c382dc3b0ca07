"""A fake Anthropic Messages API over real HTTP on 127.0.0.1, for running the real SDK in tests.

Point a client (or another process, via ANTHROPIC_BASE_URL) at `.base_url`. Responders should be
pure functions of the request body, so every process and every replay gets the same answers.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


class FakeError(Exception):
    """Returned or raised by a responder to answer with an Anthropic-style error."""

    def __init__(
        self, status: int, message: str = "fake error", *, retry_after_ms: int | None = None
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after_ms = retry_after_ms


Responder = Callable[[dict[str, Any]], "dict[str, Any] | FakeError"]


def text_block(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def tool_use_block(name: str, input: dict[str, Any], id: str | None = None) -> dict[str, Any]:
    """A tool_use block; without `id` the server derives one from the request body."""
    return {"type": "tool_use", "name": name, "input": input, **({"id": id} if id else {})}


def message(
    *blocks: dict[str, Any],
    stop_reason: str | None = None,
    model: str = "claude-fake",
    input_tokens: int = 10,
    output_tokens: int = 5,
) -> dict[str, Any]:
    """A Messages API response; `stop_reason` defaults from the blocks."""
    uses_tools = any(b["type"] == "tool_use" for b in blocks)
    return {
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": list(blocks),
        "stop_reason": stop_reason or ("tool_use" if uses_tools else "end_turn"),
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


def canonical(body: dict[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


class FakeAnthropicServer:
    """`POST /v1/messages` answered by `responder(body)`; records every request body."""

    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._headers: list[dict[str, str]] = []
        self._http = _Server(self)
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    @property
    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._requests)

    @property
    def request_headers(self) -> list[dict[str, str]]:
        with self._lock:
            return list(self._headers)

    def duplicate_requests(self) -> list[dict[str, Any]]:
        """Request bodies received more than once (e.g. a repeated inference), each listed once."""
        bodies = self.requests
        counts = Counter(canonical(body) for body in bodies)
        return [json.loads(text) for text, count in counts.items() if count > 1]

    def __enter__(self) -> FakeAnthropicServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join()

    def _record(self, body: dict[str, Any], headers: dict[str, str]) -> None:
        with self._lock:
            self._requests.append(body)
            self._headers.append(headers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeAnthropicServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        fake = self.server.fake
        if self.path.split("?")[0] != "/v1/messages":
            self._send_error(FakeError(404, f"no route for {self.path}"))
            return
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        fake._record(body, {k.lower(): v for k, v in self.headers.items()})
        try:
            reply = fake.responder(body)
        except FakeError as exc:
            reply = exc
        except Exception as exc:  # a broken responder shows up in the SDK's error message
            reply = FakeError(500, f"responder failed: {exc!r}")
        if isinstance(reply, FakeError):
            self._send_error(reply)
        else:
            self._send(200, _with_ids(reply, body))

    def _send_error(self, error: FakeError) -> None:
        payload = {
            "type": "error",
            "error": {"type": ERROR_TYPES.get(error.status, "api_error"), "message": error.message},
        }
        headers = {}
        if error.retry_after_ms is not None:
            headers["retry-after-ms"] = str(error.retry_after_ms)
        self._send(error.status, payload, headers)

    def _send(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet


def _with_ids(reply: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    # Ids derived from the request keep answers deterministic yet distinct across turns.
    digest = hashlib.sha256(canonical(body).encode()).hexdigest()[:16]
    content = [
        {**block, "id": block.get("id") or f"toolu_{digest}_{index}"}
        if block["type"] == "tool_use"
        else block
        for index, block in enumerate(reply["content"])
    ]
    return {**reply, "id": reply.get("id") or f"msg_{digest}", "content": content}
