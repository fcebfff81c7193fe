"""`packbench doctor`: what is wrong with this bench, one line each, for the person standing at it.

Every check says `ok`, `warn` or `FAIL` and why, in words an IT person or a shift lead can act on:
the configuration, the store (integrity, schema), disk space, each configured device (is the port
there, does the printer answer its status query), the enrollment, the clock against the server's,
the outbox (how much is waiting, for how long), the last backup, and whether the server recommends
a newer version (updating stays manual). Exit 0 unless a check FAILed. It changes nothing.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, TextIO

from app.clock import Clock, SystemClock
from app.config import StationConfig

Verdict = Literal["ok", "warn", "FAIL"]
DISK_FAIL_BYTES = 200 << 20  # below this a day's scans, photos and backups may not fit
DISK_WARN_BYTES = 2 << 30
SKEW_WARN_S = 60.0  # passports and audit times are stamped by this clock
SKEW_FAIL_S = 300.0  # the server refuses requests signed with a clock this far off
OUTBOX_WARN_S = 3600.0
BACKUP_WARN_H = 26.0  # a daily backup that missed a day


@dataclass(frozen=True)
class Finding:
    check: str
    verdict: Verdict
    detail: str

    def line(self) -> str:
        return f"{self.verdict:<4} {self.check}: {self.detail}"


@dataclass
class Bench:
    """What the checks look at, opened once."""

    data_dir: Path
    config: StationConfig | None
    clock: Clock


def _config(bench: Bench) -> Iterator[Finding]:
    from app.config import ConfigError, load_config

    try:
        bench.config = load_config(bench.data_dir)
    except ConfigError as exc:
        yield Finding("config", "FAIL", str(exc))
        return
    mode = "demo (simulated devices)" if bench.config.demo else "production"
    yield Finding("config", "ok", f"station {bench.config.station}, {mode}, language {bench.config.language}")


def _store(bench: Bench) -> Iterator[Finding]:
    from app.store import StoreError, open_store
    from app.store.db import STORE_FILENAME
    from app.store.migrations import LATEST_VERSION

    if not (bench.data_dir / STORE_FILENAME).exists():
        yield Finding("store", "warn", f"no store in {bench.data_dir} yet (it is created at first start)")
        return
    try:
        store = open_store(bench.data_dir, bench.clock)
    except (StoreError, OSError) as exc:
        yield Finding("store", "FAIL", str(exc))
        return
    try:
        verdict = str(store.db.execute_sql("PRAGMA quick_check").fetchone()[0])
        if verdict != "ok":
            yield Finding("store", "FAIL", f"integrity: {verdict} — restore the last backup")
        else:
            yield Finding("store", "ok", f"integrity ok, schema {store.schema_version} of {LATEST_VERSION}")
        yield from _outbox(bench)
    finally:
        store.close()


def _outbox(bench: Bench) -> Iterator[Finding]:
    from sync.outbox import oldest_unsent_at, outbox_depth, rejected_count

    depth, oldest, rejected = outbox_depth(), oldest_unsent_at(), rejected_count()
    if depth == 0:
        yield Finding("outbox", "ok" if not rejected else "warn",
                      "nothing waiting" + (f"; {rejected} event(s) refused by the server: "
                                           "`packbench sync --rejected`" if rejected else ""))
        return
    age = (bench.clock.now() - oldest).total_seconds() if oldest else 0.0
    verdict: Verdict = "warn" if age > OUTBOX_WARN_S or rejected else "ok"
    yield Finding("outbox", verdict, f"{depth} event(s) waiting, oldest {_age(age)} old"
                  + (f"; {rejected} refused" if rejected else "") + " (kept safely until the server takes them)")


def _disk(bench: Bench) -> Iterator[Finding]:
    target = bench.data_dir if bench.data_dir.exists() else bench.data_dir.parent
    usage = shutil.disk_usage(target)
    free = f"{usage.free / 2**30:.1f} GiB free of {usage.total / 2**30:.1f} GiB on {target}"
    if usage.free < DISK_FAIL_BYTES:
        yield Finding("disk", "FAIL", f"only {free}: free space before the store fills the disk")
    elif usage.free < DISK_WARN_BYTES:
        yield Finding("disk", "warn", free)
    else:
        yield Finding("disk", "ok", free)


def _devices(bench: Bench) -> Iterator[Finding]:
    config = bench.config
    if config is None:
        return
    if config.demo:
        yield Finding("devices", "ok", "demo mode: simulated scanner, scale and printer")
        return
    yield _port("scanner", config.scanner)
    yield _port("scale", config.scale)
    yield _printer(config.printer)


def _port(kind: str, spec_text: str) -> Finding:
    from drivers.spec import SpecError, parse_spec

    if spec_text in ("wedge", "sim"):
        return Finding(kind, "ok", "keyboard wedge (read by the station window)" if spec_text == "wedge"
                       else "simulated")
    try:
        spec = parse_spec(spec_text)
    except SpecError as exc:
        return Finding(kind, "FAIL", str(exc))
    if spec.scheme == "serial":
        import serial

        try:
            port = serial.serial_for_url(spec.target, baudrate=spec.int_option("baud", 9600, minimum=50),
                                         timeout=0.2, exclusive=False)
            port.close()
        except (serial.SerialException, OSError, ValueError) as exc:
            return Finding(kind, "FAIL", f"{spec.target}: {exc} — plugged in? the right port?")
        return Finding(kind, "ok", f"{spec.target} opens")
    if spec.scheme == "file":
        exists = Path(spec.target).exists()
        return Finding(kind, "ok" if exists else "FAIL", f"{spec.target} {'exists' if exists else 'is missing'}")
    return Finding(kind, "ok", f"{spec_text} (not probed)")


def _printer(spec_text: str) -> Finding:
    from drivers.printers import status
    from drivers.printers.factory import open_printer
    from drivers.printers.printer import LanguagePrinter
    from drivers.printers.transport import TransportError
    from drivers.spec import SpecError

    try:
        printer = open_printer(spec_text)
    except SpecError as exc:
        return Finding("printer", "FAIL", str(exc))
    if not isinstance(printer, LanguagePrinter):
        return Finding("printer", "ok", f"{printer.name}")
    if not printer.profile.check_status or printer.profile.language in ("pdf", "text"):
        return Finding("printer", "ok", f"{printer.name} (this printer reports no status)")
    try:
        printer.transport.open()
        try:
            fault = status.check(printer.profile.language, printer.transport, printer.profile.status_timeout)
        finally:
            printer.transport.close()
    except TransportError as exc:
        return Finding("printer", "FAIL", f"{printer.name}: {exc.reason}")
    if fault:
        return Finding("printer", "FAIL", f"{printer.name}: {fault}")
    return Finding("printer", "ok", f"{printer.name} answers: ready")


def _server(bench: Bench) -> Iterator[Finding]:
    from sync.credentials import CredentialsError, load_credentials

    try:
        creds = load_credentials(bench.data_dir)
    except CredentialsError as exc:
        yield Finding("enrollment", "FAIL", str(exc))
        return
    if creds is None:
        yield Finding("enrollment", "warn", "not enrolled: nothing syncs and passport QR codes open no page "
                                            "(`packbench station enroll --server URL --token T`)")
        return
    yield Finding("enrollment", "ok", f"station {creds.station_id} of {creds.warehouse or '?'} at {creds.server}")
    import requests

    from app.version import VERSION, version_tuple

    try:
        started = bench.clock.now()
        answer = requests.get(f"{creds.server}/healthz", timeout=(3, 5))
        data = answer.json()
        server_time = datetime.fromisoformat(str(data["server_time"]).replace("Z", "+00:00"))
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        yield Finding("server", "warn", f"{creds.server} does not answer ({type(exc).__name__}); the bench "
                                        "works offline and syncs when it is back")
        return
    finished = bench.clock.now()
    local = started + (finished - started) / 2  # the server's clock was read half-way through the request
    skew = (local - server_time).total_seconds()
    verdict: Verdict = "FAIL" if abs(skew) > SKEW_FAIL_S else "warn" if abs(skew) > SKEW_WARN_S else "ok"
    yield Finding("clock", verdict, f"{skew:+.1f} s against the server"
                  + (" — the server refuses requests beyond ±300 s: set this PC's time" if verdict == "FAIL" else ""))
    recommended = str(data.get("station_version") or "")
    if recommended and version_tuple(recommended) > version_tuple(VERSION):
        yield Finding("version", "warn", f"this is {VERSION}; the server recommends {recommended} "
                                         "(update when the bench is idle)")
    else:
        yield Finding("version", "ok", f"{VERSION}" + (f" (server recommends {recommended})" if recommended else ""))


def _backups(bench: Bench) -> Iterator[Finding]:
    config = bench.config
    if config is None:
        return
    folder = Path(getattr(config, "backup_dir", "") or bench.data_dir / "backups")
    backups = sorted(folder.glob("*.sqlite3"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    if not backups:
        yield Finding("backup", "warn", f"no backup in {folder} yet")
        return
    age_h = (bench.clock.now().timestamp() - backups[-1].stat().st_mtime) / 3600
    yield Finding("backup", "warn" if age_h > BACKUP_WARN_H else "ok",
                  f"{len(backups)} in {folder}, newest {backups[-1].name} ({age_h:.1f} h old)")


CHECKS: tuple[Callable[[Bench], Iterator[Finding]], ...] = (_config, _store, _disk, _devices, _server, _backups)


def diagnose(data_dir: Path, clock: Clock | None = None) -> list[Finding]:
    bench = Bench(Path(data_dir), None, clock or SystemClock())
    findings: list[Finding] = []
    for check in CHECKS:
        try:
            findings.extend(check(bench))
        except Exception as exc:  # a doctor reports every problem, including the one in its own check
            findings.append(Finding(check.__name__.strip("_"), "FAIL", f"{type(exc).__name__}: {exc}"))
    return findings


def run_doctor(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from app import cli

    out = out or sys.stdout
    findings = diagnose(cli.data_dir(args))
    for finding in findings:
        print(finding.line(), file=out)
    failed = sum(f.verdict == "FAIL" for f in findings)
    warned = sum(f.verdict == "warn" for f in findings)
    print(f"doctor: {failed} failed, {warned} warning(s), {len(findings) - failed - warned} ok", file=out)
    return 1 if failed else 0


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
