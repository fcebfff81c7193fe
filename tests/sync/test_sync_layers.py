"""`sync` imports only `app` (and itself): never ui, drivers, server, nor Qt — checked in the source and
by importing every module in a fresh interpreter."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("ui", "drivers", "server", "PySide6", "shiboken6", "main")


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_sync_source_imports_no_forbidden_layer() -> None:
    modules = sorted((ROOT / "sync").glob("*.py"))
    assert len(modules) >= 7
    for path in modules:
        bad = {n for n in imported(path) if n.split(".")[0] in FORBIDDEN}
        assert not bad, f"{path.name} imports {sorted(bad)}"


def test_importing_sync_loads_no_qt_and_no_other_layer() -> None:
    code = (
        "import sys, pkgutil, importlib, sync\n"
        "for m in pkgutil.iter_modules(sync.__path__): importlib.import_module('sync.' + m.name)\n"
        f"bad = sorted(n for n in sys.modules if n.split('.')[0] in {FORBIDDEN!r})\n"
        "print(','.join(bad))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""
