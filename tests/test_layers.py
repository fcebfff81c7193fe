"""The layers' import rules (docs/architecture.md §1) hold, and the domain runs without Qt.

The rules themselves are import-linter contracts in pyproject.toml; this runs them the way CI does.
The headless check goes further than a static one can: with PySide6 made unimportable, every `app`
module imports and a whole order is packed, labelled and printed through `packbench pack`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from app.demo import product_barcode

ROOT = Path(__file__).resolve().parents[1]

NO_QT = """
import importlib, importlib.abc, json, pkgutil, sys

class NoQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6"):
            raise ImportError(f"{name} is blocked: the core must run without Qt")
        return None

sys.meta_path.insert(0, NoQt())
import app
for module in pkgutil.walk_packages(app.__path__, "app."):
    importlib.import_module(module.name)
from main import main
data_dir, scans, weights, labels = sys.argv[1:5]
assert main(["--data-dir", data_dir, "demo", "seed"]) == 0
code = main(["pack", "--data-dir", data_dir, "--scans", scans, "--weights", weights, "--printer", "file:" + labels,
             "--operator", "line-1"])
qt = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6"))
print(json.dumps({"exit": code, "qt": qt}))
"""


def test_the_import_linter_contracts_hold() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    proc = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def test_the_domain_imports_and_packs_an_order_with_qt_unimportable(tmp_path: Path) -> None:
    scans, weights, labels = tmp_path / "scans.txt", tmp_path / "weights.txt", tmp_path / "labels.txt"
    tea, chop = product_barcode("TEA-LJ-250"), product_barcode("CHOP-BMB-5")
    scans.write_text("\n".join(["TB2026112500001", tea, chop, tea]) + "\n", "utf-8")
    weights.write_text("0.712kg\n", "utf-8")
    argv = [sys.executable, "-c", NO_QT, str(tmp_path / "station"), str(scans), str(weights), str(labels)]
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    *printed, last = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert last == {"exit": 0, "qt": []}
    events = [outcome["event"] for outcome in printed if "event" in outcome]
    assert events[-2:] == ["label_queued", "label_printed"], (events, proc.stderr[-2000:])
    assert "张伟 138****5678" in labels.read_text("utf-8")
