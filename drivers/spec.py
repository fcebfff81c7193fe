"""Device SPEC strings: the one line an admin writes in the config to name a device.

    serial:/dev/ttyUSB0?baud=9600&suffix=cr
    serial:COM3?baud=115200
    tcp:127.0.0.1:9100?lang=zpl&dpi=203      (tcp:[::1]:9100 for IPv6)
    file:/var/scans.txt     file:-           (- = stdin)
    pdf:/srv/labels
    sim     sim?weight=1200

Shape: ``SCHEME:TARGET?key=value&key=value``. The parser only knows the grammar and the checks every
scheme shares (a serial port named, a TCP port number present, a numeric baud); what an option *means*
is the driver's business, so printers reuse this module unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

from app.errors import InputError
from app.i18n import N_, Phrase

#: Schemes the drivers understand today or soon (printers: tcp, usb, file, pdf, system).
KNOWN_SCHEMES = frozenset({"serial", "tcp", "file", "sim", "pdf", "usb", "system", "wedge"})

# Schemes whose target may be empty ("sim" is a complete spec; "system" means the default queue).
_TARGET_OPTIONAL = frozenset({"sim", "system", "wedge"})

_MIN_BAUD, _MAX_BAUD = 50, 4_000_000


class SpecError(InputError, ValueError):
    """A device spec that cannot be used; the message is one line a person understands."""


@dataclass(frozen=True)
class DeviceSpec:
    scheme: str
    target: str = ""
    options: dict[str, str] = field(default_factory=dict, hash=False)

    def option(self, name: str, default: str) -> str:
        return self.options.get(name, default)

    def int_option(self, name: str, default: int, *, minimum: int = 0) -> int:
        text = self.options.get(name)
        if text is None:
            return default
        try:
            value = int(text)
        except ValueError:
            raise SpecError(N_("{spec}: option {name}={given!r} is not a whole number"), spec=str(self), name=name,
                            given=text) from None
        if value < minimum:
            raise SpecError(N_("{spec}: option {name}={given} must be at least {minimum}"), spec=str(self), name=name,
                            given=value, minimum=minimum)
        return value

    def check_options(self, known: Iterable[str]) -> None:
        """Reject options this driver does not read: a typo like ``sufix=lf`` must not pass silently."""
        unknown = sorted(set(self.options) - set(known))
        if unknown:
            if not set(known):
                raise SpecError(N_("{spec}: unknown option {unknown}; this device takes no options"), spec=str(self),
                                unknown=", ".join(unknown))
            raise SpecError(N_("{spec}: unknown option {unknown}; this device takes {known}"), spec=str(self),
                            unknown=", ".join(unknown), known=", ".join(sorted(known)))

    def host_port(self) -> tuple[str, int]:
        """Split a ``tcp:`` target into (host, port); parse_spec already checked it."""
        return _split_host_port(self.target, str(self))

    def __str__(self) -> str:
        text = self.scheme
        if self.target:
            text += ":" + self.target
        if self.options:
            text += "?" + "&".join(f"{k}={quote(v, safe='/:.,-_')}" for k, v in self.options.items())
        return text


def parse_spec(text: str, *, schemes: Iterable[str] = KNOWN_SCHEMES) -> DeviceSpec:
    """Parse ``SCHEME:TARGET?k=v&...`` into a DeviceSpec, or raise SpecError.

    The scheme ends at the first ``:`` (or at ``?`` for target-less specs like ``sim?x=1``); the target
    runs to the first ``?``, so a Windows path such as ``file:C:\\scans.txt`` keeps its drive colon.
    Option values are percent-decoded, so a path holding ``&`` or ``?`` can still be written.
    """
    raw = text.strip()
    if not raw:
        raise SpecError(N_("empty device spec"))
    colon, question = raw.find(":"), raw.find("?")
    if colon != -1 and (question == -1 or colon < question):
        scheme, rest = raw[:colon], raw[colon + 1 :]
    elif question != -1:
        scheme, rest = raw[:question], raw[question:]
    else:
        scheme, rest = raw, ""
    scheme = scheme.lower()
    allowed = frozenset(schemes)
    if scheme not in allowed:
        known = ", ".join(sorted(allowed))
        if "/" in scheme or "\\" in scheme:
            raise SpecError(N_("unknown device scheme {scheme!r} in {spec!r}; expected one of {known} (write "
                               "serial:/dev/ttyUSB0, not just the port)"), scheme=scheme, spec=raw, known=known)
        raise SpecError(N_("unknown device scheme {scheme!r} in {spec!r}; expected one of {known}"), scheme=scheme,
                        spec=raw, known=known)
    target, _, query = rest.partition("?")
    spec = DeviceSpec(scheme, unquote(target), _parse_options(query, raw))
    _check(spec, raw)
    return spec


def _parse_options(query: str, raw: str) -> dict[str, str]:
    options: dict[str, str] = {}
    for part in query.split("&"):
        if not part:
            continue
        key, eq, value = part.partition("=")
        key = key.strip().lower()
        if not key or not eq:
            raise SpecError(N_("bad option {option!r} in {spec!r}; write key=value"), option=part, spec=raw)
        if key in options:
            raise SpecError(N_("option {option!r} given twice in {spec!r}"), option=key, spec=raw)
        options[key] = unquote(value)
    return options


def _check(spec: DeviceSpec, raw: str) -> None:
    if not spec.target and spec.scheme not in _TARGET_OPTIONAL:
        what = {"serial": N_("serial port"), "tcp": "HOST:PORT", "file": N_("path (or - for stdin)")}
        raise SpecError(N_("missing {what} in {spec!r}"), what=Phrase(what.get(spec.scheme, N_("target"))), spec=raw)
    if spec.scheme == "tcp":
        _split_host_port(spec.target, raw)
    if "baud" in spec.options:
        baud = spec.int_option("baud", 0)
        if not _MIN_BAUD <= baud <= _MAX_BAUD:
            raise SpecError(N_("bad baud rate {baud} in {spec!r}"), baud=baud, spec=raw)


def _split_host_port(target: str, raw: str) -> tuple[str, int]:
    if target.startswith("["):  # [IPv6]:port
        host, sep, port_text = target[1:].partition("]:")
        if not sep:
            raise SpecError(N_("missing port in {spec!r}; write tcp:[ADDRESS]:PORT"), spec=raw)
    else:
        host, sep, port_text = target.rpartition(":")
        if not sep:
            raise SpecError(N_("missing port in {spec!r}; write tcp:HOST:PORT, e.g. tcp:{target}:9100"), spec=raw,
                            target=target)
    if not host:
        raise SpecError(N_("missing host in {spec!r}"), spec=raw)
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise SpecError(N_("bad TCP port {port!r} in {spec!r}"), port=port_text, spec=raw)
    return host, int(port_text)
