"""The screens' building blocks: titled panels, the status banner, device chips and the full-window flash.

Text here comes from buyers, shops, scanners and the server. Qt reads any label, message box or tooltip
text that looks like markup as rich text, so a product named `<table bgcolor=green>…` could paint a
green "OK" box inside a red banner: every label is a `PlainLabel`, every tooltip goes through
`plain_tip`, every message box is `PlainMessageBox` (tests/ui/test_plain_text.py walks the window).
"""

from __future__ import annotations

import html
from typing import Any

from app.devices import DEVICE_NAMES, STATE_WORDS, DeviceState
from app.i18n import translator
from app.pack.outcomes import Level
from app.read_back import translate_reasons
from ui.qt import (
    QColor,
    QFont,
    QFontMetrics,
    QFrame,
    QLabel,
    QMessageBox,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    Qt,
    QTextLayout,
    QTimer,
    QVBoxLayout,
    QWidget,
)
from ui.resources import ui_font

# (background, text). Strong fills with high-contrast text: the banner is read from 2 m away.
LEVEL_COLOURS: dict[Level | None, tuple[str, str]] = {
    None: ("#37474f", "#ffffff"),  # nothing has happened yet
    Level.OK: ("#1e7b34", "#ffffff"),
    Level.WARN: ("#f4b400", "#1a1a1a"),
    Level.ERROR: ("#c62828", "#ffffff"),
}
STATE_COLOURS: dict[DeviceState | None, str] = {
    None: "#90a4ae",
    DeviceState.CONNECTED: "#1e7b34",
    DeviceState.DISCONNECTED: "#c62828",
    DeviceState.FAULT: "#e08a00",
}
READABLE_PX = 40  # the smallest text a packer reads at 2 m
BANNER_PX = 48


class PlainLabel(QLabel):
    """A QLabel that never interprets its text as markup."""

    def __init__(self, text: str = "", parent: QWidget | None = None, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setText(text)


class PlainMessageBox(QMessageBox):
    """A QMessageBox whose text and details are shown as written."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[call-overload]  # QMessageBox's overloads, passed through
        self.setTextFormat(Qt.TextFormat.PlainText)


def plain_tip(text: str) -> str:
    """A tooltip that shows `text` as written (Qt renders tooltips that look like markup as rich text):
    escaped inside a paragraph of our own, so it is read as markup that holds only text."""
    return "<p>" + html.escape(text).replace("\n", "<br>") + "</p>" if text else ""


class Panel(QFrame):
    """A framed panel with a heading above its body; the screen words the heading (`heading.setText`)."""

    def __init__(self, body: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        self.heading = PlainLabel()
        self.heading.setFont(ui_font(16, bold=True))
        layout.addWidget(self.heading)
        layout.addWidget(body, 1)


class Banner(PlainLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.setFont(ui_font(BANNER_PX, bold=True))
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumHeight(3 * BANNER_PX)
        self.level: Level | None = None
        self.show_message("", None)

    def show_message(self, text: str, level: Level | None) -> None:
        self.level = level
        background, colour = LEVEL_COLOURS[level]
        self.setStyleSheet(f"background: {background}; color: {colour}; border-radius: 10px; padding: 12px;")
        self.setText(text)


class ElidedBanner(Banner):
    """The banner at a fixed height, so a long message never grows it and shifts the screen below.
    A message is one line at full size when it fits; else it is set smaller, down to the smallest size
    readable at 2 m, on one line or, still too long, on two (a 1024-pixel screen would otherwise lose
    the end of most refusals: "… is not in this order"); only what does not fit two lines is cut with
    "…". `text()` is the whole message, also the tooltip (and the screen's log has it)."""

    PADDING = 12
    LINES = 2
    px = BANNER_PX  # the size a message that fits one line is shown at

    def __init__(self, px: int = BANNER_PX, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.px = px
        self.setFont(ui_font(px, bold=True))
        self.setWordWrap(False)  # the lines are broken here (`_fit`), never by the label
        self.setMinimumWidth(1)  # a long message never widens the window
        one_line = QFontMetrics(self.font()).height()
        two_lines = self.LINES * QFontMetrics(ui_font(min(READABLE_PX, px), bold=True)).lineSpacing()
        self.setFixedHeight(max(one_line, two_lines) + 2 * self.PADDING + 8)

    def show_message(self, text: str, level: Level | None) -> None:
        self.message = text
        super().show_message(text, level)
        self.setToolTip(plain_tip(text))
        self._fit()

    def text(self) -> str:  # the message, not the cut form painted
        return self.message

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        width = max(self.contentsRect().width(), 1)  # inside the style sheet's padding
        line = " ".join(self.message.split())  # a message's own line breaks become spaces
        font = fitting_font(line, width, self.px, READABLE_PX)
        self.setFont(font)
        QLabel.setText(self, "\n".join(broken(line, font, width, self.LINES)))


class FittedLine(QLabel):
    """One bold line that is set smaller when it does not fit its width (down to `smallest` px), and
    cut with "…" only below that — a header never widens the window nor loses its end on a 1024-pixel
    screen. `text()` is the whole line, also the tooltip."""

    def __init__(self, px: int, smallest: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.px, self.smallest = px, smallest
        self.line = ""
        self.setFont(ui_font(px, bold=True))
        self.setMinimumWidth(1)
        self.setFixedHeight(QFontMetrics(self.font()).height())  # a smaller font never shifts the screen

    def setText(self, text: str) -> None:
        self.line = text
        self.setToolTip(plain_tip(text) if text else "")
        self._fit()

    def text(self) -> str:  # the line, not the cut form painted
        return self.line

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        width = max(self.contentsRect().width(), 1)
        font = fitting_font(self.line, width, self.px, self.smallest)
        self.setFont(font)
        QLabel.setText(self, QFontMetrics(font).elidedText(self.line, Qt.TextElideMode.ElideRight, width))


def fitting_font(line: str, width: int, px: int, smallest: int) -> QFont:
    """The largest bold font from `px` down to `smallest` (in steps of 2 px) in which `line` fits `width`."""
    font = ui_font(px, bold=True)
    for size in range(px, smallest - 1, -2):
        font = ui_font(size, bold=True)
        if QFontMetrics(font).horizontalAdvance(line) <= width:
            break
    return font


def broken(text: str, font: QFont, width: int, lines: int) -> list[str]:
    """`text` broken into at most `lines` lines of `width` pixels (between words, or between any two
    characters of Chinese), the last one cut with "…" when the text goes on."""
    layout = QTextLayout(text, font)
    layout.beginLayout()
    starts: list[int] = []
    while len(starts) < lines:
        row = layout.createLine()
        if not row.isValid():
            break
        row.setLineWidth(width)
        starts.append(row.textStart())
    layout.endLayout()
    if not starts:
        return [""]
    rows = [text[start:end].strip() for start, end in zip(starts, [*starts[1:], len(text)], strict=True)]
    rows[-1] = QFontMetrics(font).elidedText(rows[-1], Qt.TextElideMode.ElideRight, width)
    return rows


class DeviceChip(PlainLabel):
    """One device's connection state as a coloured pill: "● Scanner · connected"."""

    def __init__(self, device: str, lang: str, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.device = device
        self.lang = lang
        self.state: DeviceState | None = None
        self.detail = ""
        self.setFont(ui_font(16, bold=True))
        self.set_state(None)

    def retranslate(self) -> None:
        self.set_state(self.state, self.detail)

    def set_state(self, state: DeviceState | None, detail: str = "") -> None:
        self.state, self.detail = state, detail
        _ = translator(self.lang).gettext
        self.setText(f"● {_(DEVICE_NAMES[self.device])} · {_(STATE_WORDS[state])}")
        # A driver's reasons: message ids, or the English line of one filled in (a port, what the system said).
        self.setToolTip(plain_tip(translate_reasons(detail, self.lang) if detail else ""))
        self.setStyleSheet(f"background: {STATE_COLOURS[state]}; color: white; border-radius: 14px; padding: 4px 12px;")


class Flash(QWidget):
    """A translucent colour over the whole window for a moment: an error seen from across the room,
    without hiding the banner that says what went wrong."""

    DURATION_MS = 600

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._colour = QColor(LEVEL_COLOURS[Level.ERROR][0])
        self._colour.setAlpha(130)
        self._timer = QTimer(self, singleShot=True, interval=self.DURATION_MS)
        self._timer.timeout.connect(self.hide)
        self.hide()

    def flash(self) -> None:
        parent = self.parentWidget()
        assert parent is not None
        self.setGeometry(parent.rect())
        self.raise_()
        self.show()
        self._timer.start()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self._colour)
        painter.end()
