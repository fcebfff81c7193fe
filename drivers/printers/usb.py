"""USB printers through python-escpos (pyusb + libusb; WinUSB driver on Windows): ESC/POS only.

The transport reuses escpos's `Usb` for device discovery and endpoint handling and nothing else:
rendering is ours. `usb:VID:PID` with hex ids, e.g. `usb:0416:5011?lang=escpos`.
"""

from __future__ import annotations

from typing import Any

from app.i18n import N_
from drivers.printers.transport import TransportError, why


class UsbTransport:
    bidirectional = True

    def __init__(self, vendor_id: int, product_id: int, timeout: float = 3.0) -> None:
        self.vendor_id, self.product_id, self.timeout = vendor_id, product_id, timeout
        self.name = f"usb:{vendor_id:04x}:{product_id:04x}"
        self._device: Any = None

    def open(self) -> None:
        try:
            from escpos.printer import Usb
        except ImportError as exc:  # pragma: no cover - pyusb is a pinned dependency
            raise TransportError(N_("USB printing needs pyusb")) from exc
        device = Usb(self.vendor_id, self.product_id, timeout=int(self.timeout * 1000))
        try:
            device.open()
        except Exception as exc:  # escpos raises its own DeviceNotFoundError / USBNotFoundError
            raise TransportError(N_("USB printer {printer} not found or not accessible ({problem})"), printer=self.name,
                                 problem=why(exc)) from exc
        self._device = device

    def write(self, data: bytes) -> None:
        try:
            self._require()._raw(data)
        except TransportError:
            raise
        except Exception as exc:  # usb.core.USBError and friends
            raise TransportError(N_("USB printer {printer} failed ({problem})"), printer=self.name,
                                 problem=why(exc)) from exc

    def read(self, max_bytes: int, timeout: float) -> bytes:
        try:
            return bytes(self._require().device.read(self._device.in_ep, max_bytes, int(timeout * 1000)))
        except TransportError:
            raise
        except Exception:  # a timeout on the IN endpoint is how a silent printer looks
            return b""

    def close(self) -> None:
        device, self._device = self._device, None
        if device is not None:
            device.close()

    def _require(self) -> Any:
        if self._device is None:
            raise TransportError(N_("the USB printer is not open"))
        return self._device
