"""A full or failing disk (docs/architecture.md §3.3): the real cause reaches the packer in one line, the bench
stops taking work instead of failing per scan, `pack` exits non-zero, and the next start after
space is freed opens, checkpoints and verifies the store by itself."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.audit import verify_chain
from app.clock import FakeClock
from app.demo import product_barcode, seed_demo
from app.devices import Scan
from app.headless import run_line
from app.labels import Party, build_label
from app.pack.flow import FlowConfig, PackFlow
from app.printing import PrintResult
from app.station import StationRuntime
from app.store import Store, open_store, store_path
from app.store.db import StoreFaultError
from app.store.faults import DISK_FULL, IO_ERROR, disk_fault
from app.store.models import AuditEntry, PrintJob, ScanEvent
from drivers.printers.simulated import SimulatedPrinter
from drivers.scales import SimulatedScale
from tests.helpers import FullDisk

ROOT = Path(__file__).resolve().parents[1]
PACKER, ORDER = "B-1001", "TB2026112500001"
TEA, CHOP, MUG = product_barcode("TEA-LJ-250"), product_barcode("CHOP-BMB-5"), product_barcode("MUG-CER-01")


class Bench:
    def __init__(self, store: Store, clock: FakeClock) -> None:
        self.clock = clock
        self.runtime = StationRuntime(PackFlow(store, clock, FlowConfig(station="T-1")), clock, SimulatedPrinter(),
                                      Party("仓", "0571", "杭州"), scale=SimulatedScale(clock))
        self.outcomes: list[str] = []
        self.errors: list[str] = []
        self.halts: list[str] = []
        self.runtime.listeners.outcome.append(lambda o: self.outcomes.append(o.event))
        self.runtime.listeners.error.append(self.errors.append)
        self.runtime.listeners.halted.append(self.halts.append)
        self.unrecorded: list[bytes] = []
        self.runtime.listeners.unrecorded.append(lambda scan: self.unrecorded.append(scan.raw))

    def scan(self, *codes: str) -> None:
        for code in codes:
            self.clock.advance(1)
            self.runtime.submit_scan(Scan(code.encode(), "test", self.clock.now()))
        self.runtime.run_pending()


def test_sqlite_full_halts_the_bench_once_with_the_real_cause(demo_store: Store, clock: FakeClock) -> None:
    """Without root: SQLite's own SQLITE_FULL, from a page limit at the store's current size."""
    bench = Bench(demo_store, clock)
    bench.scan(PACKER, ORDER, TEA)
    assert bench.outcomes == ["login", "order_opened", "item_ok"]
    pages = demo_store.db.execute_sql("PRAGMA page_count").fetchone()[0]
    demo_store.db.execute_sql(f"PRAGMA max_page_count = {pages}")  # the disk is full from here on
    for _ in range(200):
        bench.scan("NOT-A-CODE")
        if bench.halts:
            break
    assert len(bench.halts) == 1 and bench.errors == bench.halts  # said once, in one line
    message = bench.halts[0]
    assert message.startswith("disk full: free space on ") and "\n" not in message
    assert "nothing scanned since" in message and "was lost" in message and "rollback" not in message
    assert message.endswith("packing stopped: free space: packing goes on by itself once there is room")
    assert bench.runtime.halted == message
    reported = len(bench.outcomes)
    bench.scan(CHOP, TEA, "NOT-A-CODE")  # no more work, and no error per scan
    assert len(bench.outcomes) == reported and len(bench.errors) == 1
    # Each answered as not recorded: the one that hit the full disk, and each after it.
    assert bench.unrecorded == [b"NOT-A-CODE", CHOP.encode(), TEA.encode(), b"NOT-A-CODE"]
    # Everything the packer was told is in the store; the input that hit the full disk is not.
    assert ScanEvent.select().count() == reported
    assert verify_chain().ok


def test_an_io_error_on_commit_halts_and_loses_nothing_committed(demo_store: Store, clock: FakeClock,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    bench = Bench(demo_store, clock)
    bench.scan(PACKER, ORDER, TEA)
    real_commit = demo_store.db.commit

    def failing_commit() -> None:
        error = sqlite3.OperationalError("disk I/O error")
        error.sqlite_errorcode = sqlite3.SQLITE_IOERR | (3 << 8)  # type: ignore[attr-defined]  # _WRITE
        raise error

    monkeypatch.setattr(demo_store.db, "commit", failing_commit)
    bench.scan(CHOP)
    assert len(bench.halts) == 1 and bench.halts[0].startswith(f"disk I/O error on {demo_store.path.parent}")
    assert bench.halts[0].endswith("packing stopped: check the disk, then restart the station")
    monkeypatch.setattr(demo_store.db, "commit", real_commit)
    assert bench.outcomes == ["login", "order_opened", "item_ok"]
    assert ScanEvent.select().count() == 3 and bench.runtime.flow.lines()[1][2] == 0  # CHOP not counted


def test_the_bench_goes_on_by_itself_once_the_disk_has_room(demo_store: Store, clock: FakeClock,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The periodic re-check (`retry_store`, a chore of the runtime) finds the disk still full and
    waits; once a write commits again the bench takes scans, records the label that printed meanwhile,
    puts the outage and the scans it refused in the audit chain, and names those scans to repeat."""
    bench = Bench(demo_store, clock)
    resumed: list[str] = []
    bench.runtime.listeners.resumed.append(lambda words: resumed.append(words.text("en")))
    printer = bench.runtime.printer
    assert isinstance(printer, SimulatedPrinter)
    printer.fault = "paper out"
    bench.scan(PACKER, "TB2026112500002", MUG)  # one MUG: weighed, its label queued, the printer refuses it
    assert bench.outcomes[-2:] == ["label_queued", "print_failed"]
    job = PrintJob.get()
    disk = FullDisk(demo_store, monkeypatch)
    bench.scan(CHOP)  # hits the full disk: packing stops
    assert len(bench.halts) == 1 and bench.runtime.halted is not None
    bench.runtime.submit_scan(Scan(TEA.encode(), "test", clock.now()))
    label = build_label(job.id, bench.runtime.sender, "T-1", bench.runtime.tz)
    bench.runtime._deliver_print_result(PrintResult(job.id, label, True))  # a retry that printed meanwhile
    bench.runtime.run_pending()
    assert bench.unrecorded == [CHOP.encode(), TEA.encode()] and "label_printed" not in bench.outcomes
    bench.runtime.retry_store()  # still full: still stopped, nothing said
    assert bench.runtime.halted is not None and resumed == []
    disk.free()
    bench.runtime.retry_store()
    assert bench.runtime.halted is None
    assert resumed == [f"The disk has room again: packing goes on. Not recorded while it was stopped — scan again: "
                       f"{CHOP}, {TEA}"]
    assert bench.outcomes[-1] == "label_printed" and PrintJob.get().state == "done"
    entry = AuditEntry.select().where(AuditEntry.kind == "store.resumed").get()
    assert json.loads(entry.payload)["refused"] == [CHOP, TEA]
    bench.scan(ORDER, TEA)  # the bench takes work again
    assert bench.outcomes[-2:] == ["order_opened", "item_ok"] and len(bench.halts) == 1
    assert verify_chain().ok


def test_a_failing_disk_waits_for_a_restart(demo_store: Store, clock: FakeClock) -> None:
    """An I/O error is no full disk: a write that works again proves nothing about the disk."""
    bench = Bench(demo_store, clock)
    resumed: list[object] = []
    bench.runtime.listeners.resumed.append(resumed.append)

    def failing() -> None:
        raise OSError(errno.EIO, "Input/output error")

    bench.runtime.call(failing)
    bench.runtime.run_pending()
    assert bench.runtime.halted is not None
    bench.runtime.retry_store()
    assert bench.runtime.halted is not None and resumed == []


def test_the_headless_line_ends_at_a_full_disk_and_its_line_says_to_start_it_again(
        demo_store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The line stops at the halt (it does not wait for room as the window does): its JSON error and
    its last stderr line say so, and the runtime no longer retries the store behind it."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")  # the CLI's lines in English; the bench speaks Chinese (its default)
    bench = Bench(demo_store, clock)
    FullDisk(demo_store, monkeypatch)
    bench.runtime.submit_scan(Scan(PACKER.encode(), "test", clock.now()))
    out = io.StringIO()
    assert run_line(bench.runtime, out, input_done=None) == 1
    error = json.loads(out.getvalue().splitlines()[-1])
    assert error["event"] == "error"
    # The halt line was English in the JSON whatever the bench's language.
    assert error["message"].startswith("磁盘已满：请清理 ") and "起扫描的内容都没有丢失" in error["message"]
    assert error["message"].endswith("——已停止包装：请清理空间，然后重新启动流水线")
    line = capsys.readouterr().err.splitlines()[-1]
    assert line == f"packbench: {bench.runtime.halted}"
    assert line.endswith("packing stopped: free space, then start the line again")
    bench.runtime.retry_store()
    assert bench.runtime.halted is not None and "start the line again" in bench.runtime.halted


@pytest.mark.parametrize(("raised", "kind"), [
    (sqlite3.OperationalError("database or disk is full"), DISK_FULL),
    (OSError(errno.ENOSPC, "No space left on device"), DISK_FULL),
    (OSError(errno.EIO, "Input/output error"), IO_ERROR),
    (sqlite3.OperationalError("no such table: x"), None),
])
def test_the_cause_is_found_behind_a_failed_rollback(raised: Exception, kind: str | None) -> None:
    try:
        try:
            raise raised
        except Exception:
            raise sqlite3.OperationalError("cannot rollback - no transaction is active")  # noqa: B904
    except Exception as masked:
        assert disk_fault(masked) == kind


# ----- a real full file system (tmpfs: needs root, which CI has) -----
@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"mount not permitted here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path) -> Path:
    filler = folder / "filler.bin"
    with open(filler, "wb", buffering=0) as out, contextlib.suppress(OSError):
        while True:
            out.write(b"\0" * 4096)
    return filler


def _pack(data_dir: Path, printer: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(ROOT / "main.py"), "pack", "--data-dir", str(data_dir),
                             "--scans", "-", "--printer", f"file:{printer}", "--operator", "王芳"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)


def _seed(data_dir: Path) -> None:
    clock = FakeClock()
    store = open_store(data_dir, clock)
    seed_demo(store, clock, waybills=20)
    store.close()


def test_disk_full_during_packing_then_freed(small_disk: Path, tmp_path: Path) -> None:
    data_dir = small_disk / "station"
    _seed(data_dir)
    line = _pack(data_dir, tmp_path / "labels.txt")
    assert line.stdin is not None
    assert line.stdin is not None and line.stdout is not None
    line.stdin.write(f"{ORDER}\n{TEA}\n".encode())
    line.stdin.flush()
    while b'"item_ok"' not in line.stdout.readline():
        assert line.poll() is None
    filler = _fill(small_disk)  # the disk fills up while the line is packing
    for _ in range(400):
        try:
            line.stdin.write(b"NOT-A-CODE\n")
            line.stdin.flush()
        except BrokenPipeError:
            break
        if line.poll() is not None:
            break
    out, err = line.communicate(timeout=60)
    stderr = err.decode()
    assert line.returncode == 1, stderr
    last = [text for text in stderr.splitlines() if text.startswith("packbench: ")]
    assert len(last) == 1 and last[0].startswith(f"packbench: disk full: free space on {small_disk}"), stderr
    assert "Traceback" not in stderr and "rollback" not in stderr + out.decode()
    printed = [ln for ln in out.decode().splitlines() if '"event": "error"' in ln]
    assert len(printed) == 1 and "磁盘已满" in printed[0]  # the JSON in the bench's language
    # Still full: the next start says so in one line and changes nothing.
    again = subprocess.run([sys.executable, str(ROOT / "main.py"), "--data-dir", str(data_dir), "operator", "add",
                            "x", "--role", "packer", "--badge", "B-1009"], capture_output=True, cwd=ROOT, timeout=60)
    assert again.returncode == 1 and "disk full" in again.stderr.decode() and "Traceback" not in again.stderr.decode()
    # Space freed: read-only commands and the next line start without anyone repairing the file.
    filler.unlink()
    for argv in (["audit", "verify"], ["backup", "--to", str(tmp_path / "copy.sqlite3")]):
        done = subprocess.run([sys.executable, str(ROOT / "main.py"), "--data-dir", str(data_dir), *argv],
                              capture_output=True, cwd=ROOT, timeout=60)
        assert done.returncode == 0, done.stderr.decode()
    line = _pack(data_dir, tmp_path / "labels.txt")
    out, err = line.communicate(f"{CHOP}\n{TEA}\n".encode(), timeout=60)
    assert line.returncode == 0, err.decode()
    assert '"label_printed"' in out.decode()
    store = open_store(data_dir)
    try:
        assert store.integrity_check() == "ok" and verify_chain().ok
    finally:
        store.close()


def test_a_real_full_disk_freed_in_the_running_station(small_disk: Path, clock: FakeClock) -> None:
    """The station's own process, on a disk that really fills: it stops, waits while the disk stays
    full, and goes on by itself once the filler is gone — no restart."""
    store = open_store(small_disk / "station", clock)
    try:
        seed_demo(store, clock, waybills=20)
        bench = Bench(store, clock)
        resumed: list[str] = []
        bench.runtime.listeners.resumed.append(lambda words: resumed.append(words.text("zh_CN")))
        bench.scan(PACKER, ORDER, TEA)
        filler = _fill(small_disk)
        for _ in range(400):
            bench.scan("NOT-A-CODE")
            if bench.halts:
                break
        assert len(bench.halts) == 1 and bench.halts[0].startswith("disk full")
        bench.runtime.retry_store()
        assert bench.runtime.halted is not None and resumed == []
        filler.unlink()
        bench.runtime.retry_store()
        assert bench.runtime.halted is None and resumed and "NOT-A-CODE" in resumed[0]
        bench.scan(CHOP)
        assert bench.outcomes[-1] == "item_ok" and verify_chain().ok
    finally:
        store.close()


def test_disk_full_before_the_start(small_disk: Path, tmp_path: Path) -> None:
    data_dir = small_disk / "station"
    _seed(data_dir)
    filler = _fill(small_disk)
    line = _pack(data_dir, tmp_path / "labels.txt")
    out, err = line.communicate(f"{ORDER}\n{TEA}\n{CHOP}\n{TEA}\n".encode(), timeout=60)
    stderr = err.decode()
    assert line.returncode == 1 and "Traceback" not in stderr, stderr
    assert f"disk full: free space on {small_disk}" in stderr and "rollback" not in stderr
    filler.unlink()
    line = _pack(data_dir, tmp_path / "labels.txt")
    out, err = line.communicate(f"{ORDER}\n{TEA}\n{CHOP}\n{TEA}\n".encode(), timeout=60)
    assert line.returncode == 0 and '"label_printed"' in out.decode(), err.decode()
    assert store_path(data_dir).exists()


def test_store_fault_error_names_free_space(tmp_path: Path) -> None:
    error = StoreFaultError(DISK_FULL, tmp_path / "packbench.sqlite3")
    assert str(error).startswith("disk full: free space on ") and "nothing committed was lost" in str(error)


def _damaged_bench(tmp_path: Path, table: str | None = "order") -> tuple[Path, dict[str, str]]:
    """A seeded bench whose `table`'s root page is overwritten (None: every page but the schema's and the
    schema version's, which the store reads as it opens): the store opens, reading the damage fails."""
    data_dir = tmp_path / "bench"
    env = {**os.environ, "LANG": "C.UTF-8"}
    _packbench(data_dir, env, "demo", "seed")
    path = store_path(data_dir)
    with contextlib.closing(sqlite3.connect(path)) as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0] if table else 0
        kept = {page for (page,) in db.execute(
            "SELECT pageno FROM dbstat WHERE name IN ('sqlite_schema', 'sqlite_master', 'schema_version')")}
        pages = db.execute("PRAGMA page_count").fetchone()[0]
    with path.open("r+b") as f:
        for page in [root] if table else sorted(set(range(1, pages + 1)) - kept):
            f.seek((page - 1) * page_size)
            f.write(b"\xa5" * page_size)
    return data_dir, env


def _packbench(data_dir: Path, env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "--data-dir", str(data_dir), *argv], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("argv", [["order", "show", ORDER], ["audit", "verify"]])
def test_a_damaged_store_is_one_line_saying_to_restore_a_backup(tmp_path: Path, argv: list[str]) -> None:
    # A store damaged past its first pages opened, then the first read of the damage was reported as a bug
    # ("unexpected error DatabaseError: database disk image is malformed").
    data_dir, env = _damaged_bench(tmp_path)
    done = _packbench(data_dir, env, *argv)
    assert done.returncode == 1
    assert done.stderr == (f"packbench: store {store_path(data_dir)} is damaged: SQLite cannot read part of it; "
                           "restore the last backup (packbench backup)\n")
    assert not list(data_dir.glob("packbench.log*"))  # not a bug: no traceback logged


def test_a_damaged_store_stops_the_headless_line(tmp_path: Path) -> None:
    # The line went on reporting one 'DatabaseError: …' error per scan and exited 6, as if orders were unfinished.
    data_dir, env = _damaged_bench(tmp_path)
    (data_dir / "scans.txt").write_text(f"{PACKER}\n{ORDER}\n{TEA}\n", "utf-8")
    done = _packbench(data_dir, env, "pack", "--scans", str(data_dir / "scans.txt"))
    assert done.returncode == 1
    errors = [json.loads(line) for line in done.stdout.splitlines() if '"event": "error"' in line]
    # The JSON in the bench's language (the station's default, Chinese; its English words were left as they
    # were), the stderr line in the CLI's (LANG=C.UTF-8: English).
    assert len(errors) == 1 and errors[0]["message"].startswith(f"{data_dir} 中的本地库已损坏；")
    assert errors[0]["message"].endswith("——已停止包装：请恢复最近的备份，然后重新启动流水线")
    line = done.stderr.splitlines()[-1]
    assert line.startswith(f"packbench: store damaged on {data_dir}; nothing scanned since ")
    assert line.endswith("packing stopped: restore the last backup, then start the line again")
