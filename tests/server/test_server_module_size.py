"""The server's modules stay small (its import rules are import-linter contracts: tests/test_layers.py)."""

from __future__ import annotations

from pathlib import Path

SERVER = Path(__file__).parents[2] / "server"


def test_modules_stay_small() -> None:
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in SERVER.glob("*.py")}
    assert max(sizes.values()) <= 300, sizes
