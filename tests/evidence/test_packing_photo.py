"""Packing photos: stored with the session, hash in the audit chain, in the evidence pack, never in the way."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

import pytest
from pypdf import PdfReader

from app.audit import verify_chain
from app.clock import FakeClock
from app.devices import CameraError, Scan
from app.evidence.photo import PackingPhotographer, StoredPhoto, store_packing_photo
from app.evidence.service import EvidenceSettings, build_evidence
from app.store import Store
from app.store.models import AuditEntry, PackSession
from drivers.camera import SimulatedCamera
from drivers.printers.preview import render_png
from tests.evidence.history import ORDER, History


def session_id() -> int:
    return int(PackSession.select(PackSession.id).order_by(PackSession.id.desc()).scalar())


def jpeg_images(path: Path) -> list[str]:
    """Names of the DCT (JPEG) image XObjects on each page: the label is a PNG (Flate), the photo a JPEG."""
    found = []
    for page in PdfReader(str(path)).pages:
        xobjects = page["/Resources"].get("/XObject", {})
        for name, ref in xobjects.items():
            obj = ref.get_object()
            filters = obj.get("/Filter")
            filters = list(filters) if isinstance(filters, list) else [filters]
            if obj.get("/Subtype") == "/Image" and "/DCTDecode" in filters:
                found.append(name)
    return found


def test_the_simulated_camera_draws_a_different_jpeg_each_time(clock: FakeClock) -> None:
    camera = SimulatedCamera(clock=clock)
    first = camera.capture("TB2026112500001")
    clock.advance(1)
    second = camera.capture("TB2026112500001")
    assert first.startswith(b"\xff\xd8\xff") and second.startswith(b"\xff\xd8\xff")
    assert first != second and camera.captures == 2


def test_a_still_is_stored_with_its_session_and_its_hash_audited(
        demo_store: Store, clock: FakeClock, history: History, data_dir: Path) -> None:
    sid = session_id()
    image = SimulatedCamera(clock=clock).capture(ORDER)
    photo = store_packing_photo(demo_store, clock, data_dir, sid, image, "王芳")
    assert photo.path == data_dir / "photos" / f"{clock.now():%Y-%m}" / f"{sid}.jpg"
    assert photo.path.read_bytes() == image
    entry = AuditEntry.get(AuditEntry.seq == photo.audit_seq)
    payload = json.loads(entry.payload)
    assert entry.kind == "photo.captured" and entry.actor == "王芳"
    assert payload["sha256"] == hashlib.sha256(photo.path.read_bytes()).hexdigest()
    assert (payload["session"], payload["order_id"], payload["file"]) == (sid, ORDER, photo.file)
    assert verify_chain().ok
    again = store_packing_photo(demo_store, clock, data_dir, sid, SimulatedCamera(clock=clock).capture(ORDER), "王芳")
    assert again.path.name == f"{sid}-2.jpg" and photo.path.read_bytes() == image  # never overwritten


def test_the_evidence_pack_includes_the_photo_and_checks_its_hash(
        demo_store: Store, clock: FakeClock, history: History, data_dir: Path, settings: EvidenceSettings,
        tmp_path: Path) -> None:
    photo = store_packing_photo(demo_store, clock, data_dir, session_id(), SimulatedCamera(clock=clock).capture(ORDER),
                                "王芳")
    [path] = build_evidence(demo_store, [ORDER], tmp_path / "p.pdf", render_label_png=render_png, settings=settings,
                            clock=clock)
    assert len(jpeg_images(path)) == 1
    text = PdfReader(str(path)).pages
    joined = "".join(p.extract_text() or "" for p in text)
    assert f"file matches audit entry #{photo.audit_seq}" in joined and photo.sha256 in joined.replace("\n", "")
    photo.path.write_bytes(photo.path.read_bytes() + b"edited")
    [altered] = build_evidence(demo_store, [ORDER], tmp_path / "a.pdf", render_label_png=render_png,
                               settings=settings, clock=clock)
    assert jpeg_images(altered) == []
    assert "PHOTO FILE ALTERED" in "".join(p.extract_text() or "" for p in PdfReader(str(altered)).pages)


class SlowCamera:
    name = "slow"

    def __init__(self, seconds: float, fail: bool = False) -> None:
        self.seconds, self.fail = seconds, fail
        self.inner = SimulatedCamera()

    def capture(self, caption: str = "") -> bytes:
        time.sleep(self.seconds)
        if self.fail:
            raise CameraError("camera http://cam/snap.jpg: no answer within 3 s")
        return self.inner.capture(caption)


def test_capture_is_off_the_scan_path_and_stores_through_post(
        demo_store: Store, clock: FakeClock, history: History, data_dir: Path) -> None:
    stored: list[StoredPhoto] = []
    done = threading.Event()
    posted: list[str] = []

    def post(fn: object) -> None:  # the runtime's `call`: here run at once, remembering the thread
        posted.append(threading.current_thread().name)
        fn()  # type: ignore[operator]

    def on_stored(photo: StoredPhoto) -> None:
        stored.append(photo)
        done.set()

    photographer = PackingPhotographer(SlowCamera(0.3), demo_store, clock, data_dir, post=post, on_stored=on_stored)
    try:
        started = time.perf_counter()
        photographer.request(session_id(), ORDER, "王芳")
        assert time.perf_counter() - started < 0.05  # the scan path does not wait for the camera
        assert done.wait(5)
    finally:
        photographer.close()
    assert posted == ["packing-photo"] and stored[0].order_id == ORDER and stored[0].path.exists()


def test_a_camera_error_is_reported_and_nothing_else_happens(
        demo_store: Store, clock: FakeClock, history: History, data_dir: Path) -> None:
    errors: list[str] = []
    reported = threading.Event()

    def on_error(message: str) -> None:
        errors.append(message)
        reported.set()

    before = AuditEntry.select().count()
    photographer = PackingPhotographer(SlowCamera(0.0, fail=True), demo_store, clock, data_dir, on_error=on_error)
    try:
        photographer.request(session_id(), ORDER, "王芳")
        assert reported.wait(5)
        assert photographer.capture_now(session_id(), ORDER, "王芳") is None
    finally:
        photographer.close()
    assert errors[0] == f"no packing photo of order {ORDER}: camera http://cam/snap.jpg: no answer within 3 s"
    assert AuditEntry.select().count() == before and not (data_dir / "photos").exists()
    bad = PackingPhotographer(SimulatedCamera(), demo_store, clock, data_dir, on_error=errors.append)
    assert bad.capture_now(999_999, ORDER, "王芳") is None and "no pack session 999999" in errors[-1]


def test_wired_to_the_station_runtime_the_still_follows_the_last_item(
        demo_store: Store, clock: FakeClock, data_dir: Path) -> None:
    """The wiring the composition root adds: an outcome listener; the audit entry comes back through
    the runtime's own queue (`call`), so the store is written on the runtime's thread only."""
    from app.demo import product_barcode
    from app.evidence.photo import photo_listener
    from app.labels import Party
    from app.pack.flow import FlowConfig, PackFlow
    from app.station import StationRuntime
    from drivers.printers.simulated import SimulatedPrinter

    flow = PackFlow(demo_store, clock, FlowConfig(station="T-1"))
    runtime = StationRuntime(flow, clock, SimulatedPrinter(), Party("仓", "0571", "杭州"))
    stored = threading.Event()
    photographer = PackingPhotographer(SimulatedCamera(clock=clock), demo_store, clock, data_dir, post=runtime.call,
                                       on_stored=lambda photo: stored.set())
    runtime.listeners.outcome.append(photo_listener(photographer, flow))
    try:
        for code in ("B-1001", ORDER, product_barcode("TEA-LJ-250"), product_barcode("CHOP-BMB-5")):
            runtime.submit_scan(_scan(clock, code))
        runtime.run_pending()
        assert not list(data_dir.glob("photos/*/*.jpg"))  # not complete yet: no still
        runtime.submit_scan(_scan(clock, product_barcode("TEA-LJ-250")))
        runtime.run_pending()  # items_complete: the still is requested, the runtime moves on
        deadline = time.monotonic() + 5
        while not stored.is_set() and time.monotonic() < deadline:
            runtime.run_pending()  # the worker posts the audit entry back here
            time.sleep(0.01)
    finally:
        photographer.close()
    assert stored.is_set()
    entry = AuditEntry.select().where(AuditEntry.kind == "photo.captured").get()
    payload = json.loads(entry.payload)
    assert payload["order_id"] == ORDER and (data_dir / payload["file"]).exists()
    assert verify_chain().ok


def _scan(clock: FakeClock, code: str) -> Scan:
    clock.advance(1)
    return Scan(code.encode(), "test", clock.now())


def test_an_altered_photo_makes_the_evidence_command_exit_3(
        demo_store: Store, clock: FakeClock, history: History, data_dir: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from tests.evidence.test_evidence_pack import run_cli

    photo = store_packing_photo(demo_store, clock, data_dir, session_id(), SimulatedCamera(clock=clock).capture(ORDER),
                                "王芳")
    assert run_cli(data_dir, [ORDER, "-o", str(tmp_path / "ok.pdf")]) == 0
    photo.path.write_bytes(photo.path.read_bytes() + b"edited")
    capsys.readouterr()
    assert run_cli(data_dir, [ORDER, "-o", str(tmp_path / "bad.pdf")]) == 3
    assert f"packing photo {photo.file} is altered" in capsys.readouterr().err
    photo.path.unlink()
    assert run_cli(data_dir, [ORDER, "-o", str(tmp_path / "gone.pdf")]) == 3
