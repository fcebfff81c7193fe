"""The last label, big: a click on the pack screen's thumbnail (or a PREVIEW scan) opens it at the
window's height, so the packer can read the address and number against the parcel; a click (or Esc,
or the next scan) closes it."""

from __future__ import annotations

from app.i18n import translator
from ui.qt import QDialog, QMouseEvent, QPixmap, Qt, QVBoxLayout, QWidget, Signal
from ui.widgets import PlainLabel


class ClickableLabel(PlainLabel):
    clicked = Signal()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        super().mousePressEvent(event)
        self.clicked.emit()


class LabelPreview(QDialog):
    CLOSED_BY_SCAN = 2  # the result when the flow closed it (the next scan): the flow knows already

    def __init__(self, png: bytes, lang: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.setWindowTitle(translator(lang).gettext("Last label"))
        pixmap = QPixmap()
        pixmap.loadFromData(png, "PNG")
        height = max(parent.window().height() - 80, 200)
        self.image = PlainLabel()
        self.image.setPixmap(pixmap.scaledToHeight(height, Qt.TransformationMode.SmoothTransformation))
        layout = QVBoxLayout(self)
        layout.addWidget(self.image)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the wedge's keys stay with the screen behind

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.accept()
