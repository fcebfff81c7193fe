"""The bench's part of a pack: the pack session scan by scan, the weight against the expected, the photo."""

from __future__ import annotations

import io
from typing import Any

from app.evidence.layout import (
    AMBER,
    GREEN,
    GREY,
    MM,
    RED,
    LocalTime,
    gap,
    heading,
    key_values,
    para,
    styles,
    text_table,
)
from app.evidence.model import DocumentContext, EvidenceItem
from app.i18n import N_
from app.pack.outcomes import MESSAGES, Level

SESSION_STATES = (N_("open"), N_("completed"), N_("short_shipped"), N_("aborted"))  # pack_session.state, worded


def scans_section(item: EvidenceItem, ctx: DocumentContext, when: LocalTime) -> list[Any]:
    from reportlab.lib import colors

    _ = ctx.words
    s = styles()
    ev = item.evidence
    out: list[Any] = [heading(2, _("Pack session, scan by scan", sep="  "))]
    if not ev.sessions and not ev.scans:
        return [*out, para(_("No pack session for this order."), s.body, GREY)]
    session_word, station, packer = _("Session"), _("Station"), _("Packer")
    for session in ev.sessions:
        state = _(session.state)
        out.append(para(f"{session_word} #{session.id} · {station} {session.station} · {packer} "
                        f"{session.operator} · {when(session.started_at)} → {when(session.ended_at)} · "
                        f"{state}", s.small))
    head = (_("Time", sep="\n"), _("Operator", sep="\n"), _("Station", sep="\n"), _("Code", sep="\n"),
            _("Outcome", sep="\n"), _("Message", sep="\n"))
    rows: list[list[str]] = []
    colours: list[tuple[int, int, str]] = []
    marks: list[tuple[Any, ...]] = []
    for n, scan in enumerate(ev.scans, start=1):
        level = MESSAGES[scan.outcome].level if scan.outcome in MESSAGES else Level.OK
        rows.append([when(scan.at), scan.operator, scan.station, scan.code, scan.outcome, _(scan.message, sep="\n")])
        if level is not Level.OK:
            colours.append((n, 4, RED if level is Level.ERROR else AMBER))
        if level is Level.ERROR:
            marks.append(("BACKGROUND", (4, n), (4, n), colors.HexColor("#fde8e8")))
    widths = [27 * MM, 18 * MM, 16 * MM, 36 * MM, 23 * MM, 60 * MM]
    return [*out, gap(), text_table(head, rows, widths, colours=colours, extra=marks)]


def weight_section(item: EvidenceItem, ctx: DocumentContext, when: LocalTime) -> list[Any]:
    _ = ctx.words
    s = styles()
    w = item.weight
    out: list[Any] = [heading(3, _("Weight vs expected", sep="  "))]
    if w is None:
        return [*out, para(_("not weighed"), s.body, GREY)]
    diff = w.actual_g - w.expected_g
    allowed, by = w.allowed_g, w.approved_by
    if w.ok and by:
        verdict, colour = _("within tolerance (±{allowed} g); unusual for these items, accepted by supervisor "
                            "{name}", sep="\n", allowed=allowed, name=by), AMBER
    elif w.ok:
        verdict, colour = _("within tolerance (±{allowed} g)", sep="\n", allowed=allowed), GREEN
    elif by:
        verdict, colour = _("OUTSIDE tolerance (±{allowed} g) — accepted by supervisor {name}", sep="\n",
                            allowed=allowed, name=by), AMBER
    else:
        verdict, colour = _("OUTSIDE tolerance (±{allowed} g)", sep="\n", allowed=allowed), RED
    return [*out, key_values([
        (_("Expected"), f"{w.expected_g} g"), (_("Actual"), f"{w.actual_g} g ({diff:+d} g)"),
        (_("Verdict"), para(verdict, s.body, colour)), ("", ""),
    ], [24 * MM, 66 * MM, 24 * MM, 66 * MM])]


def photo_section(item: EvidenceItem, ctx: DocumentContext, when: LocalTime) -> list[Any]:
    from PIL import Image as PILImage
    from reportlab.platypus import Image, KeepTogether

    _ = ctx.words
    s = styles()
    title = heading(9, _("Packing photo", sep="  "))
    if not item.evidence.photos:
        return [title, para(_("no packing photo (no camera at the bench, or none taken)"), s.body, GREY)]
    out: list[Any] = []
    taken, session_word = _("Taken"), _("Session")
    for photo in item.evidence.photos:
        seq = photo.audit_seq
        words = {"ok": (_("file matches audit entry #{seq}", seq=seq), GREEN),
                 "missing": (_("PHOTO FILE MISSING (audit entry #{seq})", seq=seq), RED),
                 "altered": (_("PHOTO FILE ALTERED since audit entry #{seq}", seq=seq), RED),
                 "not_synced": (_("the photo stays at the station, not synced (audit entry #{seq} holds its "
                                  "SHA-256)", seq=seq), AMBER)}
        text, colour = words[photo.status]
        block: list[Any] = [] if out else [title]
        if photo.status == "ok":
            data = photo.path.read_bytes()
            w, h = PILImage.open(io.BytesIO(data)).size
            width = min(90 * MM, 120 * MM * w / h)
            block.append(Image(io.BytesIO(data), width=width, height=width * h / w))
        block += [para(f"{taken} {when(photo.at)} · {session_word} #{photo.session_id} · {photo.file}", s.small),
                  para(f"SHA-256 {photo.sha256}", s.mono), para(text, s.small, colour)]
        out.append(KeepTogether(block))
    return out
