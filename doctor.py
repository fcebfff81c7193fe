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
from app.errors import words_of
from app.i18n import ENGLISH, N_, Phrase, Words, environment_language, localize, plain
from app.store.db import as_store_fault

Verdict = Literal["ok", "warn", "FAIL"]
DISK_FAIL_BYTES = 200 << 20  # below this a day's scans, photos and backups may not fit
DISK_WARN_BYTES = 2 << 30
SKEW_WARN_S = 60.0  # passports and audit times are stamped by this clock
SKEW_FAIL_S = 300.0  # the server refuses requests signed with a clock this far off
OUTBOX_WARN_S = 3600.0
BACKUP_WARN_H = 26.0  # a daily backup that missed a day


@dataclass(frozen=True)
class Finding:
    """One check's verdict; `words` say why, worded in the CLI's language when printed (the check's
    name and the verdict are codes)."""

    check: str
    verdict: Verdict
    words: Words | str

    @property
    def detail(self) -> str:
        return str(plain(self.words))

    def line(self, lang: str = ENGLISH) -> str:
        return f"{self.verdict:<4} {self.check}: {localize(self.words, lang)}"


def _found(check: str, verdict: Verdict, message: str, /, **values: object) -> Finding:
    return Finding(check, verdict, Phrase(message, values))


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
        yield Finding("config", "FAIL", exc.words)
        return
    mode = Phrase(N_("demo (simulated devices)") if bench.config.demo else N_("production"))
    yield _found("config", "ok", N_("station {station}, {mode}, language {language}"), station=bench.config.station,
                 mode=mode, language=bench.config.language)


def _store(bench: Bench) -> Iterator[Finding]:
    from app.store import StoreError, open_store
    from app.store.db import STORE_FILENAME
    from app.store.migrations import LATEST_VERSION

    if not (bench.data_dir / STORE_FILENAME).exists():
        yield _found("store", "warn", N_("no store in {path} yet (it is created at first start)"), path=bench.data_dir)
        return
    try:
        store = open_store(bench.data_dir, bench.clock)
    except (StoreError, OSError) as exc:
        yield Finding("store", "FAIL", words_of(exc))
        return
    try:
        verdict = str(store.db.execute_sql("PRAGMA quick_check").fetchone()[0])
        if verdict != "ok":
            yield _found("store", "FAIL", N_("integrity: {problem} — restore the last backup"), problem=verdict)
        else:
            yield _found("store", "ok", N_("integrity ok, schema {version} of {latest}"), version=store.schema_version,
                         latest=LATEST_VERSION)
        yield from _outbox(bench)
    finally:
        store.close()


def _outbox(bench: Bench) -> Iterator[Finding]:
    from sync.outbox import oldest_unsent_at, outbox_depth, rejected_count

    depth, oldest, rejected = outbox_depth(), oldest_unsent_at(), rejected_count()
    if depth == 0:
        if rejected:
            yield _found("outbox", "warn", N_("nothing waiting; {refused} event(s) refused by the server: "
                                              "`packbench sync --rejected`"), refused=rejected)
        else:
            yield _found("outbox", "ok", N_("nothing waiting"))
        return
    age = (bench.clock.now() - oldest).total_seconds() if oldest else 0.0
    verdict: Verdict = "warn" if age > OUTBOX_WARN_S or rejected else "ok"
    if rejected:
        yield _found("outbox", verdict, N_("{count} event(s) waiting, oldest {age} old; {refused} refused (kept safely "
                                           "until the server takes them)"),
                     count=depth, age=_age(age), refused=rejected)
    else:
        yield _found("outbox", verdict, N_("{count} event(s) waiting, oldest {age} old (kept safely until the server "
                                           "takes them)"), count=depth, age=_age(age))


def _disk(bench: Bench) -> Iterator[Finding]:
    target = bench.data_dir if bench.data_dir.exists() else bench.data_dir.parent
    usage = shutil.disk_usage(target)
    free = Phrase(N_("{free:.1f} GiB free of {total:.1f} GiB on {path}"),
                  {"free": usage.free / 2**30, "total": usage.total / 2**30, "path": target})
    if usage.free < DISK_FAIL_BYTES:
        yield _found("disk", "FAIL", N_("only {free}: free space before the store fills the disk"), free=free)
    elif usage.free < DISK_WARN_BYTES:
        yield Finding("disk", "warn", free)
    else:
        yield Finding("disk", "ok", free)


def _devices(bench: Bench) -> Iterator[Finding]:
    config = bench.config
    if config is None:
        return
    if config.demo:
        yield _found("devices", "ok", N_("demo mode: simulated scanner, scale and printer"))
        return
    yield _port("scanner", config.scanner)
    yield _port("scale", config.scale)
    yield _printer(config.printer)


def _port(kind: str, spec_text: str) -> Finding:
    from drivers.spec import SpecError, parse_spec

    if spec_text in ("wedge", "sim"):
        return _found(kind, "ok", N_("keyboard wedge (read by the station window)") if spec_text == "wedge"
                      else N_("simulated"))
    try:
        spec = parse_spec(spec_text)
    except SpecError as exc:
        return Finding(kind, "FAIL", exc.words)
    if spec.scheme == "serial":
        import serial

        try:
            port = serial.serial_for_url(spec.target, baudrate=spec.int_option("baud", 9600, minimum=50),
                                         timeout=0.2, exclusive=False)
            port.close()
        except (serial.SerialException, OSError, ValueError) as exc:
            return _found(kind, "FAIL", N_("{port}: {problem} — plugged in? the right port?"), port=spec.target,
                          problem=exc)
        return _found(kind, "ok", N_("{port} opens"), port=spec.target)
    if spec.scheme == "file":
        if Path(spec.target).exists():
            return _found(kind, "ok", N_("{path} exists"), path=spec.target)
        return _found(kind, "FAIL", N_("{path} is missing"), path=spec.target)
    return _found(kind, "ok", N_("{spec} (not probed)"), spec=spec_text)


def _printer(spec_text: str) -> Finding:
    from drivers.printers import status
    from drivers.printers.factory import open_printer
    from drivers.printers.printer import LanguagePrinter
    from drivers.printers.transport import TransportError
    from drivers.spec import SpecError

    try:
        printer = open_printer(spec_text)
    except SpecError as exc:
        return Finding("printer", "FAIL", exc.words)
    if not isinstance(printer, LanguagePrinter):
        return Finding("printer", "ok", printer.name)
    if not printer.profile.check_status or printer.profile.language in ("pdf", "text"):
        return _found("printer", "ok", N_("{printer} (this printer reports no status)"), printer=printer.name)
    try:
        printer.transport.open()
        try:
            fault = status.check(printer.profile.language, printer.transport, printer.profile.status_timeout)
        finally:
            printer.transport.close()
    except TransportError as exc:
        return _found("printer", "FAIL", N_("{printer}: {problem}"), printer=printer.name, problem=exc.reason)
    if fault:
        return _found("printer", "FAIL", N_("{printer}: {problem}"), printer=printer.name, problem=fault)
    return _found("printer", "ok", N_("{printer} answers: ready"), printer=printer.name)


def _server(bench: Bench) -> Iterator[Finding]:
    from sync.credentials import CredentialsError, load_credentials

    try:
        creds = load_credentials(bench.data_dir)
    except CredentialsError as exc:
        yield Finding("enrollment", "FAIL", exc.words)
        return
    if creds is None:
        yield _found("enrollment", "warn", N_("not enrolled: nothing syncs and passport QR codes open no page "
                                              "(`packbench station enroll --server URL --token T`)"))
        return
    yield _found("enrollment", "ok", N_("station {station} of {warehouse} at {server}"), station=creds.station_id,
                 warehouse=creds.warehouse or "?", server=creds.server)
    import requests

    from app.version import VERSION, version_tuple

    try:
        started = bench.clock.now()
        answer = requests.get(f"{creds.server}/healthz", timeout=(3, 5))
        data = answer.json()
        server_time = datetime.fromisoformat(str(data["server_time"]).replace("Z", "+00:00"))
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        yield _found("server", "warn", N_("{server} does not answer ({problem}); the bench works offline and syncs "
                                          "when it is back"), server=creds.server, problem=type(exc).__name__)
        return
    finished = bench.clock.now()
    local = started + (finished - started) / 2  # the server's clock was read half-way through the request
    skew = (local - server_time).total_seconds()
    verdict: Verdict = "FAIL" if abs(skew) > SKEW_FAIL_S else "warn" if abs(skew) > SKEW_WARN_S else "ok"
    yield _found("clock", verdict, N_("{skew:+.1f} s against the server — the server refuses requests beyond ±300 s: "
                                      "set this PC's time") if verdict == "FAIL" else
                 N_("{skew:+.1f} s against the server"), skew=skew)
    recommended = str(data.get("station_version") or "")
    if recommended and version_tuple(recommended) > version_tuple(VERSION):
        yield _found("version", "warn", N_("this is {version}; the server recommends {recommended} (update when the "
                                           "bench is idle)"), version=VERSION, recommended=recommended)
    elif recommended:
        yield _found("version", "ok", N_("{version} (server recommends {recommended})"), version=VERSION,
                     recommended=recommended)
    else:
        yield Finding("version", "ok", VERSION)


def _backups(bench: Bench) -> Iterator[Finding]:
    config = bench.config
    if config is None:
        return
    folder = Path(getattr(config, "backup_dir", "") or bench.data_dir / "backups")
    backups = sorted(folder.glob("*.sqlite3"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    if not backups:
        yield _found("backup", "warn", N_("no backup in {folder} yet"), folder=folder)
        return
    age_h = (bench.clock.now().timestamp() - backups[-1].stat().st_mtime) / 3600
    yield _found("backup", "warn" if age_h > BACKUP_WARN_H else "ok",
                 N_("{count} in {folder}, newest {file} ({age:.1f} h old)"), count=len(backups), folder=folder,
                 file=backups[-1].name, age=age_h)


CHECKS: tuple[Callable[[Bench], Iterator[Finding]], ...] = (_config, _store, _disk, _devices, _server, _backups)


def diagnose(data_dir: Path, clock: Clock | None = None) -> list[Finding]:
    bench = Bench(Path(data_dir), None, clock or SystemClock())
    findings: list[Finding] = []
    for check in CHECKS:
        try:
            findings.extend(check(bench))
        except Exception as exc:  # a doctor reports every problem, including the one in its own check
            named = as_store_fault(exc, bench.data_dir)  # a damaged store, a failing disk: as every command says
            findings.append(Finding(check.__name__.strip("_"), "FAIL", words_of(named)) if named is not exc else
                            _found(check.__name__.strip("_"), "FAIL", N_("{kind}: {problem}"),
                                   kind=type(exc).__name__, problem=words_of(exc)))
    return findings


def run_doctor(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from app import cli

    out = out or sys.stdout
    lang = environment_language()  # the CLI's own lines (docs/i18n.md)
    findings = diagnose(cli.data_dir(args))
    for finding in findings:
        print(finding.line(lang), file=out)
    failed = sum(f.verdict == "FAIL" for f in findings)
    warned = sum(f.verdict == "warn" for f in findings)
    print("doctor: " + cli.cli_text(N_("{failed} failed, {warned} warning(s), {ok} ok"), failed=failed, warned=warned,
                                    ok=len(findings) - failed - warned), file=out)
    return 1 if failed else 0


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
