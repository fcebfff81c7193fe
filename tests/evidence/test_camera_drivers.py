"""Camera drivers: an IP camera's snapshot URL over real HTTP, a folder of stills, specs."""

from __future__ import annotations

import http.server
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.devices import CameraError
from app.evidence.photo import photo_failure
from app.read_back import translate_reasons
from drivers.camera import FolderCamera, HttpSnapshotCamera, SimulatedCamera, open_camera
from drivers.spec import SpecError
from tests.test_message_languages import foreign_latin

JPEG = SimulatedCamera().capture("HTTP-CAM")


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # http.server's name
        if self.path == "/snap.jpg":
            self._send(200, JPEG, "image/jpeg")
        elif self.path == "/broken":
            self._send(500, b"internal error", "text/plain")
        elif self.path == "/login":
            self._send(200, b"<html>please log in</html>", "text/html")
        elif self.path == "/slow":
            time.sleep(1.0)
            self._send(200, JPEG, "image/jpeg")
        else:
            self._send(404, b"", "text/plain")

    def _send(self, status: int, body: bytes, kind: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def camera_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_http_snapshot_camera_returns_the_jpeg(camera_server: str) -> None:
    camera = open_camera(f"{camera_server}/snap.jpg")
    assert isinstance(camera, HttpSnapshotCamera)
    assert camera.capture() == JPEG


def test_http_errors_are_camera_errors_with_a_reason(camera_server: str) -> None:
    with pytest.raises(CameraError, match=r"camera http://127\.0\.0\.1:\d+/broken: HTTP 500"):
        HttpSnapshotCamera(f"{camera_server}/broken").capture()
    with pytest.raises(CameraError, match=r"not a JPEG or PNG image \(text/html"):
        HttpSnapshotCamera(f"{camera_server}/login").capture()
    with pytest.raises(CameraError, match=r"no answer within 0\.2 s"):
        HttpSnapshotCamera(f"{camera_server}/slow", timeout=0.2).capture()


def test_an_unreachable_camera_is_one_line_without_its_password() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    camera = HttpSnapshotCamera(f"http://admin:secret@127.0.0.1:{port}/snap.jpg", timeout=1)
    with pytest.raises(CameraError, match="cannot connect") as info:
        camera.capture()
    assert "secret" not in info.value.reason and camera.name == f"http://127.0.0.1:{port}/snap.jpg"


def test_folder_camera_takes_the_newest_still(tmp_path: Path) -> None:
    camera = open_camera(f"file:{tmp_path}")
    assert isinstance(camera, FolderCamera)
    with pytest.raises(CameraError, match=r"no \.jpg or \.png image"):
        camera.capture()
    old, new = tmp_path / "a.jpg", tmp_path / "b.jpg"
    old.write_bytes(JPEG + b"old")
    new.write_bytes(JPEG)
    os.utime(old, (time.time() - 100, time.time() - 100))
    assert camera.capture() == JPEG
    (tmp_path / "c.png").write_bytes(b"not really a png")
    with pytest.raises(CameraError, match=r"c\.png is not a JPEG or PNG image"):
        camera.capture()
    stale = open_camera(f"file:{tmp_path}?max_age=10")
    os.utime(tmp_path / "c.png", (time.time() - 100, time.time() - 100))
    os.utime(new, (time.time() - 60, time.time() - 60))
    with pytest.raises(CameraError, match=r"b\.jpg is 60 s old"):
        stale.capture()


def test_camera_specs() -> None:
    assert isinstance(open_camera("sim"), SimulatedCamera)
    for bad in ("sim?x=1", "file:/tmp?maxage=3", "usb:0", "ftp://cam/x.jpg"):
        with pytest.raises(SpecError):
            open_camera(bad)


def test_a_camera_fault_reads_in_chinese_at_the_bench(tmp_path: Path) -> None:
    """The line the photographer reports (English, for the log) is worded again on the bench's screens:
    Chinese but for the camera's name, the file and the units."""
    camera = open_camera(f"file:{tmp_path}?max_age=10")
    (tmp_path / "b.jpg").write_bytes(JPEG)
    os.utime(tmp_path / "b.jpg", (time.time() - 60, time.time() - 60))
    with pytest.raises(CameraError) as stale:
        camera.capture()
    with pytest.raises(CameraError) as empty:
        open_camera(f"file:{tmp_path / 'none'}").capture()
    for fault in (stale.value, empty.value):
        line = photo_failure(fault, "TB-1001")  # what on_error passes to the window
        chinese = translate_reasons(line, "zh_CN")
        assert chinese.startswith("订单 TB-1001 没有打包照片：相机 ")
        names = {"order": "TB-1001", "camera": camera.name, "other": f"file:{tmp_path / 'none'}", "file": "b.jpg"}
        assert not foreign_latin(chinese, names), chinese
    assert photo_failure(stale.value, "TB-1001") == (
        f"no packing photo of order TB-1001: camera {camera.name}: the newest image b.jpg is 60 s old")
