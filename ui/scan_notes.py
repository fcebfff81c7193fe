"""What the keyboard wedge set aside or counted, beside the mode buttons on every screen.

- "typed? 6901…": keys that came where only a scan is meant but were not fast enough for a scanner
  (a person at the keyboard, or a scan stretched beyond recognition). A click (or a lone Enter, see
  `ui.wedge`) sends them on as a scan; otherwise they expire, logged. Shown, never silently dropped.
- "double reads: N": the scanner (wedge or serial) sent a code again within its double-read window
  (`double_read_ms`, a serial SPEC's `dedupe_ms`); counted once, said here quietly so a packer who
  did mean to scan it twice knows to scan again.
"""

from __future__ import annotations

from app.i18n import translator
from ui.qt import QHBoxLayout, QPushButton, Qt, QWidget, Signal
from ui.resources import ui_font
from ui.widgets import PlainLabel, plain_tip

SHOWN_CHARS = 18  # the chip shows the start of the text; the tooltip has all of it


class ScanNotes(QWidget):
    accept = Signal()  # the packer clicked the "typed?" chip
    double_read = Signal(str)  # emit from any thread (a serial scanner's reader): counted on the UI thread

    def __init__(self, lang: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lang = lang
        self.double_reads = 0
        self.chip = QPushButton()
        self.chip.setFont(ui_font(16, bold=True))
        self.chip.setMaximumWidth(320)  # an elided code: the bar must not widen the window
        self.chip.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the screen keeps the keys (and no input method)
        self.chip.setStyleSheet("QPushButton { background: #fff3c4; color: #1a1a1a; border: 2px solid #f4b400;"
                                " border-radius: 6px; padding: 2px 10px; }")
        self.chip.clicked.connect(lambda _=False: self.accept.emit())
        self.chip.hide()
        self.doubles = PlainLabel()
        self.doubles.setFont(ui_font(12))
        self.doubles.setStyleSheet("color: #78909c;")
        self.doubles.hide()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.chip)
        row.addWidget(self.doubles)
        self.hide()  # takes no room in the bar until there is something to say
        self.double_read.connect(self.count_double_read)
        self.typed = ""
        self.double_code = ""

    def retranslate(self) -> None:
        self.show_typed(self.typed)
        if self.double_reads:
            self._word_doubles()

    def show_typed(self, text: str) -> None:
        """The whole set-aside text, or "" once it is accepted, expired or turned out to be a scan."""
        self.typed = text
        gettext = translator(self.lang).gettext
        shown = text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"
        visible = "".join(ch if ch.isprintable() else "·" for ch in shown)
        self.chip.setText(gettext("typed? {text}").format(text=visible))
        self.chip.setToolTip(plain_tip(gettext("Typed, not scanned: {text}\nClick or press Enter to use it as a scan.")
                                       .format(text=text)))
        self.chip.setVisible(bool(text))
        self._fit()

    def count_double_read(self, code: str) -> None:
        self.double_reads += 1
        self.double_code = code
        self._word_doubles()
        self.doubles.show()
        self._fit()

    def _word_doubles(self) -> None:
        gettext = translator(self.lang).gettext
        self.doubles.setText(gettext("double reads: {count}").format(count=self.double_reads))
        self.doubles.setToolTip(plain_tip(gettext("The scanner sent {code} twice, a moment apart: counted once.")
                                          .format(code=self.double_code)))

    def _fit(self) -> None:
        self.setVisible(not self.chip.isHidden() or not self.doubles.isHidden())
