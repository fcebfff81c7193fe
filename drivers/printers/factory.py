"""Build a label printer from its SPEC (`sim`, `file:PATH`, ...)."""

from __future__ import annotations

from app.devices import LabelPrinter
from drivers.printers.filelabel import FileLabelPrinter
from drivers.printers.simulated import SimulatedPrinter
from drivers.spec import DeviceSpec, SpecError, parse_spec


def open_printer(spec: DeviceSpec | str) -> LabelPrinter:
    parsed = parse_spec(spec) if isinstance(spec, str) else spec
    if parsed.scheme == "sim":
        return SimulatedPrinter()
    if parsed.scheme == "file":
        return FileLabelPrinter(parsed.target)
    raise SpecError(f"printer spec {spec}: {parsed.scheme!r} printers are not supported yet (use sim or file:PATH)")
