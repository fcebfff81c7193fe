"""The small device interfaces the domain needs. Drivers in `drivers/` implement them.

Every device pushes what it reads through callbacks from its own reader thread; the domain never
blocks on a device. A device also reports its connection state, so the screen can show an unplugged
scanner and the recovery that follows without anyone restarting the app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Protocol

from app.errors import DeviceError
from app.i18n import N_, Words, render, translator
from app.labels import Label
from app.read_back import translate_reasons


class DeviceState(Enum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"  # unplugged or port missing; the driver keeps retrying
    FAULT = "fault"  # connected but unusable (e.g. printer out of paper)


@dataclass(frozen=True)
class DeviceStatus:
    device: str  # "scanner", "scale", "printer"
    state: DeviceState
    detail: str = ""


DEVICE_NAMES = {"scanner": N_("Scanner"), "scale": N_("Scale"), "printer": N_("Printer")}
STATE_WORDS: dict[DeviceState | None, str] = {
    None: N_("not checked"),
    DeviceState.CONNECTED: N_("connected"),
    DeviceState.DISCONNECTED: N_("disconnected"),
    DeviceState.FAULT: N_("fault"),
}


def status_line(status: DeviceStatus, lang: str) -> str:
    """A device's state in one line in `lang`, worded as its chip on the pack screen words it: the
    device, its state and the driver's reasons (read back from their msgids)."""
    gettext = translator(lang).gettext
    name = gettext(DEVICE_NAMES[status.device]) if status.device in DEVICE_NAMES else status.device
    values = {"device": name, "state": gettext(STATE_WORDS[status.state])}
    if not status.detail:
        return render(N_("{device}: {state}"), lang, values)
    values["detail"] = translate_reasons(status.detail, lang)
    return render(N_("{device}: {state} ({detail})"), lang, values)


@dataclass(frozen=True)
class Scan:
    """One barcode read exactly as the device delivered it (suffix stripped)."""

    raw: bytes
    source: str  # "serial:/dev/ttyUSB0", "wedge", "sim", "file", ...
    at: datetime


@dataclass(frozen=True)
class WeightReading:
    grams: int
    stable: bool
    at: datetime


StatusCallback = Callable[[DeviceStatus], None]


class Scanner(Protocol):
    def start(self, on_scan: Callable[[Scan], None], on_status: StatusCallback) -> None:
        """Begin delivering scans from the device's own thread. Returns at once."""
        ...

    def stop(self) -> None:
        """Stop the reader thread and release the port. Idempotent."""
        ...


class Scale(Protocol):
    def start(self, on_weight: Callable[[WeightReading], None], on_status: StatusCallback) -> None:
        """Begin delivering readings; only stable readings change what the pack flow does."""
        ...

    def stop(self) -> None: ...


class PrinterError(DeviceError):
    """A printer could not take or finish a job; `reason` is shown to the packer.

    `delivered` says whether the whole job reached the printer before the fault. Undelivered jobs
    wait and go out again by themselves when the printer is back; a delivered job may have printed,
    so only a person (a REPRINT scan) may send it again.
    """

    def __init__(self, reason: str | Words, /, delivered: bool = False, **values: Any) -> None:
        super().__init__(reason, **values)
        self.reason = str(self)  # English: what the print job keeps (the screens word it again)
        self.delivered = delivered

    def text(self, lang: str) -> str:
        """The CLI's line in `lang`, worded as the screens word the job's reason: several status reasons
        joined, or one within another ("paper out after the label was sent"), each in `lang`."""
        return translate_reasons(self.reason, lang)


class CameraError(DeviceError):
    """A still could not be taken; `reason` is one line for the person at the bench."""

    def __init__(self, reason: str | Words, /, **values: Any) -> None:
        super().__init__(reason, **values)
        self.reason = str(self)  # English: the log's line (the screens word it again, app.read_back)


# A still from `Camera.capture` is a JPEG or a PNG file; these bytes start one.
JPEG_MAGIC, PNG_MAGIC = b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"


def still_suffix(data: bytes) -> str | None:
    """The file suffix of a still (".jpg" or ".png"), or None when the bytes are neither."""
    if data.startswith(JPEG_MAGIC):
        return ".jpg"
    if data.startswith(PNG_MAGIC):
        return ".png"
    return None


class Camera(Protocol):
    name: str

    def capture(self, caption: str = "") -> bytes:
        """One still as JPEG or PNG bytes; raise CameraError. Blocking: never call it on the scan path.

        `caption` says what the still is for (the order id); simulated cameras draw it, real ones ignore it.
        """
        ...


class LabelPrinter(Protocol):
    name: str

    def print_label(self, label: Label) -> None:
        """Render and send one label; raise PrinterError on any fault.

        Blocking: callers run it off the UI thread.
        """
        ...
