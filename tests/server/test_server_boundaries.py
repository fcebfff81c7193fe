"""The server's import rules (design §2): it imports only `app` and `protocol` — never Qt, the
drivers, the UI or the station's sync client — and its modules stay small."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
SERVER = ROOT / "server"
FIRST_PARTY = ("app", "drivers", "server", "sync", "ui", "main")


def test_server_imports_only_app_and_sync_protocol() -> None:
    offending = []
    for path in sorted(SERVER.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            for name in names:
                top = name.split(".")[0]
                if top == "PySide6" or (top in FIRST_PARTY and top not in ("app", "server")
                                        and name != "sync.protocol"):
                    offending.append(f"{path.name}: {name}")
    assert offending == []


def test_loading_the_whole_server_pulls_in_no_qt_drivers_or_ui() -> None:
    modules = ", ".join(f"server.{p.stem}" for p in sorted(SERVER.glob("*.py")) if p.stem != "__init__")
    probe = (f"import sys, importlib; [importlib.import_module(m) for m in '{modules}'.split(', ')]; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'drivers', 'ui') "
             "or m == 'sync.client'))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_modules_stay_small() -> None:
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in SERVER.glob("*.py")}
    assert max(sizes.values()) <= 300, sizes
