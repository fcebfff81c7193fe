"""Cameras for packing photos (docs/architecture.md §4.4): the `app.evidence.photo.Camera` interface, three transports.

    sim                              SimulatedCamera: draws a test still (a box, the order id, the time)
    http://192.168.1.64/snapshot.jpg HttpSnapshotCamera: an IP camera's snapshot URL (JPEG or PNG)
    file:/srv/cam?max_age=10         FolderCamera: the newest image a camera drops into a folder

Every failure is a `CameraError` whose reason names the camera (credentials in a URL are never shown).
`capture` blocks (the HTTP timeout bounds it); the domain calls it from its photo worker thread only.
"""

from __future__ import annotations

import io
import itertools
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests
from PIL import Image, ImageDraw, ImageFont

from app.clock import Clock, SystemClock
from app.devices import Camera, CameraError, still_suffix
from app.documents.fonts import CJK_FONT_PATH
from app.errors import os_problem
from app.i18n import N_
from drivers.spec import SpecError, parse_spec

MAX_IMAGE_BYTES = 20 * 1024 * 1024
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def _is_image(data: bytes) -> bool:
    return still_suffix(data) is not None


class SimulatedCamera:
    """The camera's twin: every still differs (order id, time, a counter), so hashes differ too."""

    def __init__(self, clock: Clock | None = None, size: tuple[int, int] = (640, 480)) -> None:
        self.name = "sim"
        self._clock = clock or SystemClock()
        self._size = size
        self._count = itertools.count(1)
        self.captures = 0

    def capture(self, caption: str = "") -> bytes:
        n = next(self._count)
        self.captures = n
        width, height = self._size
        image = Image.new("RGB", self._size, (236, 236, 230))
        draw = ImageDraw.Draw(image)
        top, left, right, bottom = height // 4, width // 5, width * 4 // 5, height * 4 // 5
        draw.rectangle((left, top, right, bottom), fill=(196, 152, 98), outline=(120, 86, 46), width=4)
        draw.polygon([(left, top), (left + 40, top - 50), (right - 40, top - 50), (right, top)], fill=(176, 132, 80),
                     outline=(120, 86, 46))
        draw.line((left, (top + bottom) // 2, right, (top + bottom) // 2), fill=(230, 210, 160), width=10)
        font = ImageFont.truetype(str(CJK_FONT_PATH), size=max(height // 16, 12), index=0)
        small = ImageFont.truetype(str(CJK_FONT_PATH), size=max(height // 28, 10), index=0)
        stamp = self._clock.now().isoformat(timespec="milliseconds")
        draw.text((16, 12), f"SIM CAMERA 模拟相机  #{n}", fill=(40, 40, 40), font=small)
        draw.text((left + 16, top + 24), caption or "—", fill=(20, 20, 20), font=font)
        draw.text((16, height - 36), stamp, fill=(40, 40, 40), font=small)
        out = io.BytesIO()
        image.save(out, "JPEG", quality=80)
        return out.getvalue()


class HttpSnapshotCamera:
    """An IP camera's still-image URL (most have one: /ISAPI/Streaming/channels/1/picture, /snapshot.jpg).

    Basic auth may be written into the URL (`http://user:pass@host/...`); it is never shown in `name`.
    """

    def __init__(self, url: str, timeout: float = 3.0, session: requests.Session | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SpecError(N_("camera URL {url!r} must be http(s)://host/path"), url=url)
        self.url = url
        self.timeout = timeout
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        self.name = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
        self._session = session or requests.Session()

    def capture(self, caption: str = "") -> bytes:
        try:
            with self._session.get(self.url, timeout=self.timeout, stream=True) as response:
                if response.status_code != 200:
                    raise CameraError(N_("camera {camera}: HTTP {status}"), camera=self.name,
                                      status=response.status_code)
                body = bytearray()
                for chunk in response.iter_content(64 * 1024):
                    body += chunk
                    if len(body) > MAX_IMAGE_BYTES:
                        raise CameraError(N_("camera {camera}: image larger than {megabytes} MB"), camera=self.name,
                                          megabytes=MAX_IMAGE_BYTES // 2**20)
                kind = response.headers.get("Content-Type", "?")
        except requests.Timeout:
            raise CameraError(N_("camera {camera}: no answer within {seconds} s"), camera=self.name,
                              seconds=f"{self.timeout:g}") from None
        except requests.ConnectionError as exc:
            raise CameraError(N_("camera {camera}: cannot connect ({problem})"), camera=self.name,
                              problem=_first_line(exc)) from None
        except requests.RequestException as exc:
            raise CameraError(N_("camera {camera}: {problem}"), camera=self.name, problem=_first_line(exc)) from None
        data = bytes(body)
        if not _is_image(data):
            raise CameraError(N_("camera {camera}: the answer is not a JPEG or PNG image ({kind}, {size} bytes)"),
                              camera=self.name, kind=kind, size=len(data))
        return data


class FolderCamera:
    """The newest image in a folder a camera writes its stills to (FTP/SMB upload)."""

    def __init__(self, folder: Path | str, max_age_s: float | None = None, clock: Clock | None = None) -> None:
        self.folder = Path(folder)
        self.max_age_s = max_age_s
        self.name = f"file:{self.folder}"
        self._clock = clock or SystemClock()

    def capture(self, caption: str = "") -> bytes:
        try:
            files = [p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
        except OSError as exc:
            raise CameraError(N_("camera {camera}: cannot read the folder ({problem})"), camera=self.name,
                              problem=os_problem(exc)) from None
        if not files:
            raise CameraError(N_("camera {camera}: no .jpg or .png image in the folder"), camera=self.name)
        newest = max(files, key=lambda p: p.stat().st_mtime)
        if self.max_age_s is not None:
            age = self._clock.now().timestamp() - newest.stat().st_mtime
            if age > self.max_age_s:
                raise CameraError(N_("camera {camera}: the newest image {file} is {age} s old"), camera=self.name,
                                  file=newest.name, age=f"{age:.0f}")
        try:
            data = newest.read_bytes()
        except OSError as exc:
            raise CameraError(N_("camera {camera}: cannot read {file} ({problem})"), camera=self.name, file=newest.name,
                              problem=os_problem(exc)) from None
        if not _is_image(data):
            raise CameraError(N_("camera {camera}: {file} is not a JPEG or PNG image"), camera=self.name,
                              file=newest.name)
        return data


def open_camera(spec: str, *, timeout: float = 3.0, clock: Clock | None = None) -> Camera:
    """The camera a config spec names: `sim`, `http(s)://…` (snapshot URL) or `file:DIR[?max_age=S]`."""
    text = spec.strip()
    if text.lower().startswith(("http://", "https://")):
        return HttpSnapshotCamera(text, timeout=timeout)
    parsed = parse_spec(text, schemes=("sim", "file"))
    if parsed.scheme == "sim":
        parsed.check_options(())
        return SimulatedCamera(clock=clock)
    parsed.check_options(("max_age",))
    max_age = parsed.int_option("max_age", 0, minimum=1) if "max_age" in parsed.options else None
    return FolderCamera(parsed.target, max_age_s=max_age, clock=clock)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else type(exc).__name__
