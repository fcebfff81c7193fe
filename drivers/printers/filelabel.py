"""`file:PATH`: append each label, as text, to a file (a spool a person or a script can read)."""

from __future__ import annotations

import os
from pathlib import Path

from app.devices import PrinterError
from app.labels import Label
from drivers.printers.text import render_text


class FileLabelPrinter:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.name = f"file:{self.path}"

    def print_label(self, label: Label) -> None:
        try:
            with open(self.path, "a", encoding="utf-8") as spool:
                spool.write(render_text(label))
                spool.flush()
                os.fsync(spool.fileno())
        except OSError as exc:
            raise PrinterError(f"cannot write {self.path}: {exc.strerror}") from exc
