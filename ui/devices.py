"""The station's devices, built from the config specs, as the GUI needs them.

The keyboard-wedge filter always listens, whatever scanner is configured (a bench may have a serial
scanner and a wedge one); `scanner = "wedge"` configures no other.
"""

from __future__ import annotations

from app.clock import Clock
from app.config import StationConfig
from app.devices import LabelPrinter, Scale, Scanner
from drivers.printers.factory import open_printer
from drivers.scales import open_scale
from drivers.scanners import open_scanner

WEDGE = "wedge"  # scanner = "wedge": no scanner driver; the window's keyboard-wedge filter is the scanner


def open_devices(config: StationConfig, clock: Clock) -> tuple[Scanner | None, Scale, LabelPrinter]:
    scanner = None if config.scanner == WEDGE else open_scanner(config.scanner, clock)
    return scanner, open_scale(config.scale, clock), open_printer(config.printer)
