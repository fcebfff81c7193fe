"""PySide6 station UI: a thin layer over `app` (see ui/qt.py for the one place Qt is imported)."""
