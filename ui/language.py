"""The language the window speaks, and how its parts follow a change of it.

The window's own words come from the one catalog (`app.i18n`). The words Qt draws itself — the
OK/Cancel/Yes/No/Save buttons of message boxes, input and file dialogs — come from Qt's catalog for
its base module (`qtbase_<lang>.qm`, shipped with PySide6; PyInstaller collects it into the frozen
build's `PySide6/Qt/translations`, and `selftest.py` checks it is found there). One translator is
installed on the application at a time: a dialog opened after a language change has the new words.

A part that words itself (`Retranslatable`) keeps `lang` and redraws its texts in `retranslate()`;
the window sets both when the logged-in operator's language differs from the one on screen.
"""

from __future__ import annotations

from typing import Protocol

from app.i18n import DEFAULT_LANGUAGE, LANGUAGES
from ui.qt import QCoreApplication, QLibraryInfo, QTranslator

QT_CATALOG = "qtbase"


class Retranslatable(Protocol):
    lang: str

    def retranslate(self) -> None: ...


_installed: list[QTranslator] = []  # the one installed on the application, if any


def qt_translations_dir() -> str:
    return QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)


def install_qt_translation(lang: str) -> bool:
    """Make Qt's own dialog words `lang`'s; False if Qt's catalog for it cannot be found (English
    stays). English needs no catalog: Qt's words are English."""
    app = QCoreApplication.instance()
    if app is None:
        return False
    for old in _installed:
        app.removeTranslator(old)
    _installed.clear()
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    if lang == "en":
        return True
    translator = QTranslator(app)
    if not translator.load(f"{QT_CATALOG}_{lang}", qt_translations_dir()):
        return False
    app.installTranslator(translator)
    _installed.append(translator)
    return True
