"""The evidence pack PDF (docs/architecture.md §9.2): A4, every text in the embedded CJK font, one section per order.

Several orders make one document with a page break between them; every page's footer names its
order and says "page x of y" over the whole file, so a loose page still says where it belongs. Times
are in the station's zone, whose UTC offset the header states. The words are the document's
(`DocumentContext.words`: one catalog language, or both side by side).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.clock import parse_iso
from app.evidence.layout import MM, LocalTime, styles
from app.evidence.model import DocumentContext, EvidenceItem
from app.evidence.sections import order_story

Progress = Callable[[int, int], None]


def write_evidence_pdf(path: Path, items: Sequence[EvidenceItem], ctx: DocumentContext,
                       progress: Progress | None = None) -> int:
    """Write the packs of `items` into one PDF; returns the number of pages. `progress(done, total)`
    is called as each order's last page is laid out."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas
    from reportlab.platypus import Flowable, PageBreak, SimpleDocTemplate

    _ = ctx.words
    name, generated_word = _("Evidence pack"), _("Generated")
    font = styles().font
    when = LocalTime(ctx.tz, parse_iso(ctx.generated_at))
    total = len(items)

    class Marker(Flowable):  # type: ignore[misc]  # reportlab is untyped
        """Zero-size: tells the canvas which order the page belongs to, and reports progress."""

        def __init__(self, order_id: str, done: int | None) -> None:
            super().__init__()
            self.order_id, self.done = order_id, done

        def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
            return 0, 0

        def draw(self) -> None:
            if self.done is None:
                self.canv.evidence_order = self.order_id
            elif progress is not None:
                progress(self.done, total)

    story: list[Any] = []
    for n, item in enumerate(items, start=1):
        if story:
            story.append(PageBreak())
        order_id = item.evidence.order.order_id
        story += [Marker(order_id, None), *order_story(item, ctx, when), Marker(order_id, n)]

    generated = when(ctx.generated_at, "%Y-%m-%d %H:%M")

    class NumberedCanvas(canvas.Canvas):  # type: ignore[misc]  # reportlab is untyped
        """Two passes over the pages so each footer can say "page x of y"."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []
            self.evidence_order = ""

        def showPage(self) -> None:  # reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            count = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self.setFont(font, 7.5)
                self.setFillColor(colors.grey)
                self.drawString(15 * MM, 9 * MM, f"{name} · {self.evidence_order} · {ctx.station} · "
                                                 f"{generated_word} {generated} ({when.zone_text})")
                self.drawRightString(A4[0] - 15 * MM, 9 * MM,
                                     _("Page {number} of {count}", sep="  ", number=number, count=count))
                super().showPage()
            super().save()

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    first = items[0].evidence.order.order_id if items else ""
    title = f"{name} {first}" + (f" (+{total - 1})" if total > 1 else "")
    doc = SimpleDocTemplate(str(path), pagesize=A4, leftMargin=15 * MM, rightMargin=15 * MM, topMargin=13 * MM,
                            bottomMargin=16 * MM, title=title, author="PackBench",
                            subject=_("Evidence pack: order, pack session, label, handover, tracking, SLA, audit"))
    with _binary_images():
        doc.build(story, canvasmaker=NumberedCanvas)
    return int(doc.page)


_A85_LOCK = threading.Lock()
_a85_users = 0
_a85_saved: object = 1


@contextmanager
def _binary_images() -> Iterator[None]:
    """Embed image streams as binary, not ASCII85 text: reportlab's pure-Python ASCII85 encoder was a
    fifth of a batch's time, and the text form is a quarter larger. `rl_config.useA85` is process-wide,
    so it is switched off while any evidence PDF is being built and restored after the last one; a
    document built meanwhile elsewhere only gets smaller binary image streams, which every reader takes."""
    global _a85_users, _a85_saved
    from reportlab import rl_config

    with _A85_LOCK:
        if _a85_users == 0:
            _a85_saved = rl_config.useA85
            rl_config.useA85 = 0
        _a85_users += 1
    try:
        yield
    finally:
        with _A85_LOCK:
            _a85_users -= 1
            if _a85_users == 0:
                rl_config.useA85 = _a85_saved
