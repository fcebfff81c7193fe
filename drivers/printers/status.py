"""Asking a printer whether it can print, in each language's own way.

Every check returns None when the printer is ready, or the reason in words a packer understands:
English message ids (joined by ", "), which the screens translate (`app.read_back.translate_reasons`).
Silence counts as a fault: a Zebra does not answer ~HS while its head is open or its media is out.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from app.i18n import N_
from drivers.printers.transport import Transport, TransportError, read_exact

STX, ETX = b"\x02", b"\x03"
DLE_EOT = b"\x10\x04"
TSPL_STATUS = b"\x1b!?"

StatusCheck = Callable[[Transport, float], "str | None"]


def zpl_status(transport: Transport, timeout: float) -> str | None:
    """`~HS`: three STX…ETX CRLF strings (ZPL II Programming Guide, "~HS Host Status Return").

    String 1 `aaa,b,c,dddd,eee,f,…`: b paper out, c pause, f receive buffer full.
    String 2 `mmm,n,o,p,…`: o head up, p ribbon out.
    """
    transport.write(b"~HS")
    reply = _read_hs(transport, timeout)
    strings = [part.split(ETX, 1)[0] for part in reply.split(STX)[1:]]
    if len(strings) < 2:
        return N_("printer does not answer (head open, media out or switched off?)")
    one, two = strings[0].decode("ascii", "replace").split(","), strings[1].decode("ascii", "replace").split(",")
    if len(one) < 6 or len(two) < 4:
        return N_("printer sent an unreadable status")
    reasons = [text for flag, text in ((one[1], N_("paper out")), (two[2], N_("print head open")),
                                       (two[3], N_("ribbon out")), (one[2], N_("printer paused")),
                                       (one[5], N_("printer buffer full"))) if flag == "1"]
    return ", ".join(reasons) or None


def _read_hs(transport: Transport, timeout: float) -> bytes:
    deadline = time.monotonic() + timeout
    reply = b""
    while reply.count(ETX) < 3 and len(reply) < 512:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        reply += transport.read(256, left)
    return reply


def escpos_status(transport: Transport, timeout: float) -> str | None:
    """`DLE EOT n` real-time status, one byte each (n=1 printer, 2 offline cause, 4 paper sensor).

    Bits 1 and 4 are always 1 and bits 0 and 7 always 0 in a genuine reply: anything else is noise.
    """
    replies: dict[int, int] = {}
    for n in (1, 2, 4):
        transport.write(DLE_EOT + bytes([n]))
        byte = read_exact(transport, 1, timeout)
        if not byte:
            return N_("printer does not answer (offline or switched off?)")
        if byte[0] & 0x93 != 0x12:
            return N_("printer sent an unreadable status")
        replies[n] = byte[0]
    reasons = []
    if replies[4] & 0x60:
        reasons.append(N_("paper out"))
    if replies[2] & 0x04:
        reasons.append(N_("cover open"))
    if replies[2] & 0x40:
        reasons.append(N_("printer error (cutter or overheat)"))
    if replies[1] & 0x08 and not reasons:
        reasons.append(N_("printer offline"))
    return ", ".join(reasons) or None


_TSPL_BITS = ((0x01, N_("print head open")), (0x02, N_("paper jam")), (0x04, N_("paper out")),
              (0x08, N_("ribbon out")), (0x10, N_("printer paused")), (0x40, N_("cover open")))


def tspl_status(transport: Transport, timeout: float) -> str | None:
    """`ESC !?`: one status byte (TSC TSPL/TSPL2 manual, "<ESC>!?"); bit 5 is "printing", not a fault."""
    transport.write(TSPL_STATUS)
    byte = read_exact(transport, 1, timeout)
    if not byte:
        return N_("printer does not answer (switched off?)")
    reasons = [text for bit, text in _TSPL_BITS if byte[0] & bit]
    return ", ".join(reasons) or None


STATUS_CHECKS: dict[str, StatusCheck] = {"zpl": zpl_status, "escpos": escpos_status, "tspl": tspl_status}


def check(language: str, transport: Transport, timeout: float) -> str | None:
    """Status where the language and the link allow; write-only links and PDF answer None (unknown)."""
    probe = STATUS_CHECKS.get(language)
    if probe is None or not transport.bidirectional:
        return None
    try:
        return probe(transport, timeout)
    except TransportError as exc:
        return exc.reason
