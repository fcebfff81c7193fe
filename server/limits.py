"""Bounded requests: no client, signed or not, makes the server hold more than a route's limit.

- `BodyLimit`, ASGI middleware around the whole app: each route has a body limit (`BODY_LIMITS`:
  4 MB for an outbox push of 500 events, 1 MB for a carrier hook, 64 KB for anything else). A
  Content-Length over it is answered 413 before a byte of the body is read; a chunked body is
  counted while it streams, and the request ends with 413 the moment it crosses the limit — the
  handler, and the signature check before it, never see more. A body that is not complete within
  `body_timeout` seconds of the request's start ends with 408. Either way the connection is closed
  (`Connection: close`): the rest of the body is never read.
- `GuardedH11Protocol`, uvicorn's h11 protocol with a header deadline: a connection that has not
  sent a complete request line and headers within `header_timeout` seconds of opening (or of its
  previous response) is closed. Uvicorn on its own waits forever for a slow client's headers; h11
  bounds their size (`MAX_HEADER_BYTES`).
- `json_depth_ok`: nesting is checked before a body is parsed (`MAX_JSON_DEPTH`); the parser and
  everything after it recurse per level, and a deep enough body would end in RecursionError.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from itertools import accumulate
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("server.limits")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

KB, MB = 1 << 10, 1 << 20
DEFAULT_BODY_LIMIT = 64 * KB
BODY_LIMITS: tuple[tuple[str, int], ...] = (  # path prefix (after any root path), most specific first
    ("/api/v1/events", 4 * MB),  # MAX_BATCH events of a few KB each
    ("/hooks/", 1 * MB),  # a Kuaidi100 push is one parcel's trail; a generic push a few thousand events
)
MAX_HEADER_BYTES = 16 * KB
MAX_JSON_DEPTH = 64
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[^\[\]{}"]+')  # strings and everything but brackets
_DEPTH_STEP = [0] * 256
_DEPTH_STEP[ord("[")] = _DEPTH_STEP[ord("{")] = 1
_DEPTH_STEP[ord("]")] = _DEPTH_STEP[ord("}")] = -1


def body_limit(path: str) -> int:
    return next((limit for prefix, limit in BODY_LIMITS if path.startswith(prefix)), DEFAULT_BODY_LIMIT)


def json_depth_ok(text: str | bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether no array or object in the JSON text nests deeper than `limit` (brackets inside strings
    do not count). Linear, no recursion: the brackets left after removing strings are summed in C."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    brackets = _TOKENS.sub("", text).encode("ascii", errors="ignore")
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0) <= limit


def loads_bounded(text: str | bytes, limit: int = MAX_JSON_DEPTH) -> Any:
    """`json.loads` of a body nested at most `limit` deep; deeper is a ValueError saying so."""
    if not json_depth_ok(text, limit):
        raise NestingError(f"JSON nested deeper than {limit} levels")
    return json.loads(text)


class NestingError(ValueError):
    pass


class _Refused(Exception):
    """The body broke a limit; raised out of `receive` so the handler stops reading."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class BodyLimit:
    def __init__(self, app: ASGIApp, body_timeout: float = 30.0) -> None:
        self.app = app
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        root = str(scope.get("root_path") or "")
        if root and path.startswith(root):
            path = path[len(root):]
        limit = body_limit(path)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            log.warning("refused %s %s: Content-Length %d over the %d-byte limit", scope.get("method"),
                        path[:200], declared, limit)
            await _refuse(send, 413, _too_large(limit))
            return
        guard = _BodyGuard(receive, limit, time.monotonic() + self.body_timeout)
        started = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if guard.refused is not None:  # the handler turned our exception into its own answer: ours wins
                return
            if message["type"] == "http.response.start" and not guard.done:
                # Answered before the body was read (a refused signature): close rather than read the rest.
                message = {**message, "headers": [*message.get("headers", ()), (b"connection", b"close")]}
            started = True
            await send(message)

        with contextlib.suppress(_Refused):  # raised out of receive; answered just below
            await self.app(scope, guard.receive, guarded_send)
        if guard.refused is not None:
            log.warning("refused %s %s: %s", scope.get("method"), path[:200], guard.refused.detail)
            if not started:
                await _refuse(send, guard.refused.status, guard.refused.detail)


class _BodyGuard:
    def __init__(self, receive: Receive, limit: int, deadline: float) -> None:
        self._receive = receive
        self.limit = limit
        self.deadline = deadline
        self.seen = 0
        self.done = False
        self.refused: _Refused | None = None

    async def receive(self) -> Message:
        if self.refused is not None:
            raise self.refused
        if self.done:  # the body is complete: what follows is the wait for a disconnect
            return await self._receive()
        try:
            message = await asyncio.wait_for(self._receive(), max(0.0, self.deadline - time.monotonic()))
        except TimeoutError:
            self.refused = _Refused(408, "the request body did not arrive in time")
            raise self.refused from None
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            if self.seen > self.limit:
                self.refused = _Refused(413, _too_large(self.limit))
                raise self.refused
            self.done = not message.get("more_body", False)
        return message


def _too_large(limit: int) -> str:
    size = f"{limit // MB} MB" if limit >= MB else f"{limit // KB} KB"
    return f"request body over {size}; send smaller requests"


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None  # h11 has refused a malformed one already
    return None


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode("utf-8")
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class GuardedH11Protocol(H11Protocol):
    """h11 with a deadline for each request's line and headers (uvicorn has none: a client sending
    one header byte a minute would hold its connection forever)."""

    header_timeout = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the request's headers are in
            self._disarm_header_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        self._header_timer: asyncio.TimerHandle | None = self.loop.call_later(self.header_timeout,
                                                                               self._headers_too_slow)

    def _disarm_header_deadline(self) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            log.warning("closed a connection from %s: no complete request headers within %.0f s",
                        self.client[0] if self.client else "?", self.header_timeout)
            self.transport.close()


def serving_options(header_timeout: float, keep_alive: float = 5.0) -> dict[str, Any]:
    """uvicorn settings that bound slow and oversized clients (used by `packbench server` and the tests)."""
    protocol = type("GuardedH11", (GuardedH11Protocol,), {"header_timeout": header_timeout})
    return {"http": protocol, "timeout_keep_alive": keep_alive, "h11_max_incomplete_event_size": MAX_HEADER_BYTES}
