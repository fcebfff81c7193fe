"""Regenerate ok.wav and error.wav: `python assets/sounds/make_sounds.py`.

ok: one short high beep (880 Hz, 120 ms). error: two low square-wave buzzes (220 Hz, 2 × 150 ms),
unmistakable for the ok beep even in a noisy warehouse. 16-bit mono 22.05 kHz, a few KB each.
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 22050
HERE = Path(__file__).resolve().parent


def tone(freq: float, ms: int, square: bool = False, volume: float = 0.5) -> list[float]:
    n = RATE * ms // 1000
    fade = RATE * 5 // 1000  # 5 ms ramps: no click at either end
    out = []
    for i in range(n):
        s = math.sin(2 * math.pi * freq * i / RATE)
        if square:
            s = 0.6 if s >= 0 else -0.6
        ramp = min(1.0, i / fade, (n - 1 - i) / fade)
        out.append(volume * s * ramp)
    return out


def silence(ms: int) -> list[float]:
    return [0.0] * (RATE * ms // 1000)


def write(name: str, samples: list[float]) -> None:
    with wave.open(str(HERE / name), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(b"".join(struct.pack("<h", round(s * 32767)) for s in samples))


if __name__ == "__main__":
    write("ok.wav", tone(880, 120))
    write("error.wav", tone(220, 150, square=True) + silence(70) + tone(220, 150, square=True))
