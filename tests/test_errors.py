"""One error root, one reporter: each failure the issue named is one line on stderr and its exit code.

Every command runs in a subprocess as a person would run it, so a traceback anywhere would show.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.errors import ExitCode, InputError, PackBenchError, describe, report

ROOT = Path(__file__).resolve().parents[1]


def packbench(*argv: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, argv)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The failure's line: the last on stderr, the only one from the reporter (notes may come before)."""
    err = proc.stderr.strip()
    assert "Traceback" not in err, err
    reported = [line for line in err.splitlines() if line.startswith("packbench: ")]
    assert len(reported) == 1 and err.endswith(reported[0]), err
    return reported[0]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("errors") / "station"
    assert packbench("--data-dir", data, "demo", "seed").returncode == 0
    return data


def test_pack_on_a_corrupt_store_is_one_line(tmp_path: Path) -> None:
    data = tmp_path / "station"
    data.mkdir()
    (data / "packbench.sqlite3").write_bytes(b"not a database at all " * 500)
    proc = packbench("pack", "--data-dir", data, "--scans", "-")
    assert proc.returncode == ExitCode.FAILED
    assert "not a PackBench store" in one_line(proc)


def test_an_unknown_import_format_is_an_input_error(seeded: Path, tmp_path: Path) -> None:
    (tmp_path / "o.csv").write_text("order_id,sku\n1,2\n", "utf-8")
    proc = packbench("import-orders", tmp_path / "o.csv", "--format", "shopfy", "--data-dir", seeded)
    assert proc.returncode == ExitCode.INPUT
    assert "unknown format 'shopfy'" in one_line(proc)


def test_a_device_spec_that_cannot_be_used_names_its_option(seeded: Path) -> None:
    """pack's devices come from its options: a bad one is named as the option, as station.toml's are named
    by file and key (tests/ui/test_start_errors.py), before any scan is read."""
    proc = packbench("pack", "--data-dir", seeded, "--scans", "-", "--printer", "tcp:127.0.0.1:9?darkness=dark")
    assert proc.returncode == ExitCode.INPUT
    assert one_line(proc).startswith("packbench: --printer: tcp:127.0.0.1:9?darkness=dark: ")


def test_server_port_out_of_range_is_one_line(tmp_path: Path) -> None:
    proc = packbench("server", "--port", "99999", "--data-dir", tmp_path / "srv")
    assert proc.returncode == ExitCode.INPUT
    assert "--port must be 1 to 65535, not 99999" in one_line(proc)


def test_an_endless_token_lifetime_is_refused(tmp_path: Path) -> None:
    for ttl in ("inf", "nan", "-1", "1e9"):
        proc = packbench("server", "station-token", "--warehouse", "W1", "--ttl-hours", ttl, "--data-dir",
                         tmp_path / "srv")
        assert proc.returncode == ExitCode.INPUT, (ttl, proc.stderr)
        assert "--ttl-hours must be more than 0" in one_line(proc)


def test_evidence_never_creates_a_missing_folder(seeded: Path, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "x.pdf"
    proc = packbench("evidence", "TB2026112500001", "-o", target, "--data-dir", seeded)
    assert proc.returncode == ExitCode.INPUT
    assert "does not exist" in one_line(proc)
    assert not (tmp_path / "missing").exists()
    per_order = tmp_path / "missing" / "packs"
    proc = packbench("evidence", "TB2026112500001", "--per-order", per_order, "--data-dir", seeded)
    assert proc.returncode == ExitCode.INPUT and not (tmp_path / "missing").exists()
    proc = packbench("evidence", "TB2026112500001", "--per-order", tmp_path / "packs", "--data-dir", seeded)
    assert proc.returncode == 0 and (tmp_path / "packs" / "TB2026112500001.pdf").exists()


def test_ctrl_c_during_an_import_is_one_line_exit_130_and_imports_nothing(seeded: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "orders.csv"
    os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "import-orders", str(fifo), "--data-dir",
                             str(seeded)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    with fifo.open("w", encoding="utf-8") as writer:  # returns once the import has opened the file
        writer.write("order_id,shop,status,paid_at,line_no,sku,qty\nINT-1,s,paid,2026-11-25T09:00:00+08:00,1,")
        writer.flush()
        time.sleep(0.5)  # the import is now blocked reading the rest
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == ExitCode.INTERRUPTED
    assert err.strip().splitlines()[-1] == "packbench: interrupted" and "Traceback" not in err
    with sqlite3.connect(seeded / "packbench.sqlite3") as db:
        assert db.execute("select count(*) from \"order\" where order_id = 'INT-1'").fetchone() == (0,)


def test_a_bug_is_logged_with_its_traceback_and_shown_as_one_line(tmp_path: Path) -> None:
    class Stream:
        text = ""

        def write(self, s: str) -> None:
            self.text += s

        def flush(self) -> None:
            pass

    def broken() -> None:
        raise RuntimeError("wires crossed\nsecond line")

    stream, shown = Stream(), []
    try:
        broken()
    except RuntimeError as exc:
        code = report(exc, tmp_path, stream=stream, show=shown.append)  # type: ignore[arg-type]
    assert code == ExitCode.FAILED
    assert stream.text.count("\n") == 1 and "unexpected error RuntimeError: wires crossed; second line" in stream.text
    assert shown == [stream.text.strip().removeprefix("packbench: ")]
    log = (tmp_path / "packbench.log").read_text("utf-8")
    assert "Traceback" in log and "in broken" in log


def test_families_carry_their_exit_codes() -> None:
    from app.devices import PrinterError
    from app.passport import PassportError
    from drivers.spec import SpecError

    assert describe(InputError("bad\nvalue")) == ("bad; value", ExitCode.INPUT, True)
    assert describe(PrinterError("paper out"))[1] == ExitCode.DEVICE
    assert describe(PassportError("forged"))[1] == ExitCode.FORGED
    assert describe(SpecError("x"))[1] == ExitCode.INPUT and issubclass(SpecError, ValueError)
    assert describe(KeyboardInterrupt()) == ("interrupted", 130, True)
    assert describe(FileNotFoundError(2, "No such file or directory", "/x/y"))[0] == "/x/y: No such file or directory"
    assert isinstance(PrinterError("x"), PackBenchError)
