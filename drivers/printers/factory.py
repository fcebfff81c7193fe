"""Build a label printer from its SPEC: connector + language + profile options.

    tcp:HOST[:PORT]?lang=zpl&dpi=203       raw TCP (default port 9100)
    serial:PORT?baud=9600&lang=tspl        serial / USB virtual COM
    usb:VID:PID?lang=escpos                USB through python-escpos (hex ids)
    file:PATH?lang=escpos                  bytes appended to a file or device node; a folder gets one file per job
    pdf:PATH                               PDF labels: a folder gets one file per label, a file the latest label
    system[:QUEUE]                         the system print queue (CUPS `lp`), PDF by default
    sim                                    the simulated printer

Options: lang (zpl | tspl | escpos | pdf | text), dpi (203 | 300), size (WxH in mm, default 100x150),
cjk (resident | raster, ZPL; default resident), font (the resident CJK font, default E:SIMSUN.FNT), darkness (ZPL 0–30,
TSPL 0–15), status (on | off), timeout (seconds), fresh (seconds a "ready" answer after a job spares
the next job its first status query; default 3, 0 asks every time). The same SPEC works in `packbench pack --printer`,
`packbench print-test` and the station config.
"""

from __future__ import annotations

from typing import Literal

from app.devices import LabelPrinter
from app.i18n import N_
from app.labels import Label
from drivers.printers.file_transport import FileTransport
from drivers.printers.layout import LabelGeometry
from drivers.printers.printer import LanguagePrinter, PrinterProfile, Renderer
from drivers.printers.serial_transport import SerialTransport
from drivers.printers.simulated import SimulatedPrinter
from drivers.printers.system import SystemQueueTransport
from drivers.printers.tcp import TcpTransport
from drivers.printers.transport import Transport
from drivers.printers.usb import UsbTransport
from drivers.spec import DeviceSpec, SpecError, parse_spec

LANGUAGES = ("zpl", "tspl", "escpos", "pdf", "text")
DEFAULT_LANGUAGE = {"tcp": "zpl", "serial": "tspl", "usb": "escpos", "file": "text", "pdf": "pdf", "system": "pdf"}
OPTIONS = ("lang", "dpi", "size", "cjk", "font", "darkness", "status", "timeout", "baud", "fresh")


def open_printer(spec: DeviceSpec | str) -> LabelPrinter:
    parsed = parse_spec(spec) if isinstance(spec, str) else spec
    if parsed.scheme == "sim":
        return SimulatedPrinter()
    parsed.check_options(OPTIONS)
    language = parsed.option("lang", DEFAULT_LANGUAGE.get(parsed.scheme, "zpl")).lower()
    if language not in LANGUAGES:
        raise SpecError(N_("printer spec {spec}: lang must be one of {languages}"), spec=str(parsed),
                        languages=", ".join(LANGUAGES))
    timeout = _float(parsed, "timeout", 3.0)
    transport = _transport(parsed, language, timeout)
    status_on = parsed.option("status", "on").lower() not in ("off", "0", "no", "false")
    profile = PrinterProfile(language, status_timeout=min(timeout, 1.5), check_status=status_on,
                             status_fresh=_float(parsed, "fresh", 3.0))
    return LanguagePrinter(transport, renderer(parsed, language), profile)


def _transport(spec: DeviceSpec, language: str, timeout: float) -> Transport:
    if spec.scheme == "tcp":
        host, port = _host_port(spec.target)
        return TcpTransport(host, port, timeout)
    if spec.scheme == "serial":
        return SerialTransport(spec.target, spec.int_option("baud", 9600, minimum=50), timeout)
    if spec.scheme == "usb":
        vendor, _, product = spec.target.partition(":")
        try:
            return UsbTransport(int(vendor, 16), int(product, 16), timeout)
        except ValueError as exc:
            raise SpecError(N_("printer spec {spec}: usb needs VID:PID in hex, e.g. usb:0416:5011"),
                            spec=str(spec)) from exc
    if spec.scheme in ("file", "pdf"):
        suffix = {"pdf": ".pdf", "text": ".txt", "zpl": ".zpl", "tspl": ".tspl"}.get(language, ".bin")
        return FileTransport(spec.target, suffix, append=spec.scheme == "file")
    if spec.scheme == "system":
        return SystemQueueTransport(spec.target, timeout=max(timeout, 20.0))
    raise SpecError(N_("printer spec {spec}: no printer connector for {scheme!r}"), spec=str(spec),
                    scheme=spec.scheme)


def _host_port(target: str) -> tuple[str, int]:
    host, _, port = target.rpartition(":")
    if not host:
        return target, 9100
    try:
        return host, int(port)
    except ValueError as exc:
        raise SpecError(N_("printer port {port!r} is not a number"), port=port) from exc


def _float(spec: DeviceSpec, name: str, default: float) -> float:
    try:
        return float(spec.option(name, str(default)))
    except ValueError as exc:
        raise SpecError(N_("printer spec {spec}: {name} must be a number"), spec=str(spec), name=name) from exc


def renderer(spec: DeviceSpec, language: str) -> Renderer:
    """The label → bytes function for a language, with the profile's options bound."""
    if language == "text":
        from drivers.printers.text import render_text

        return lambda label: render_text(label).encode("utf-8")
    if language == "escpos":
        from drivers.printers.escpos import render_escpos

        escpos: Renderer = render_escpos
        return escpos
    geometry = _geometry(spec)
    darkness = spec.int_option("darkness", -1)  # -1: leave the printer's own setting
    if language == "zpl":
        from drivers.printers.zpl import render_zpl

        font = spec.option("font", "E:SIMSUN.FNT")
        # China-market Zebras carry a resident CJK font (a label of ~1.2 KB); others need cjk=raster,
        # which sends only the Chinese text blocks as compressed graphics (~6 KB).
        cjk = spec.option("cjk", "resident")
        if cjk not in ("resident", "raster"):
            raise SpecError(N_("printer spec {spec}: cjk must be resident or raster"), spec=str(spec))
        mode: Literal["resident", "raster"] = "raster" if cjk == "raster" else "resident"
        prelude = f"~SD{_darkness(spec, darkness, 30):02d}".encode() if darkness >= 0 else b""
        return _with_prelude(prelude, lambda label: render_zpl(label, geometry, cjk=mode, resident_font=font))
    if language == "tspl":
        from drivers.printers.tspl import render_tspl

        prelude = f"DENSITY {_darkness(spec, darkness, 15)}\r\n".encode() if darkness >= 0 else b""
        return _with_prelude(prelude, lambda label: render_tspl(label, geometry))
    from drivers.printers.pdf import render_pdf

    return lambda label: render_pdf(label, geometry)


def _geometry(spec: DeviceSpec) -> LabelGeometry:
    size = spec.option("size", "100x150").lower()
    try:
        width, height = (float(x) for x in size.split("x"))
        dpi = spec.int_option("dpi", 203, minimum=100)
    except ValueError as exc:
        raise SpecError(N_("printer spec {spec}: size must be WxH in mm (e.g. 100x150)"), spec=str(spec)) from exc
    if dpi not in (203, 300):
        raise SpecError(N_("printer spec {spec}: dpi must be 203 or 300"), spec=str(spec))
    return LabelGeometry(width_mm=width, height_mm=height, dpi=dpi)


def _with_prelude(prelude: bytes, render: Renderer) -> Renderer:
    return (lambda label: prelude + render(label)) if prelude else render


def render_bytes(spec: str, label: Label) -> bytes:
    """What the printer named by `spec` would receive for `label` (print-test, previews, benchmarks)."""
    parsed = parse_spec(spec)
    language = parsed.option("lang", DEFAULT_LANGUAGE.get(parsed.scheme, "zpl")).lower()
    return renderer(parsed, language)(label)


def _darkness(spec: DeviceSpec, value: int, most: int) -> int:
    """ZPL ~SD takes 0–30, TSPL DENSITY 0–15: anything else is refused before a label is printed."""
    if value > most:
        raise SpecError(N_("printer spec {spec}: darkness must be 0 to {most} for this printer language, not {given}"),
                        spec=str(spec), most=most, given=value)
    return value
