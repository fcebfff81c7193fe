"""`packbench --self-test` and `--version` from the source tree (the frozen build runs the same code in
.ci/run): every check reports, and a broken part makes it fail and say which."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

import selftest
from app.version import VERSION, version_tuple

ROOT = Path(__file__).resolve().parents[1]


def test_version_names_the_version_and_the_build() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), "--version"], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert proc.returncode == 0 and proc.stdout.strip() == f"PackBench {VERSION} (source)"
    assert version_tuple("0.10.1") > version_tuple("0.9.9") and version_tuple("v1.2") == (1, 2)


def test_the_self_test_passes_and_says_what_it_checked(qapp: object) -> None:
    out = io.StringIO()
    assert selftest.run_self_test(out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0] == f"PackBench self-test — PackBench {VERSION} (source)"
    assert [line.split(":")[0] for line in lines[1:-1]] == ["ok   qt", "ok   store", "ok   labels", "ok   barcodes",
                                                          "ok   drivers"]
    assert "Code 128 SF1234567890123 and the passport QR decode back" in out.getvalue()
    assert lines[-1] == "self-test passed: 5 of 5 checks ok"


def test_a_missing_part_fails_the_self_test_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selftest, "DRIVER_MODULES", (*selftest.DRIVER_MODULES, "drivers.no_such_driver"))
    monkeypatch.setattr(selftest, "CHECKS", (("drivers", selftest.check_drivers),))
    out = io.StringIO()
    assert selftest.run_self_test(out) == 1
    assert "FAIL drivers: drivers.no_such_driver: ModuleNotFoundError" in out.getvalue()
    assert out.getvalue().splitlines()[-1] == "self-test FAILED: 0 of 1 checks ok"
