"""Logistics passports: compact Ed25519 tokens that fit a version-10-M QR and reject any alteration."""

from __future__ import annotations

import base64
import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
import qrcode
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st
from qrcode.constants import ERROR_CORRECT_M

from app import cli
from app.audit import verify_chain
from app.cli_logistics import EXIT_PASSPORT_REJECTED, register
from app.config import set_setting
from app.keys import (
    PRIVATE_KEY_FILENAME,
    PUBLIC_KEY_FILENAME,
    TRUSTED_KEYS_DIR,
    KeyFileError,
    key_id,
    load_or_create_station_key,
    load_trusted_keys,
    public_pem,
    verification_keys,
)
from app.pack.flow import PackFlow
from app.passport import (
    BAD_SIGNATURE,
    MAX_URL_BYTES,
    NOT_A_TOKEN,
    TRUNCATED,
    UNKNOWN_KEY,
    PassportError,
    mint_passport,
    passport_for_shipment,
    verify_token,
)
from app.store.models import AuditEntry, Shipment
from tests.helpers import scan, weigh

BASE = "https://passport.packbench-central.cn/v1"  # 40 characters: the longest base URL we budget for
ISSUED = datetime(2026, 11, 25, 2, 0, 7, tzinfo=UTC)
KEY = Ed25519PrivateKey.generate()
KEYS: dict[bytes, Ed25519PublicKey] = {key_id(KEY.public_key()): KEY.public_key()}
GENUINE = mint_passport(KEY, "HZ-WH01-BENCH-07", "3817264509182736451", "SF", "SFA123456789012", ISSUED,
                        base_url=BASE)
TOKEN = GENUINE.token
RAW = base64.urlsafe_b64decode(TOKEN + "=" * (-len(TOKEN) % 4))
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

# Long but realistic: 16-char station ids, 19-digit Taobao order ids, 15-char tracking numbers (17 for STO).
REALISTIC = [
    ("BENCH-1", "TB2026112500001", "SF", "SF1400000000000"),
    ("HZ-WH01-BENCH-07", "3817264509182736451", "SF", "SFA123456789012"),
    ("HZ-WH01-BENCH-07", "3817264509182736451", "YUNDA", "432109876543210"),
    ("HZ-WH01-BENCH-07", "3817264509182736451", "STO", "77123456789012345"),
    ("HZ-WH01-BENCH-07", "3817264509182736451", "JD", "JDVA12345678901"),
    ("HZ-WH01-BENCH-07", "PDD20261125-0003", "JT", "JT1234567890123"),
    ("HZ-WH01-BENCH-07", "#1004", "EMS", "PA12345678901"),
    ("SZ-LONGHUA-B12", "250304-117462380519238", "YTO", "YT1234567890123"),
]


def decoded(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def encoded(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def qr_version(text: str) -> int:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M)
    qr.add_data(text)
    qr.make(fit=True)
    return int(qr.version)


# ----- round trip and sizes -----
def test_round_trip_from_token_and_from_url() -> None:
    fields = verify_token(TOKEN, KEYS)
    assert (fields.station, fields.order_id, fields.carrier, fields.tracking_no) == (
        "HZ-WH01-BENCH-07", "3817264509182736451", "SF", "SFA123456789012")
    assert fields.issued_at == ISSUED and fields.passport_id == GENUINE.id and len(GENUINE.id) == 16
    assert verify_token(GENUINE.url, KEYS) == fields
    assert verify_token(f"  {GENUINE.url}?utm=x  ", KEYS) == fields
    assert GENUINE.url == f"{BASE}/p/{TOKEN}"


def test_odd_strings_round_trip() -> None:
    cases = [("杭州-1", "0001234", "ACME", "sf-lower-case"), ("T-1", "abc_#.-Z", "ZTO", "7312345678901"),
             ("S", "0", "EMS", "9")]
    for station, order_id, carrier, tracking in cases:
        p = mint_passport(KEY, station, order_id, carrier, tracking, ISSUED, base_url="http://x.cn")
        f = verify_token(p.token, KEYS)
        assert (f.station, f.order_id, f.carrier, f.tracking_no) == (station, order_id, carrier, tracking)


def test_minting_is_deterministic_for_one_passport_id() -> None:
    again = mint_passport(KEY, "HZ-WH01-BENCH-07", "3817264509182736451", "SF", "SFA123456789012", ISSUED,
                          base_url=BASE, passport_id=GENUINE.id)
    assert again.token == TOKEN and again.url == GENUINE.url
    other = mint_passport(KEY, "HZ-WH01-BENCH-07", "3817264509182736451", "SF", "SFA123456789012", ISSUED,
                          base_url=BASE)
    assert other.id != GENUINE.id and other.token != TOKEN


@pytest.mark.parametrize(("station", "order_id", "carrier", "tracking"), REALISTIC)
def test_url_fits_a_version_10_qr_at_level_m(station: str, order_id: str, carrier: str, tracking: str) -> None:
    passport = mint_passport(KEY, station, order_id, carrier, tracking, ISSUED, base_url=BASE)
    assert len(passport.url.encode()) <= MAX_URL_BYTES
    assert qr_version(passport.url) <= 10
    assert verify_token(passport.url, KEYS).order_id == order_id


def test_213_bytes_is_the_version_10_m_limit_and_longer_urls_are_refused() -> None:
    assert qr_version("h" * MAX_URL_BYTES) == 10 and qr_version("h" * (MAX_URL_BYTES + 1)) == 11
    long_base = "https://" + "x" * 80 + ".example.com"
    with pytest.raises(PassportError, match="shorten the base URL"):
        mint_passport(KEY, "HZ-WH01-BENCH-07", "3817264509182736451", "SF", "SFA123456789012", ISSUED,
                      base_url=long_base)
    with pytest.raises(PassportError, match="longer than 63"):
        mint_passport(KEY, "S", "x" * 64, "SF", "SF1400000000000", ISSUED, base_url=BASE)
    with pytest.raises(PassportError, match="base URL"):
        mint_passport(KEY, "S", "1", "SF", "SF1400000000000", ISSUED, base_url="ftp://x")


# ----- tampering -----
def test_every_single_bit_flip_of_the_bytes_fails() -> None:
    for position in range(len(RAW)):
        for bit in range(8):
            altered = bytearray(RAW)
            altered[position] ^= 1 << bit
            with pytest.raises(PassportError):
                verify_token(encoded(bytes(altered)), KEYS)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_flipping_any_byte_of_a_token_makes_verification_fail(data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(RAW) - 1), label="position")
    mask = data.draw(st.integers(1, 255), label="xor mask")
    altered = bytearray(RAW)
    altered[position] ^= mask
    with pytest.raises(PassportError):
        verify_token(encoded(bytes(altered)), KEYS)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_changing_any_character_of_the_text_makes_verification_fail(data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(TOKEN) - 1), label="position")
    replacement = data.draw(st.characters(codec="utf-8").filter(lambda c: c != TOKEN[position]),
                            label="replacement")
    altered = TOKEN[:position] + replacement + TOKEN[position + 1:]
    with pytest.raises(PassportError):
        verify_token(altered, KEYS)


def test_every_alphabet_substitution_in_the_text_fails() -> None:
    # Includes the unused low bits of the last character: only the canonical encoding is accepted.
    for position, original in enumerate(TOKEN):
        for replacement in ALPHABET:
            if replacement != original:
                with pytest.raises(PassportError):
                    verify_token(TOKEN[:position] + replacement + TOKEN[position + 1:], KEYS)


def test_truncation_at_every_length_fails() -> None:
    for n in range(len(TOKEN)):
        with pytest.raises(PassportError):
            verify_token(TOKEN[:n], KEYS)
        with pytest.raises(PassportError):
            verify_token(f"{BASE}/p/{TOKEN[:n]}", KEYS)
    for n in range(len(RAW)):
        with pytest.raises(PassportError) as err:
            verify_token(encoded(RAW[:n]), KEYS)
        assert err.value.reason in (TRUNCATED, NOT_A_TOKEN), (n, err.value)
    with pytest.raises(PassportError) as err:
        verify_token(encoded(RAW[:-1]), KEYS)
    assert err.value.reason == TRUNCATED
    with pytest.raises(PassportError) as err:
        verify_token(encoded(RAW + b"\0"), KEYS)
    assert err.value.reason == NOT_A_TOKEN


def test_reasons_for_foreign_keys_and_junk() -> None:
    other = Ed25519PrivateKey.generate()
    forged = mint_passport(other, "HZ-WH01-BENCH-07", "3817264509182736451", "SF", "SFA123456789012", ISSUED,
                           base_url=BASE)
    with pytest.raises(PassportError) as err:
        verify_token(forged.token, KEYS)
    assert err.value.reason == UNKNOWN_KEY
    # A forger who copies our key id still needs our private key.
    impostor = {key_id(other.public_key()): KEY.public_key()}
    with pytest.raises(PassportError) as err:
        verify_token(forged.token, impostor)
    assert err.value.reason == BAD_SIGNATURE
    assert verify_token(forged.token, {key_id(other.public_key()): other.public_key()}).tracking_no
    for junk in ("", "hello world", "SF1400000000000!", "https://x.cn/p/", "AAAA"):
        with pytest.raises(PassportError):
            verify_token(junk, KEYS)


# ----- keys -----
def test_station_key_is_created_once_private_and_reused(tmp_path: Path) -> None:
    first = load_or_create_station_key(tmp_path)
    private = tmp_path / PRIVATE_KEY_FILENAME
    if os.name == "posix":
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert (tmp_path / PUBLIC_KEY_FILENAME).read_bytes() == public_pem(first.public_key())
    second = load_or_create_station_key(tmp_path)
    assert public_pem(second.public_key()) == public_pem(first.public_key())
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files left
    assert set(verification_keys(tmp_path)) == {key_id(first.public_key())}


def test_trusted_keys_are_loaded_and_bad_files_named(tmp_path: Path) -> None:
    other = Ed25519PrivateKey.generate()
    folder = tmp_path / TRUSTED_KEYS_DIR
    folder.mkdir()
    (folder / "bench-2.pem").write_bytes(public_pem(other.public_key()))
    assert set(load_trusted_keys(tmp_path)) == {key_id(other.public_key())}
    (folder / "broken.pem").write_text("not a key")
    with pytest.raises(KeyFileError, match=r"broken\.pem"):
        load_trusted_keys(tmp_path)


def test_corrupt_station_key_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / PRIVATE_KEY_FILENAME).write_text("-----BEGIN PRIVATE KEY-----\ngarbage\n")
    with pytest.raises(KeyFileError, match="restore it from a backup"):
        load_or_create_station_key(tmp_path)


# ----- the shipment's passport -----
def ship_one(flow: PackFlow) -> Shipment:
    from app.demo import product_barcode

    scan(flow, "B-1001")
    scan(flow, "TB2026112500002")
    assert scan(flow, product_barcode("MUG-CER-01")).event == "items_complete"
    out = weigh(flow, 470)
    assert out is not None and out.event == "label_queued"
    return Shipment.get()  # type: ignore[no-any-return]


def test_passport_for_shipment_mints_once_and_reprints_the_same(flow: PackFlow, tmp_path: Path) -> None:
    key = load_or_create_station_key(tmp_path / "keys")
    shipment = ship_one(flow)
    url = passport_for_shipment(flow.store, key, BASE, shipment, clock=flow.clock)
    stored = Shipment.get_by_id(shipment.id)
    assert stored.passport_id and shipment.passport_id == stored.passport_id
    fields = verify_token(url, {key_id(key.public_key()): key.public_key()})
    assert (fields.passport_id, fields.station, fields.order_id, fields.tracking_no, fields.carrier) == (
        stored.passport_id, "T-1", "TB2026112500002", stored.tracking_no, "SF")
    # A reprint (a fresh Shipment object, even after a restart) shows the same passport.
    assert passport_for_shipment(flow.store, key, BASE, Shipment.get_by_id(shipment.id), clock=flow.clock) == url
    minted = AuditEntry.select().where(AuditEntry.kind == "passport.minted")
    assert minted.count() == 1 and json.loads(minted.get().payload)["passport_id"] == stored.passport_id
    assert verify_chain().ok


# ----- CLI -----
def packbench(argv: list[str]) -> int:
    parser, sub = cli.build_parser()
    if "passport" not in sub.choices:
        register(sub)
    return cli.run(parser.parse_args(argv))


def test_cli_verify_genuine_forged_and_trusted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "station"
    assert packbench(["--data-dir", str(data), "passport", "key"]) == 0
    assert "key id" in capsys.readouterr().out
    key = load_or_create_station_key(data)
    passport = mint_passport(key, "BENCH-1", "TB2026112500001", "SF", "SF1400000000000", ISSUED, base_url=BASE)

    assert packbench(["--data-dir", str(data), "passport", "verify", passport.url]) == EXIT_PASSPORT_REJECTED
    assert "not this station's server http://localhost:8700" in capsys.readouterr().err  # never enrolled
    set_setting(data, "passport_base_url", BASE)
    for elsewhere in (passport.url.replace("passport.packbench-central.cn", "packbench-central.cn.evil.example"),
                      passport.url.replace("https://", "http://"), passport.url.replace("/v1/", "/v2/")):
        assert packbench(["--data-dir", str(data), "passport", "verify", elsewhere]) == EXIT_PASSPORT_REJECTED
        assert "passport rejected: the URL points at" in capsys.readouterr().err
    same = passport.url.replace("passport.packbench-central.cn", "PASSPORT.packbench-central.cn:443")
    assert packbench(["--data-dir", str(data), "passport", "verify", same]) == 0
    capsys.readouterr()
    assert packbench(["--data-dir", str(data), "passport", "verify", passport.url]) == 0
    out = capsys.readouterr().out
    assert "genuine, signed by this station" in out and "TB2026112500001" in out and "10:00:07" in out

    assert packbench(["--data-dir", str(data), "passport", "verify", passport.token, "--json"]) == 0
    fields = json.loads(capsys.readouterr().out)
    assert fields["tracking_no"] == "SF1400000000000" and fields["passport_id"] == passport.id
    assert fields["issued_at"] == "2026-11-25T02:00:07.000Z"

    altered = passport.token[:10] + ("A" if passport.token[10] != "A" else "B") + passport.token[11:]
    for bad in (altered, passport.token[:-3]):
        assert packbench(["--data-dir", str(data), "passport", "verify", bad]) == EXIT_PASSPORT_REJECTED
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.startswith("packbench: passport rejected: ")

    other = Ed25519PrivateKey.generate()
    foreign = mint_passport(other, "BENCH-2", "TB2026112500009", "SF", "SF1400000000009", ISSUED, base_url=BASE)
    assert packbench(["--data-dir", str(data), "passport", "verify", foreign.token]) == EXIT_PASSPORT_REJECTED
    assert "unknown key" in capsys.readouterr().err
    (data / TRUSTED_KEYS_DIR).mkdir()
    (data / TRUSTED_KEYS_DIR / "bench-2.pem").write_bytes(public_pem(other.public_key()))
    assert packbench(["--data-dir", str(data), "passport", "verify", foreign.token]) == 0
    assert "signed by trusted key" in capsys.readouterr().out


@pytest.mark.parametrize(("token", "chinese"), [
    ("garbage", "物流护照校验未通过：不支持的护照版本：129"),
    ("https://x/p/", "物流护照校验未通过：不是物流护照令牌：应为 base64url 文本"),
    ("AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "物流护照校验未通过：不是物流护照令牌：数字字段无效"),
])
def test_a_rejected_passports_reason_is_worded_in_the_clis_language(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], token: str,
        chinese: str) -> None:
    # The reasons were English f-strings: '物流护照校验未通过：unsupported passport version: 129'.
    from main import main
    from tests.test_cli_language import set_locale

    set_locale(monkeypatch, LANG="zh_CN.UTF-8")
    assert main(["--data-dir", str(tmp_path), "passport", "verify", token]) == EXIT_PASSPORT_REJECTED
    assert capsys.readouterr().err == f"packbench: {chinese}\n"
