"""Distinct sounds for ok and error (assets/sounds, made by make_sounds.py there).

Played with QSoundEffect where QtMultimedia loads and an audio output exists. A bench without
either (QtMultimedia needs libpulse on Linux) stays silent for ok and uses the system bell for
errors: the red flash and banner carry the message anyway.
"""

from __future__ import annotations

from app.pack.outcomes import Level
from ui.qt import QApplication, QMediaDevices, QObject, QSoundEffect, QUrl
from ui.resources import ASSETS

SOUND_FILES = {Level.OK: "ok.wav", Level.WARN: "ok.wav", Level.ERROR: "error.wav"}


def _audio_available() -> bool:
    return QSoundEffect is not None and QMediaDevices is not None and bool(QMediaDevices.audioOutputs())


class Sounds(QObject):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._effects: dict[Level, QSoundEffect] = {}
        if _audio_available():
            for level, name in SOUND_FILES.items():
                effect = QSoundEffect(self)
                effect.setSource(QUrl.fromLocalFile(str(ASSETS / "sounds" / name)))
                self._effects[level] = effect

    @property
    def audible(self) -> bool:
        return bool(self._effects)

    def play(self, level: Level) -> None:
        effect = self._effects.get(level)
        if effect is not None:
            effect.play()
        elif level is Level.ERROR:
            QApplication.beep()
