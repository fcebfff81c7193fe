"""The logistics passport (docs/architecture.md §6.5): a compact Ed25519-signed token in the label's QR code.

The QR holds `{base}/p/{token}`; it must fit a version-10 QR at error correction M, which holds 213
bytes in byte mode. An Ed25519 signature alone is 64 bytes (86 base64 characters), so the payload
is binary and packed:

    version      1 byte   (1)
    key id       4 bytes  first bytes of SHA-256 of the signer's raw public key (`app.keys.key_id`)
    passport id 10 bytes  random; shown as 16 base32 characters
    issued at    4 bytes  unsigned Unix seconds, big-endian (good until 2106)
    station      string
    carrier      1 byte   index into CARRIERS_V1, or 0 followed by a string
    order id     string
    tracking no  string
    signature   64 bytes  Ed25519 over DOMAIN + everything above

A string is one header byte (2 bits of type, 6 bits of length 0-63) and its body: type 0 = decimal
digits packed as one big-endian integer (a 19-digit Taobao order id takes 8 bytes), type 1 =
characters of BASE40 packed three to two bytes (`SF1234567890123` takes 10), type 2 = UTF-8 bytes.
The token is the payload in base64url without padding; only the canonical encoding is accepted, so
changing any character of the text, not just of the bytes, fails verification.

Never change CARRIERS_V1 or the layout: add version 2 instead (old labels stay in the field for years).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.audit import record_fact
from app.clock import Clock, SystemClock, iso, parse_iso
from app.errors import ForgedError
from app.i18n import N_, Phrase, Words
from app.keys import KEY_ID_BYTES, key_id
from app.store import Store
from app.store.models import Shipment

VERSION = 1
DOMAIN = b"PackBench passport\x00"  # signed before the payload: this key's signatures mean nothing elsewhere
PASSPORT_ID_BYTES = 10
SIGNATURE_BYTES = 64
MAX_URL_BYTES = 213  # byte-mode capacity of a version-10 QR code at error correction M
CARRIERS_V1 = ("SF", "ZTO", "YTO", "STO", "YUNDA", "JD", "JT", "EMS")
BASE40 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_#."
_BASE40_INDEX = {ch: i for i, ch in enumerate(BASE40)}
_DIGITS, _B40, _UTF8 = 0, 1, 2
_MAX_STRING = 63
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]*")
_HEAD = 1 + KEY_ID_BYTES + PASSPORT_ID_BYTES + 4

NOT_A_TOKEN = N_("not a passport token")
TRUNCATED = N_("truncated")
UNKNOWN_KEY = N_("unknown key")
BAD_SIGNATURE = N_("signature does not match")
UNSUPPORTED_VERSION = N_("unsupported passport version")
CANNOT_MINT = N_("cannot mint a passport")


class PassportError(ForgedError):
    """Any failure to mint or verify a passport; `reason` is one of the constants above."""

    def __init__(self, reason: str, detail: str | Words = "") -> None:
        # Words a verifier reads (`packbench passport verify`) in the CLI's language; str() stays English.
        super().__init__(Phrase(N_("{reason}: {detail}"), {"reason": Phrase(reason), "detail": detail}) if detail
                         else Phrase(reason))
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class PassportFields:
    passport_id: str
    station: str
    order_id: str
    carrier: str
    tracking_no: str
    issued_at: datetime
    key_id: bytes
    version: int = VERSION

    def as_json(self) -> dict[str, Any]:
        return {"version": self.version, "passport_id": self.passport_id, "station": self.station,
                "order_id": self.order_id, "carrier": self.carrier, "tracking_no": self.tracking_no,
                "issued_at": iso(self.issued_at), "key_id": self.key_id.hex()}


@dataclass(frozen=True)
class Passport:
    id: str
    token: str
    url: str
    fields: PassportFields


# ----- minting -----
def new_passport_id() -> str:
    return _id_text(os.urandom(PASSPORT_ID_BYTES))


def mint_passport(key: Ed25519PrivateKey, station: str, order_id: str, carrier: str, tracking_no: str,
                  issued_at: datetime, *, base_url: str, passport_id: str | None = None) -> Passport:
    """Sign a passport. Deterministic for a given id: Ed25519 signatures are, and so is the encoding,
    so minting the same passport again (a reprint) gives the same token and URL."""
    pid = passport_id or new_passport_id()
    seconds = int(issued_at.timestamp())
    if issued_at.tzinfo is None or not 0 <= seconds < 2**32:
        raise PassportError(CANNOT_MINT, f"issued-at {issued_at!r} must be an aware time between 1970 and 2106")
    kid = key_id(key.public_key())
    payload = b"".join((
        bytes([VERSION]), kid, _id_bytes(pid), seconds.to_bytes(4, "big"),
        _pack_string(station, "station"), _pack_carrier(carrier),
        _pack_string(order_id, "order id"), _pack_string(tracking_no, "tracking number"),
    ))
    token = _b64(payload + key.sign(DOMAIN + payload))
    url = passport_url(base_url, token)
    if len(url.encode()) > MAX_URL_BYTES:
        raise PassportError(CANNOT_MINT, f"the URL is {len(url.encode())} bytes; a version-10 QR at level M "
                                         f"holds {MAX_URL_BYTES}: shorten the base URL ({base_url})")
    fields = PassportFields(pid, station, order_id, carrier, tracking_no,
                            datetime.fromtimestamp(seconds, UTC), kid)
    return Passport(pid, token, url, fields)


def passport_url(base_url: str, token: str) -> str:
    base = base_url.strip().rstrip("/")
    if not re.fullmatch(r"https?://[!-~]+", base) or any(ch in base for ch in "?#"):
        raise PassportError(CANNOT_MINT, f"base URL {base_url!r} must be http(s)://host[/path], no query")
    return f"{base}/p/{token}"


def passport_for_shipment(store: Store, key: Ed25519PrivateKey, base_url: str, shipment: Shipment, *,
                          station: str | None = None, clock: Clock | None = None, actor: str = "system") -> str:
    """The passport URL of a shipment's label: minted once, the same on every reprint.

    The passport id is stored on the shipment; the other fields and the issued-at time (the
    shipment's creation, to the second) come from the committed shipment, so re-minting reproduces
    the same token. The station is the one that packed it (its pack session), else `station`.
    """
    packed_by = shipment.session.station if shipment.session_id else station
    if not packed_by:
        raise PassportError(CANNOT_MINT, f"shipment {shipment.tracking_no} has no pack session; pass the station")
    issued = parse_iso(shipment.created_at)

    def mint(pid: str | None) -> Passport:
        return mint_passport(key, packed_by, shipment.order.order_id, shipment.carrier, shipment.tracking_no,
                             issued, base_url=base_url, passport_id=pid)

    stored = Shipment.select(Shipment.passport_id).where(Shipment.id == shipment.id).scalar()
    if stored:
        shipment.passport_id = stored
        return mint(stored).url
    now = (clock or SystemClock()).now()
    with store.atomic():
        stored = Shipment.select(Shipment.passport_id).where(Shipment.id == shipment.id).scalar()
        passport = mint(stored or None)
        if not stored:
            Shipment.update(passport_id=passport.id).where(Shipment.id == shipment.id).execute()
            record_minted(passport, actor, now)
    shipment.passport_id = passport.id
    return passport.url


def record_minted(passport: Passport, actor: str, at: datetime) -> None:
    """The audit entry of a passport put on a shipment (inside the transaction that stored its id)."""
    fields = passport.fields
    record_fact("passport.minted", actor, at, {
        "passport_id": passport.id, "tracking_no": fields.tracking_no, "order_id": fields.order_id,
        "station": fields.station, "key_id": fields.key_id.hex(),
    })


# ----- verifying -----
def extract_token(text: str) -> str:
    """The token from a token or a full passport URL (`…/p/TOKEN`, query and fragment ignored)."""
    text = text.strip()
    if "/p/" in text:
        text = text.rsplit("/p/", 1)[1].split("?", 1)[0].split("#", 1)[0].rstrip("/")
    return text


def foreign_host(text: str, base_url: str) -> str | None:
    """Why a passport URL does not belong to the server at `base_url` (None if it does, or if `text` is a
    bare token): a genuine token copied behind another host name is a phishing page's trick."""
    text = text.strip()
    if "/p/" not in text:
        return None
    given, expected = _origin(text.rsplit("/p/", 1)[0]), _origin(base_url)
    if given == expected:
        return None
    return f"the URL points at {given[0]}://{given[1]}{given[2]}, not this station's server {base_url.rstrip('/')}"


def _origin(url: str) -> tuple[str, str, str]:
    """(scheme, host:port, path) with the default port and case made canonical."""
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    host = (parts.hostname or "").lower() + (f":{port}" if port and port != default else "")
    return parts.scheme.lower(), host, parts.path.rstrip("/")


def decode_token(text: str) -> tuple[PassportFields, bytes, bytes]:
    """Parse a token without checking its signature: (fields, signed payload, signature)."""
    token = extract_token(text)
    if not token or not _TOKEN_RE.fullmatch(token):
        raise PassportError(NOT_A_TOKEN, Phrase(N_("expected base64url text")))
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise PassportError(TRUNCATED, Phrase(N_("{count} characters cannot be a whole token"),
                                                 {"count": len(token)})) from None
    reader = _Reader(raw)
    version = reader.byte()
    if version != VERSION:
        raise PassportError(UNSUPPORTED_VERSION, str(version))
    kid = reader.take(KEY_ID_BYTES)
    pid = _id_text(reader.take(PASSPORT_ID_BYTES))
    issued = datetime.fromtimestamp(int.from_bytes(reader.take(4), "big"), UTC)
    station = reader.string()
    carrier = reader.carrier()
    order_id = reader.string()
    tracking_no = reader.string()
    payload_len = reader.pos
    signature = raw[payload_len:]
    if len(signature) < SIGNATURE_BYTES:
        raise PassportError(TRUNCATED, Phrase(N_("signature has {count} of {total} bytes"),
                                              {"count": len(signature), "total": SIGNATURE_BYTES}))
    if len(signature) > SIGNATURE_BYTES:
        raise PassportError(NOT_A_TOKEN, Phrase(N_("bytes after the signature")))
    if _b64(raw) != token:
        raise PassportError(NOT_A_TOKEN, Phrase(N_("not in canonical base64url")))
    fields = PassportFields(pid, station, order_id, carrier, tracking_no, issued, kid, version)
    return fields, raw[:payload_len], signature


def verify_token(token: str, public_keys: dict[bytes, Ed25519PublicKey]) -> PassportFields:
    """The passport's fields if the token is genuine and signed by one of `public_keys` (by key id);
    otherwise PassportError. Accepts the full URL too."""
    fields, payload, signature = decode_token(token)
    public = public_keys.get(fields.key_id)
    if public is None:
        raise PassportError(UNKNOWN_KEY, Phrase(N_("key id {key} is not this station's nor a trusted key"),
                                                {"key": fields.key_id.hex()}))
    try:
        public.verify(signature, DOMAIN + payload)
    except InvalidSignature:
        raise PassportError(BAD_SIGNATURE) from None
    return fields


# ----- encoding -----
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _id_text(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii").rstrip("=")


def _id_bytes(pid: str) -> bytes:
    try:
        raw = base64.b32decode(pid + "=" * (-len(pid) % 8))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != PASSPORT_ID_BYTES or _id_text(raw) != pid:
        raise PassportError(CANNOT_MINT, f"passport id {pid!r} is not {PASSPORT_ID_BYTES} bytes in base32")
    return raw


def _digit_bytes(n: int) -> int:
    largest: int = 10**n - 1
    return (largest.bit_length() + 7) // 8


def _pack_string(text: str, what: str) -> bytes:
    n = len(text)
    if n and n <= _MAX_STRING and text.isascii() and text.isdigit():
        return bytes([_DIGITS << 6 | n]) + int(text).to_bytes(_digit_bytes(n), "big")
    if n and n <= _MAX_STRING and all(ch in _BASE40_INDEX for ch in text):
        body = bytearray()
        for i in range(0, n, 3):
            value = 0
            for ch in text[i:i + 3]:
                value = value * 40 + _BASE40_INDEX[ch]
            body += value.to_bytes(1 if n - i == 1 else 2, "big")
        return bytes([_B40 << 6 | n]) + bytes(body)
    raw = text.encode("utf-8")
    if len(raw) > _MAX_STRING:
        raise PassportError(CANNOT_MINT, f"{what} {text[:20]!r}… is longer than {_MAX_STRING} bytes")
    return bytes([_UTF8 << 6 | len(raw)]) + raw


def _pack_carrier(carrier: str) -> bytes:
    if carrier in CARRIERS_V1:
        return bytes([CARRIERS_V1.index(carrier) + 1])
    return b"\x00" + _pack_string(carrier, "carrier")


class _Reader:
    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.raw):
            raise PassportError(TRUNCATED, Phrase(N_("ends after {count} bytes"), {"count": len(self.raw)}))
        chunk = self.raw[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def carrier(self) -> str:
        index = self.byte()
        if index == 0:
            return self.string()
        if index > len(CARRIERS_V1):
            raise PassportError(NOT_A_TOKEN, Phrase(N_("unknown carrier number {index}"), {"index": index}))
        return CARRIERS_V1[index - 1]

    def string(self) -> str:
        head = self.byte()
        kind, n = head >> 6, head & _MAX_STRING
        if kind == _DIGITS:
            value = int.from_bytes(self.take(_digit_bytes(n)), "big")
            if n == 0 or value >= 10**n:
                raise PassportError(NOT_A_TOKEN, Phrase(N_("bad number field")))
            return str(value).zfill(n)
        if kind == _B40:
            chars: list[str] = []
            for i in range(0, n, 3):
                group = min(3, n - i)
                value = int.from_bytes(self.take(1 if group == 1 else 2), "big")
                if value >= 40**group:
                    raise PassportError(NOT_A_TOKEN, Phrase(N_("bad text field")))
                chars += [BASE40[value // 40**k % 40] for k in reversed(range(group))]
            return "".join(chars)
        if kind == _UTF8:
            try:
                return self.take(n).decode("utf-8")
            except UnicodeDecodeError:
                raise PassportError(NOT_A_TOKEN, Phrase(N_("bad text field"))) from None
        raise PassportError(NOT_A_TOKEN, Phrase(N_("unknown field type {kind}"), {"kind": kind}))


class PassportIssuer:
    """Gives each shipment's label its passport URL: the station's key and base URL, bound once."""

    def __init__(self, store: Store, key: Ed25519PrivateKey, base_url: str, station: str, clock: Clock) -> None:
        self.store, self.key, self.base_url, self.station, self.clock = store, key, base_url, station, clock

    def mint_new(self, station: str, order_id: str, carrier: str, tracking_no: str, issued_at: datetime) -> Passport:
        """The passport of a shipment about to be created: signed, not stored. `PackFlow._ship` puts its
        id on the shipment row it inserts and calls `record_minted` in that same transaction, so the
        label path has no transaction (and no fsync) of its own for the passport, and reads nothing."""
        return mint_passport(self.key, station, order_id, carrier, tracking_no, issued_at, base_url=self.base_url)

    def __call__(self, shipment: Shipment) -> str:
        return passport_for_shipment(self.store, self.key, self.base_url, shipment, station=self.station,
                                     clock=self.clock)
