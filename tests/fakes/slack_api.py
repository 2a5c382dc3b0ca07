"""A fake Slack Web API over real HTTP on 127.0.0.1, for running the official slack_sdk client in
tests (and in the processes they start, through SLACK_API_URL).

It answers the methods the Slack app calls — chat.postMessage, chat.update, views.open,
users.info, chat.postEphemeral — and records every call: its method, its arguments (JSON body,
form body or query string) and the bot token it came with.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class SlackCall:
    method: str
    args: dict[str, Any]
    token: str


class FakeSlackApi:
    def __init__(self, users: dict[str, str] | None = None) -> None:
        # Slack user id → the email of their Slack account (users.info).
        self.users = dict(users or {})
        self._lock = threading.Lock()
        self._calls: list[SlackCall] = []
        self._ts = 0
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._http.daemon_threads = True
        self._http.fake = self
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def base_url(self) -> str:
        """What SLACK_API_URL is set to."""
        return f"http://127.0.0.1:{self._http.server_address[1]}/api/"

    def calls(self, method: str | None = None) -> list[SlackCall]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def __enter__(self) -> FakeSlackApi:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join()

    def answer(self, method: str, args: dict[str, Any], token: str) -> dict[str, Any]:
        with self._lock:
            self._calls.append(SlackCall(method, args, token))
            self._ts += 1
            ts = f"1700000000.{self._ts:06d}"
        if method == "chat.postMessage":
            return {
                "ok": True,
                "channel": args.get("channel"),
                "ts": ts,
                "message": {"text": args.get("text"), "ts": ts},
            }
        if method == "chat.update":
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": ts}
        if method == "views.open":
            return {"ok": True, "view": {"id": f"V{self._ts}"}}
        if method == "users.info":
            user_id = args.get("user", "")
            if user_id not in self.users:
                return {"ok": False, "error": "user_not_found"}
            return {
                "ok": True,
                "user": {
                    "id": user_id,
                    "deleted": False,
                    "is_bot": False,
                    "profile": {"email": self.users[user_id]},
                },
            }
        return {"ok": False, "error": "unknown_method"}


class _Handler(BaseHTTPRequestHandler):
    def _respond(self, args: dict[str, Any]) -> None:
        method = urlsplit(self.path).path.rsplit("/", 1)[-1]
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        payload = json.dumps(self.server.fake.answer(method, args, token)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        self._respond(dict(parse_qsl(urlsplit(self.path).query)))

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if "json" in self.headers.get("Content-Type", ""):
            args = json.loads(body or b"{}")
        else:
            args = dict(parse_qsl(body.decode()))
        args.update(parse_qsl(urlsplit(self.path).query))
        self._respond(args)

    def log_message(self, format: str, *args: Any) -> None:
        pass
