"""HTTP client of the central server (docs/architecture.md §10.1): signed requests, typed answers, one error type.

Every request is signed over the exact bytes sent: the body, and the path with its query string as
it goes on the wire (the query is encoded here, never by `requests`, so what is signed is what the
server reads). Every failure is a `SyncError` saying whether trying again later can help:

    kind          retryable  when
    unreachable   yes        connection refused or reset, DNS, timeout
    server        yes        HTTP 5xx, 429
    garbage       yes        a body that is not JSON or not the protocol's shape (first 200 chars kept)
    auth          no         HTTP 401/403: the station's enrollment is refused; needs an admin
    refused       no         any other 4xx: the server will not take this request as it is

Nothing here retries: the caller (the worker) decides when to try again, and the outbox event id
makes a resend after an unknown outcome harmless.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import urlencode, urlsplit

import requests
from pydantic import BaseModel, ValidationError

from app.clock import Clock, SystemClock, iso
from app.errors import PackBenchError
from app.i18n import N_, Phrase, Words
from protocol import (
    API,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_STATION,
    HEADER_TIMESTAMP,
    MAX_BATCH,
    MAX_PAGE,
    AuditHead,
    CaseChangeOut,
    EnrollRequest,
    EnrollResponse,
    Event,
    EventBatch,
    EventBatchResult,
    OrderOut,
    Page,
    ProductOut,
    RuleSetOut,
    SupervisorCallsOut,
    TrackingEventOut,
    WaybillAllocateRequest,
    WaybillAllocation,
    sign,
)
from sync.credentials import SyncCredentials

ErrorKind = Literal["unreachable", "server", "garbage", "auth", "refused"]
DEFAULT_TIMEOUT = (5.0, 60.0)  # (connect, read) seconds: a batch of 500 may take the server a while
SNIPPET = 200
USER_AGENT = "PackBench-station/1"

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


SERVER_URL = N_("server URL must be http(s)://host[:port][/prefix], not {given!r}")
ENROLL_TOKEN = N_("--token is not an enrollment token: one is 8 to 200 characters, as `packbench server station-token` "
                  "prints it")
STATION_NAME = N_("the station name {given!r} must be 1 to 64 characters (--name, or station in station.toml)")
AUTH_REFUSED = N_("{what}: the server refuses this station (HTTP {code}: {detail}); an admin must check "
                  "its enrollment (packbench station enroll)")


class SyncError(PackBenchError):
    """A request that did not succeed; `str()` and `reason` are its English line (the sync state, logs),
    `text(lang)` the line in a person's language."""

    def __init__(self, reason: str | Words, *, retryable: bool, kind: ErrorKind, status: int | None = None,
                 **values: Any) -> None:
        super().__init__(reason, **values)
        self.reason = self.words.plain()
        self.retryable = retryable
        self.kind: ErrorKind = kind
        self.status = status

    @property
    def needs_admin(self) -> bool:
        """The server refuses this station's credentials: retrying cannot help until they change."""
        return self.kind == "auth"


@dataclass(frozen=True)
class Fetched(Generic[T]):
    """One pulled page and the SHA-256 of the bytes it came in (named in the audit entry)."""

    page: Page[T]
    sha256: str


def _snippet(body: bytes) -> str:
    text = body[:SNIPPET].decode("utf-8", errors="replace")
    return text.replace("\n", " ").replace("\r", " ")


def _detail(body: bytes) -> str:
    """The server's own reason (FastAPI's `{"detail": ...}`), else the start of the body."""
    try:
        data = json.loads(body)
    except ValueError:
        return _snippet(body) or "no reason given"
    if isinstance(data, dict) and "detail" in data:
        detail = data["detail"]
        return detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False)[:SNIPPET]
    return _snippet(body)


def _classify(response: requests.Response, what: str) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    body = response.content
    if status in (401, 403):
        raise SyncError(AUTH_REFUSED,
                        retryable=False, kind="auth", status=status, what=what, code=status, detail=_detail(body))
    if status >= 500 or status == 429:
        raise SyncError(N_("{what}: server error HTTP {code}: {detail}"), retryable=True, kind="server",
                        status=status, what=what, code=status, detail=_snippet(body))
    raise SyncError(N_("{what}: the server refused the request (HTTP {code}: {detail})"),
                    retryable=False, kind="refused", status=status, what=what, code=status, detail=_detail(body))


def _parse(model: type[M], response: requests.Response, what: str) -> M:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        problems = exc.errors()
        msg = problems[0]["msg"] if problems else "invalid"
        where = ".".join(str(p) for p in problems[0]["loc"]) if problems else ""
        # pydantic's own words name the problem: a value, as the server's body is.
        raise SyncError(N_("{what}: unexpected answer from the server ({problem}): {detail}"),
                        retryable=True, kind="garbage", status=response.status_code, what=what,
                        problem=f"{msg} at {where}" if where else msg,
                        detail=repr(_snippet(response.content))) from None


def _send(session: requests.Session, method: str, url: str, body: bytes, headers: dict[str, str],
          timeout: float | tuple[float, float], what: str) -> requests.Response:
    try:
        return session.request(method, url, data=body or None, headers=headers, timeout=timeout,
                               allow_redirects=False)
    except requests.Timeout as exc:
        raise SyncError(N_("{what}: server did not answer in time ({detail})"), retryable=True,
                        kind="unreachable", what=what, detail=type(exc).__name__) from exc
    except requests.RequestException as exc:
        raise SyncError(N_("{what}: server unreachable ({detail})"), retryable=True, kind="unreachable", what=what,
                        detail=_short(exc)) from exc


def _short(exc: BaseException) -> str:
    """The innermost cause in one line: 'Connection refused', not three nested reprs."""
    inner: BaseException = exc
    while inner.__context__ is not None and inner.__context__ is not inner:
        inner = inner.__context__
    text = str(inner) or type(inner).__name__
    return text if len(text) <= SNIPPET else text[:SNIPPET] + "…"


class SyncClient:
    """One station's signed session with the central server. Not thread-safe: one owner (the worker)."""

    def __init__(self, base_url: str, station_id: str, secret: str, session: requests.Session | None = None,
                 timeout: float | tuple[float, float] = DEFAULT_TIMEOUT, clock: Clock | None = None,
                 nonce: Callable[[], str] | None = None) -> None:
        parts = urlsplit(base_url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(Phrase(SERVER_URL, {"given": base_url}))
        self.base_url = base_url.rstrip("/")
        self.prefix = parts.path  # a server behind a path prefix: the prefix is part of what is signed
        self.station_id = station_id
        self._secret = secret
        self._own_session = session is None
        self.session = session or requests.Session()
        self.timeout = timeout
        self.clock = clock or SystemClock()
        self._nonce = nonce or (lambda: secrets.token_hex(16))

    @classmethod
    def from_credentials(cls, creds: SyncCredentials, **kwargs: Any) -> SyncClient:
        return cls(creds.server, creds.station_id, creds.secret, **kwargs)

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SyncClient({self.base_url!r}, station={self.station_id!r})"

    # ----- signing -----
    def signed_headers(self, method: str, path_and_query: str, body: bytes) -> dict[str, str]:
        timestamp = str(int(self.clock.now().timestamp()))
        nonce = self._nonce()
        return {
            HEADER_STATION: self.station_id,
            HEADER_TIMESTAMP: timestamp,
            HEADER_NONCE: nonce,
            HEADER_SIGNATURE: sign(self._secret, method, path_and_query, timestamp, nonce, body),
        }

    def request(self, method: str, endpoint: str, *, params: dict[str, Any] | None = None,
                body: bytes = b"") -> requests.Response:
        """Send one signed request to `API + endpoint`; any failure is a SyncError."""
        path = f"{self.prefix}{API}{endpoint}"
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
        path_and_query = f"{path}?{query}" if query else path
        headers = self.signed_headers(method, path_and_query, body)
        headers["User-Agent"] = USER_AGENT
        if body:
            headers["Content-Type"] = "application/json"
        what = f"{method} {endpoint}"
        response = _send(self.session, method, f"{self._origin()}{path_and_query}", body, headers, self.timeout,
                         what)
        _classify(response, what)
        return response

    def _origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    # ----- endpoints -----
    def push(self, events: Sequence[Event], head: AuditHead | None = None,
             links: Sequence[AuditHead] = ()) -> EventBatchResult:
        """POST one batch (with the audit chain head, when given); the answer must speak for every
        event sent, and for no other."""
        if len(events) > MAX_BATCH:
            raise ValueError(f"a batch holds at most {MAX_BATCH} events, not {len(events)}")
        body = EventBatch(events=list(events), audit_head=head, audit_links=list(links)).model_dump_json(
            exclude_defaults=head is None).encode("utf-8")
        response = self.request("POST", "/events", body=body)
        result = _parse(EventBatchResult, response, "POST /events")
        sent = {e.id for e in events}
        answered = [r.id for r in result.results]
        if set(answered) != sent or len(answered) != len(sent):
            raise SyncError(N_("POST /events: the server answered for {answered} of {sent} events sent (and {extra} "
                               "not sent); the batch will be sent again"),
                            retryable=True, kind="garbage", status=response.status_code,
                            answered=len(set(answered) & sent), sent=len(sent), extra=len(set(answered) - sent))
        return result

    def _page(self, model: type[Page[T]], endpoint: str, cursor: str | None, limit: int) -> Fetched[T]:
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"page limit must be 1..{MAX_PAGE}, not {limit}")
        response = self.request("GET", endpoint, params={"cursor": cursor or None, "limit": limit})
        page = _parse(model, response, f"GET {endpoint}")
        return Fetched(page, hashlib.sha256(response.content).hexdigest())

    def orders(self, cursor: str | None, limit: int = MAX_PAGE) -> Fetched[OrderOut]:
        return self._page(Page[OrderOut], "/orders", cursor, limit)

    def products(self, cursor: str | None, limit: int = MAX_PAGE) -> Fetched[ProductOut]:
        return self._page(Page[ProductOut], "/products", cursor, limit)

    def tracking(self, cursor: str | None, limit: int = MAX_PAGE) -> Fetched[TrackingEventOut]:
        return self._page(Page[TrackingEventOut], "/tracking", cursor, limit)

    def cases(self, cursor: str | None, limit: int = MAX_PAGE) -> Fetched[CaseChangeOut]:
        return self._page(Page[CaseChangeOut], "/cases", cursor, limit)

    def allocate_waybills(self, carrier: str, count: int) -> WaybillAllocation:
        body = WaybillAllocateRequest(carrier=carrier, count=count).model_dump_json().encode("utf-8")
        return _parse(WaybillAllocation, self.request("POST", "/waybills/allocate", body=body),
                      "POST /waybills/allocate")

    def rules(self) -> RuleSetOut:
        """The rule set the server serves (version 0: none uploaded, the shipped defaults apply)."""
        return _parse(RuleSetOut, self.request("GET", "/rules"), "GET /rules")

    def supervisor_calls(self) -> SupervisorCallsOut:
        """The live supervisor calls of the warehouse's other stations."""
        return _parse(SupervisorCallsOut, self.request("GET", "/supervisor-calls"), "GET /supervisor-calls")


def enroll(server: str, token: str, station_name: str, public_key_pem: str, *,
           session: requests.Session | None = None,
           timeout: float | tuple[float, float] = DEFAULT_TIMEOUT) -> SyncCredentials:
    """Enroll this station once with a token an admin got from the server; returns what to keep, with the
    server's public URL (else `server`) as the base of the station's passport QR codes."""
    base = server.rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(Phrase(SERVER_URL, {"given": server}))
    try:
        request = EnrollRequest(token=token, station_name=station_name, passport_public_key=public_key_pem)
    except ValidationError as exc:  # what the person gave, said as such: not pydantic's report
        if any(error["loc"][:1] == ("token",) for error in exc.errors()):
            raise ValueError(Phrase(ENROLL_TOKEN)) from exc
        raise ValueError(Phrase(STATION_NAME, {"given": station_name})) from exc
    body = request.model_dump_json().encode("utf-8")
    owned = session is None
    http = session or requests.Session()
    try:
        response = _send(http, "POST", f"{base}{API}/enroll", body,
                         {"Content-Type": "application/json", "User-Agent": USER_AGENT}, timeout, "enroll")
        _classify(response, "enroll")
        answer = _parse(EnrollResponse, response, "enroll")
    finally:
        if owned:
            http.close()
    public = (answer.public_url or base).strip().rstrip("/")
    shape = urlsplit(public)
    if shape.scheme not in ("http", "https") or not shape.netloc or shape.query or shape.fragment:
        raise SyncError(N_("enroll: the server's public_url {url} is not an http(s) URL"),
                        retryable=False, kind="garbage", status=response.status_code, url=repr(public[:SNIPPET]))
    return SyncCredentials(server=base, station_id=answer.station_id, secret=answer.secret,
                           warehouse=answer.warehouse, station_name=station_name,
                           enrolled_at=iso(answer.server_time) if answer.server_time.tzinfo else
                           answer.server_time.isoformat(), public_url=public)
