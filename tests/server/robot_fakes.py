"""Local fakes of the alert channels, shaped after their public documents, on 127.0.0.1 ports.

- DingTalk custom robot with 加签: `POST /robot/send?access_token=T&timestamp=MS&sign=S`; the sign must be
  base64(HMAC-SHA256(secret, f"{MS}\\n{secret}")), url-encoded, and the timestamp within an hour of now, else
  `{"errcode": 310000, "errmsg": "sign not match"}` (HTTP 200, as DingTalk answers); success `{"errcode": 0}`.
- WeCom group robot: `POST /cgi-bin/webhook/send?key=K` → `{"errcode": 0, "errmsg": "ok"}`; an unknown key 93000.
- A plain webhook receiver that records headers and body.
- SMTP: aiosmtpd's controller with a handler that keeps each message.
`fail_next` makes the next n requests answer HTTP 502 (a robot or proxy having a bad moment).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.live_server import free_port


@dataclass
class Received:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw)


@dataclass
class RobotFake:
    kind: str  # dingtalk | wecom | webhook
    secret: str = ""
    token: str = "tok123"
    received: list[Received] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    fail_next: int = 0
    url: str = ""

    def answer(self, request: Received) -> tuple[int, dict[str, Any]]:
        if self.fail_next > 0:
            self.fail_next -= 1
            return 502, {"error": "bad gateway"}
        if self.kind == "dingtalk":
            if request.query.get("access_token") != self.token:
                return 200, {"errcode": 300001, "errmsg": "token is not exist"}
            stamp = request.query.get("timestamp", "")
            expected = base64.b64encode(hmac.new(self.secret.encode(), f"{stamp}\n{self.secret}".encode(),
                                                 hashlib.sha256).digest()).decode()
            if not stamp.isdigit() or abs(time.time() * 1000 - int(stamp)) > 3600_000 \
                    or not hmac.compare_digest(request.query.get("sign", ""), expected):
                self.refused.append("sign not match")
                return 200, {"errcode": 310000, "errmsg": "sign not match"}
            body = request.json
            if body.get("msgtype") not in ("text", "markdown"):
                return 200, {"errcode": 40035, "errmsg": "msgtype invalid"}
        if self.kind == "wecom" and request.query.get("key") != self.token:
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
        self.received.append(request)
        return 200, {"errcode": 0, "errmsg": "ok"}


@contextmanager
def robot(kind: str, secret: str = "") -> Iterator[RobotFake]:
    fake = RobotFake(kind, secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's name
            parts = urlsplit(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            request = Received(parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()},
                               {k.lower(): v for k, v in self.headers.items()}, raw)
            status, answer = fake.answer(request)
            body = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    fake.url = {"dingtalk": f"{base}/robot/send?access_token={fake.token}",
                "wecom": f"{base}/cgi-bin/webhook/send?key={fake.token}", "webhook": f"{base}/hook"}[kind]
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass
class MailFake:
    url: str
    messages: list[Message] = field(default_factory=list)


@contextmanager
def smtp() -> Iterator[MailFake]:
    from aiosmtpd.controller import Controller

    port = free_port()
    fake = MailFake(f"smtp://127.0.0.1:{port}")

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's name
            fake.messages.append(message_from_bytes(envelope.original_content or envelope.content))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield fake
    finally:
        controller.stop()
