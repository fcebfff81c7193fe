"""Case notifications to a chat robot (WeCom / DingTalk style webhook) (docs/architecture.md §9.1).

`CaseNotifier.notify(case)` is what callers call (it is registered in `app.cases.case_listeners` by
`wiring.build_runtime` when `notify_url` is set): a new case routed to one of the configured roles
(`notify_routes`: the rules' `route`, by default supervisors and admins — a packer-routed case is
for the bench itself) and of a configured severity becomes one text message, queued for a sender
thread of its own (`app.worker.Worker`). A supervisor call (CALL_SUPERVISOR) is sent whatever its
severity, and again each time it is called again while live. The caller never waits on the network: the queue
is bounded, and a message that does not fit is logged and counted (`dropped`), never lost silently.
The sender tries each message up to `attempts` times with exponential backoff between tries
(base·2^(n-1), capped); a message that still fails is logged with its text and counted (`failed`).

Body: {"msgtype": "text", "text": {"content": "..."}}, which both WeCom and DingTalk robots accept.
With `at_mobiles` those people are @-mentioned: `at.atMobiles` (DingTalk, the numbers also in the
text so the @ shows) and `text.mentioned_mobile_list` (WeCom). With a `secret` the URL is signed
per message with DingTalk's 加签 (`dingtalk_signed_url`).
A robot answering HTTP 200 with a non-zero `errcode` (rate limit, bad key) counts as a failure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.backoff import Backoff
from app.cases import SUPERVISOR_CALL, calls_of, case_sop, case_title, detail_words
from app.clock import Clock
from app.documents.words import BILINGUAL, BILINGUAL_WORDS
from app.errors import PackBenchError
from app.i18n import N_, render
from app.store.models import ExceptionCase
from app.terms import SEVERITIES, named
from app.worker import Worker

log = logging.getLogger(__name__)

Send = Callable[[str, dict[str, Any]], None]  # (url, body); raises on failure
DEFAULT_SEVERITIES = ("critical", "warning")
DEFAULT_ROUTES = ("supervisor", "admin")
CALLS = N_("called {calls} times")
SOP_LINE = N_("SOP: {sop}")


class NotifyError(PackBenchError):
    pass




def requests_send(url: str, body: dict[str, Any], timeout: float = 10.0) -> None:
    """POST the body as JSON; raises NotifyError on a transport error, an HTTP error or an errcode."""
    import requests

    try:
        response = requests.post(url, json=body, timeout=timeout)
    except requests.RequestException as exc:
        raise NotifyError(f"{type(exc).__name__}: {exc}") from exc
    if response.status_code >= 300:
        raise NotifyError(f"HTTP {response.status_code}: {response.text[:200]}")
    try:
        answer = response.json()
    except ValueError:
        return  # a robot that answers 2xx without JSON took it
    if isinstance(answer, dict) and answer.get("errcode") not in (None, 0):
        raise NotifyError(f"errcode {answer.get('errcode')}: {answer.get('errmsg', '')}")


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's 加签 of a custom robot: base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}"))."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def dingtalk_signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    """The robot's webhook URL with `timestamp` and the url-encoded `sign` appended."""
    sign = urllib.parse.quote_plus(dingtalk_sign(secret, timestamp_ms))
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp_ms}&sign={sign}"


def case_message(case: ExceptionCase) -> dict[str, Any]:
    """One paragraph, Chinese then English: severity, tag, order, title, first line of the SOP (each
    language's first line: the catalog words a shipped rule's SOP, docs/i18n.md)."""
    _ = BILINGUAL_WORDS
    order = case.order.order_id if case.order_id is not None else "-"
    sop = case_sop(str(case.sop))
    title = _(case_title(str(case.title), detail_words(str(case.detail))), sep=" / ")
    severity = named(SEVERITIES, str(case.severity))
    parts = [_("【{severity}】Exception #{case}", severity=severity, case=case.id),
             _("Tag: {tag}", tag=case.tag), _("Order: {order}", order=order), title]
    calls = calls_of(case)
    if case.tag == SUPERVISOR_CALL and calls > 1:
        parts.append(_(CALLS, calls=calls))
    if sop.message:  # each language's first line of the SOP after its own label
        parts.append(" ".join(render(SOP_LINE, lang, {"sop": _first_line(sop.text(lang))}) for lang in BILINGUAL))
    return {"msgtype": "text", "text": {"content": "；".join(parts)}}


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def with_mentions(body: dict[str, Any], at_mobiles: tuple[str, ...]) -> dict[str, Any]:
    """The robot body @-mentioning `at_mobiles`, in the fields DingTalk and WeCom each read."""
    if not at_mobiles:
        return body
    text = body["text"]["content"] + " " + " ".join(f"@{m}" for m in at_mobiles)
    return {**body, "text": {"content": text, "mentioned_mobile_list": list(at_mobiles)},
            "at": {"atMobiles": list(at_mobiles), "isAtAll": False}}


@dataclass(frozen=True)
class _Message:
    case_id: int
    body: dict[str, Any]


class CaseNotifier:
    def __init__(self, url: str, severities: Iterable[str] = DEFAULT_SEVERITIES, clock: Clock | None = None,
                 send: Send | None = None, *, routes: Iterable[str] = DEFAULT_ROUTES, secret: str = "",
                 at_mobiles: Iterable[str] = (), attempts: int = 5, backoff_base: float = 2.0,
                 backoff_cap: float = 300.0, sleep: Callable[[float], None] | None = None,
                 max_queue: int = 1000) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.routes = frozenset(routes)
        self.url = url
        self.secret = secret
        self.at_mobiles = tuple(at_mobiles)
        self.severities = frozenset(severities)
        self.clock = clock
        self.attempts = attempts
        self.retry = Backoff(backoff_base, backoff_cap)
        self._send: Send = send or requests_send
        self._stop = threading.Event()
        # The default sleep wakes at close(): a retry waiting minutes never holds the station's exit.
        self._sleep: Callable[[float], object] = sleep or self._stop.wait
        # The sender: one thread, started with the first message, `max_queue` messages waiting at most.
        self._worker = Worker("case-notifier", max_inbox=max_queue)
        self.max_queue = max_queue
        self.sent = 0
        self.failed = 0  # gave up after `attempts` tries
        self.dropped = 0  # the queue was full, or the notifier closed
        self.last_error: str | None = None
        self.last_error_at: datetime | None = None

    # ----- the caller's side -----
    def wants(self, case: ExceptionCase) -> bool:
        """Routed to a configured role, and a supervisor call or of a configured severity."""
        return str(case.route) in self.routes and (case.tag == SUPERVISOR_CALL or str(case.severity) in self.severities)

    def notify(self, case: ExceptionCase) -> None:
        """Queue the message for a case `wants` (new, or a supervisor called again); returns at once."""
        if not self.wants(case):
            return
        message = _Message(int(case.id), with_mentions(case_message(case), self.at_mobiles))
        if self._stop.is_set():
            self._drop(message, "the notifier is closed")
            return
        self._worker.start()
        if not self._worker.post(lambda: self._send_one(message)):
            self._drop(message, f"the queue is full ({self.max_queue} waiting)")

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued message was sent or given up (tests, shutdown); True if done."""
        return self._worker.wait_idle(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the sender; messages still waiting are logged and counted as dropped."""
        self._stop.set()
        self._worker.stop(timeout, drain=True)  # each waiting message sees the stop and is dropped

    # ----- the sender thread -----
    def _send_one(self, message: _Message) -> None:
        if self._stop.is_set():
            self._drop(message, "the notifier closed before it was sent")
        else:
            self._deliver(message)

    def _deliver(self, message: _Message) -> None:
        error = ""
        for attempt in range(1, self.attempts + 1):
            url = self.url
            if self.secret:  # signed per try: DingTalk refuses a timestamp more than an hour old
                now = self.clock.now().timestamp() if self.clock is not None else time.time()
                url = dingtalk_signed_url(url, self.secret, int(now * 1000))
            try:
                self._send(url, message.body)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                log.warning("case %s notification, try %d/%d failed: %s", message.case_id, attempt,
                            self.attempts, error)
                if attempt < self.attempts and not self._stop.is_set():
                    self._sleep(self.retry.delay(attempt))
                    if self._stop.is_set():
                        break
                continue
            self.sent += 1
            return
        self.failed += 1
        self._record_error(error)
        log.error("case %s notification given up after %d tries (%s): %s", message.case_id, self.attempts,
                  error, message.body["text"]["content"])

    def _drop(self, message: _Message, why: str) -> None:
        self.dropped += 1
        self._record_error(why)
        log.error("case %s notification dropped, %s: %s", message.case_id, why, message.body["text"]["content"])

    def _record_error(self, error: str) -> None:
        self.last_error = error
        self.last_error_at = self.clock.now() if self.clock is not None else None
