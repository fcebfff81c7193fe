"""Station enrollment and request signatures (docs/architecture.md §10.1).

Enrollment: an admin issues a one-time token for a warehouse (`packbench server station-token`);
only its SHA-256 is stored. `POST /api/v1/enroll` claims it (an atomic UPDATE: two stations racing
for one token cannot both win), registers the station's passport public key, and answers the new
station id and its HMAC secret, once.

Every other `/api/v1` request is signed (`protocol.sign`). The checks, in this order, each
answered 401 with its reason: the four headers are present; the station is known and not revoked;
the timestamp is within `MAX_SKEW_SECONDS` either way; the signature matches the request target
as sent on the wire (raw path and query); the nonce was not used before by this station. Nonces
are stored with an expiry (the timestamp plus the skew window, after which the timestamp alone
refuses the request), so replay protection survives a restart. Every refusal is logged with the
station, the path and the reason.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import peewee as pw
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.clock import Clock, iso
from app.errors import BadValue, PackBenchError
from app.i18n import N_
from app.keys import key_id
from protocol import MAX_SKEW_SECONDS, EnrollRequest, EnrollResponse, sign, signature_matches
from server.db import ServerDb, has_nul
from server.models import EnrollmentToken, Station

log = logging.getLogger("server.auth")

WAREHOUSE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
NONCE_RE = re.compile(r"[!-~]{8,128}")  # printable ASCII, no spaces
NONCE_KEEP_SECONDS = MAX_SKEW_SECONDS + 60
NONCE_SWEEP_SECONDS = 60.0
SEEN_EVERY_SECONDS = 60  # a station's last_seen_at is written at most this often
NOT_SIGNED = "not signed by an enrolled station"  # unknown station and bad signature alike: ids stay secret
DEFAULT_TOKEN_TTL_HOURS = 72.0
MAX_TOKEN_TTL_HOURS = 24.0 * 366


class AuthError(PackBenchError):
    """A refused request: HTTP `status` (401 or 403) and the reason the client is told."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class StationIdentity:
    station_id: str
    name: str
    warehouse: str


@dataclass(frozen=True)
class SignedRequest:
    method: str
    target: str  # raw path and query, as on the wire
    station: str | None
    timestamp: str | None
    nonce: str | None
    signature: str | None
    body: bytes


def token_hash(token: str) -> str:
    return hashlib.sha256(token.strip().encode("utf-8")).hexdigest()


def check_warehouse(warehouse: str) -> str:
    if not WAREHOUSE_RE.fullmatch(warehouse):
        raise BadValue(N_("warehouse {warehouse!r}: use letters, digits, '_', '.', '-' (at most 64)"),
                       warehouse=warehouse)
    return warehouse


def issue_enrollment_token(sdb: ServerDb, warehouse: str, clock: Clock,
                           ttl_hours: float = DEFAULT_TOKEN_TTL_HOURS) -> tuple[str, datetime]:
    """A new one-time token for `warehouse`: (token, expires at). The token is not stored."""
    check_warehouse(warehouse)
    if not 0 < ttl_hours <= MAX_TOKEN_TTL_HOURS:  # also refuses nan and inf
        raise BadValue(N_("--ttl-hours must be more than 0 and at most {most:.0f} (a year), not {given}"),
                       most=MAX_TOKEN_TTL_HOURS, given=ttl_hours)
    # Hex, not base64url: a token starting with "-" would be read as an option by
    # `packbench station enroll --token …` (one time in 64), and hex survives any copy-paste.
    token = secrets.token_hex(24)
    now = clock.now()
    expires = now + timedelta(hours=ttl_hours)
    with sdb.connection(), sdb.write():
        EnrollmentToken.create(token_hash=token_hash(token), warehouse=warehouse, created_at=iso(now),
                               expires_at=iso(expires))
    log.info("enrollment token issued for warehouse %s, expires %s", warehouse, iso(expires))
    return token, expires


def _public_key(pem: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode("utf-8"))
    except (ValueError, TypeError, UnicodeError):
        raise AuthError(400, "passport_public_key is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise AuthError(400, "passport_public_key is not an Ed25519 key")
    return key


def enroll(sdb: ServerDb, request: EnrollRequest, clock: Clock, public_url: str = "") -> EnrollResponse:
    """Claim a one-time token and register the station; AuthError (401) says which check failed.
    The answer carries the server's `public_url`, the base of the station's passport QR codes."""
    if has_nul(request.station_name):
        raise AuthError(400, "station_name contains a NUL character")
    public = _public_key(request.passport_public_key)
    now = clock.now()
    digest = token_hash(request.token)
    with sdb.connection(), sdb.write():
        claimed = (EnrollmentToken.update(used_at=iso(now))
                   .where((EnrollmentToken.token_hash == digest) & EnrollmentToken.used_at.is_null()
                          & (EnrollmentToken.expires_at > iso(now)))
                   .execute())
        if claimed != 1:
            row = EnrollmentToken.get_or_none(EnrollmentToken.token_hash == digest)
            reason = ("unknown enrollment token" if row is None else
                      "enrollment token already used" if row.used_at else "enrollment token expired")
            raise AuthError(401, reason)
        row = EnrollmentToken.get(EnrollmentToken.token_hash == digest)
        secret = secrets.token_hex(32)
        for _ in range(5):
            station_id = f"ST-{secrets.token_hex(4).upper()}"
            if not Station.select().where(Station.station_id == station_id).exists():
                break
        pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        Station.create(station_id=station_id, name=request.station_name, warehouse=row.warehouse, secret=secret,
                       key_id=key_id(public).hex(), public_key=pem.decode("ascii"), enrolled_at=iso(now),
                       next_seq=1)
        EnrollmentToken.update(station_id=station_id).where(EnrollmentToken.id == row.id).execute()
    log.info("station %s (%s) enrolled in warehouse %s", station_id, request.station_name, row.warehouse)
    return EnrollResponse(station_id=station_id, secret=secret, warehouse=row.warehouse, server_time=now,
                          public_url=public_url or None)


@dataclass(frozen=True)
class Signer:
    """A station that may sign, as looked up before its request's body is read."""

    station_id: str
    name: str
    warehouse: str
    secret: str
    revoked_at: str | None


class Verifier:
    """Checks signed requests against the station table and the nonce table, in two steps: `signer`
    before the body is read (headers, clock, station), `verify` after (signature, revocation, nonce),
    so an unknown station costs the server no body at all."""

    def __init__(self, sdb: ServerDb, clock: Clock) -> None:
        self.sdb = sdb
        self.clock = clock
        self._last_sweep = 0.0

    def signer(self, req: SignedRequest) -> Signer:
        for header, value in (("X-Station", req.station), ("X-Timestamp", req.timestamp),
                              ("X-Nonce", req.nonce), ("X-Signature", req.signature)):
            if not value:
                raise AuthError(401, f"missing header {header}")
        assert req.station and req.timestamp and req.nonce
        if not re.fullmatch(r"\d{1,12}", req.timestamp):
            raise AuthError(401, "X-Timestamp must be Unix seconds")
        skew = int(req.timestamp) - int(self.clock.now().timestamp())
        if abs(skew) > MAX_SKEW_SECONDS:
            ahead = "ahead of" if skew > 0 else "behind"
            raise AuthError(401, f"clock skew: request time is {abs(skew)} s {ahead} the server "
                                 f"(at most {MAX_SKEW_SECONDS} s allowed)")
        if not NONCE_RE.fullmatch(req.nonce):
            raise AuthError(401, "X-Nonce must be 8 to 128 printable ASCII characters")
        with self.sdb.connection():
            station = Station.get_or_none(Station.station_id == req.station)
        if station is None:
            raise AuthError(401, NOT_SIGNED)
        return Signer(station.station_id, station.name, station.warehouse, station.secret, station.revoked_at)

    def verify(self, signer: Signer, req: SignedRequest) -> StationIdentity:
        """The signature over the whole request; a revoked station is told so only once it proved
        who it is (anyone else gets the same 401 as for an unknown station)."""
        assert req.timestamp and req.nonce and req.signature
        expected = sign(signer.secret, req.method, req.target, req.timestamp, req.nonce, req.body)
        if not signature_matches(expected, req.signature.strip().lower()):
            raise AuthError(401, NOT_SIGNED)
        if signer.revoked_at:
            raise AuthError(403, f"station {signer.station_id} was revoked at {signer.revoked_at}; "
                                 "an admin must enroll it again")
        with self.sdb.connection():
            self._use_nonce(signer.station_id, req.nonce, int(req.timestamp), self.clock.now())
        return StationIdentity(signer.station_id, signer.name, signer.warehouse)

    def _use_nonce(self, station_id: str, nonce: str, timestamp: int, now: datetime) -> None:
        expires = datetime.fromtimestamp(timestamp + NONCE_KEEP_SECONDS, now.tzinfo)
        if not self.sdb.postgres:
            # This connection only records the nonce: no fsync for it. A power cut may forget the
            # nonces of the last moments, reopening replay for requests already served, which are
            # idempotent (events apply at most once; pulls only read) — not worth a disk flush each.
            self.sdb.execute("PRAGMA synchronous = NORMAL")
        try:
            with self.sdb.write():
                self.sdb.execute('INSERT INTO "nonce" ("station_id", "nonce", "expires_at") VALUES (?, ?, ?)',
                                 (station_id, nonce, iso(expires)))
                self.sdb.execute('UPDATE "station" SET "last_seen_at" = ? WHERE "station_id" = ? AND '
                                 '("last_seen_at" IS NULL OR "last_seen_at" < ?)',
                                 (iso(now), station_id, iso(now - timedelta(seconds=SEEN_EVERY_SECONDS))))
        except pw.IntegrityError:
            raise AuthError(401, "nonce already used (replayed request)") from None
        if time.monotonic() - self._last_sweep > NONCE_SWEEP_SECONDS:
            self._last_sweep = time.monotonic()
            with self.sdb.write():
                self.sdb.execute('DELETE FROM "nonce" WHERE "expires_at" < ?', (iso(now),))
