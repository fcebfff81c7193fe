"""The one module that imports PySide6 (like Anki's aqt.qt): the rest of ui/ imports Qt from here.

Keeping the binding behind one name means a Qt upgrade, a binding switch or an optional module that
fails to load is handled in one place, and a test can prove `app/` and `drivers/` never touch Qt.
"""

# ruff: noqa: F403
from PySide6.QtCore import *

# QtGui and QtWidgets re-export a few of QtCore's helper types (QIntList, …) under other classes: the
# star imports shadow them, which mypy reports; the shadowing is harmless (none is used here).
from PySide6.QtGui import *  # type: ignore[assignment]
from PySide6.QtWidgets import *  # type: ignore[assignment]
from shiboken6 import isValid as isValid

# QtMultimedia links against the platform audio stack (libpulse on Linux); a bench PC without it
# must still start, so sounds fall back to silence when the import fails.
try:
    from PySide6.QtMultimedia import QMediaDevices as QMediaDevices
    from PySide6.QtMultimedia import QSoundEffect as QSoundEffect
except ImportError:
    QMediaDevices = None  # type: ignore[misc,assignment]  # ui.sounds checks for None
    QSoundEffect = None  # type: ignore[misc,assignment]

