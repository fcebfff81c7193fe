"""The GUI's composition root: store, config, devices, runtime, bridge, wedge and window.

With no station.toml yet the station starts in demo mode: simulated devices, seeded demo orders and
the demo panel. `PACKBENCH_SELFTEST=1` starts, saves a screenshot (to `PACKBENCH_SELFTEST_PNG`,
default `selftest.png` in the data dir) and quits: a smoke test for installers.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from app.alarms import AlarmBoard
from app.cli import cli_text
from app.clock import Clock, SystemClock
from app.config import StationConfig, load_config, station_language
from app.demo import seed_demo
from app.devices import DeviceState, DeviceStatus, Scan
from app.errors import report
from app.i18n import N_
from app.station import StationRuntime
from app.store import Store, open_store
from app.store.db import as_store_fault
from app.store.lock import DataDirLock, hold_data_dir
from drivers.printers.simulated import SimulatedPrinter
from drivers.scales import SimulatedScale
from drivers.scanners import SerialScanner, SimulatedScanner
from ui.bridge import StationBridge
from ui.demo_panel import DemoPanel
from ui.handover_controller import HandoverController
from ui.handover_screen import HandoverScreen
from ui.interrupt import EXIT_INTERRUPTED, TerminalInterrupt
from ui.language import install_qt_translation
from ui.main_window import MainWindow
from ui.qt import QApplication, QMessageBox, QTimer
from ui.resources import install_fonts
from ui.scan_notes import ScanNotes
from ui.sync_status import SyncBar, SyncBridge
from ui.triage_controller import TriageController
from ui.triage_screen import TriageScreen
from ui.wedge import WedgeFilter
from wiring import WEDGE, OpenStation, configured_in, open_devices, open_station

MANIFESTS = "manifests"  # DATA_DIR/manifests/<batch>.pdf
EVIDENCE = "evidence"  # DATA_DIR/evidence/<order>.pdf
TYPED = "wedge:typed"  # a scan's source when the packer accepted keys the wedge had set aside as typing
log = logging.getLogger(__name__)


def application() -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv)
        app.setApplicationName("PackBench")
    assert isinstance(app, QApplication)
    return app


@dataclass
class Station:
    """Everything one running station window is made of, started and closed together."""

    opened: OpenStation
    bridge: StationBridge
    wedge: WedgeFilter
    window: MainWindow
    triage: TriageController | None = None
    sync: SyncBridge | None = None
    lock: DataDirLock | None = None

    @property
    def config(self) -> StationConfig:
        return self.opened.config

    @property
    def store(self) -> Store:
        return self.opened.store

    @property
    def runtime(self) -> StationRuntime:
        return self.opened.runtime

    def start(self) -> None:
        self.wedge.install(application())
        if self.opened.devices.scanner is None:  # a wedge cannot be seen unplugged: it is there while we listen
            self.window.pack_screen.show_status(DeviceStatus("scanner", DeviceState.CONNECTED, WEDGE))
        self.runtime.start()
        self.bridge.refresh()
        if self.triage is not None:
            self.triage.start()  # the queue and the mode button's badge, every few seconds
        self.window.show()

    def close(self) -> None:
        self.wedge.uninstall(application())
        if self.triage is not None:
            self.triage.stop()
            self.triage.detach()
        if self.sync is not None:
            self.sync.detach()
        self.opened.close(shift_end=True)
        self.bridge.detach()
        self.window.close()
        self.store.close()
        if self.lock is not None:
            self.lock.release()


def build_station(data_dir: Path, demo: bool = False, clock: Clock | None = None,
                  retry_seconds: float = 5.0) -> Station:
    install_fonts(application())
    clock = clock or SystemClock()
    config = load_config(data_dir)  # before the store: a bad config must not create a store
    install_qt_translation(config.language)
    if demo or config.demo:
        config = replace(config, demo=True, scanner="sim", scale="sim", printer="sim")
    lock = hold_data_dir(data_dir, "packbench gui")  # one station window (or line) per store
    try:
        store = open_store(data_dir, clock)
    except Exception:
        lock.release()
        raise
    sync = SyncBridge()
    try:
        store.recover()  # after a crash or a full disk: this window is the one that may write
        if config.demo:
            seed_demo(store, clock)  # only into a store without orders
        devices = open_devices(config, clock, source=configured_in(data_dir))
        opened = open_station(store, data_dir, config, clock, devices, retry_seconds, on_sync=sync.listen)
    except Exception:
        store.close()
        lock.release()
        raise
    runtime, devices, worker = opened.runtime, opened.devices, opened.sync_worker
    scanner, scale, printer = devices.scanner, devices.scale, devices.printer
    bridge = StationBridge(runtime)
    wedge = WedgeFilter(config.wedge_settings(), config.double_read_ms)
    wedge.scanned.connect(lambda code: runtime.submit_scan(Scan(code.encode(), WEDGE, clock.now())))
    wedge.confirmed.connect(lambda code: runtime.submit_scan(Scan(code.encode(), TYPED, clock.now())))
    notes = ScanNotes(config.language)
    wedge.typed.connect(notes.show_typed)
    wedge.double_read.connect(notes.count_double_read)
    if isinstance(scanner, SerialScanner):
        scanner.on_double_read = lambda raw: notes.double_read.emit(raw.decode("utf-8", "replace"))
    notes.accept.connect(wedge.accept_typed)
    lang = config.language
    panel = None
    if config.demo and isinstance(scanner, SimulatedScanner):
        panel = DemoPanel(scanner, scale if isinstance(scale, SimulatedScale) else None,
                          printer if isinstance(printer, SimulatedPrinter) else None, lang)
    handover = HandoverScreen(
        HandoverController(runtime, store, clock, config, Path(data_dir) / MANIFESTS),
        config.carriers, lang, config.timezone)
    triage_controller = TriageController(runtime, store, clock, config, Path(data_dir) / EVIDENCE)
    triage = TriageScreen(triage_controller, lang, config.timezone)
    sync.attach(worker)
    sync_bar = SyncBar(lang, enrolled=worker is not None)
    sync.status.connect(sync_bar.show_status)
    sync_bar.sync_now.clicked.connect(sync.kick)
    alarms = AlarmBoard(clock)
    sync.status.connect(lambda status: alarms.sync(status.needs_admin, status.last_error))
    window = MainWindow(bridge, clock, lang, config.timezone, config.station, config.demo, panel, handover, triage,
                        sync_bar, alarms, notes)
    window.alarm_view.sync_now.connect(sync.kick)
    return Station(opened, bridge, wedge, window, triage_controller, sync, lock)


def run_station(data_dir: Path, demo: bool = False) -> int:
    interrupt = TerminalInterrupt()  # first of all: a Ctrl-C during start-up is noted, not raised mid-way
    try:
        return _run_station(Path(data_dir), demo, interrupt)
    finally:
        interrupt.restore()


def _run_station(data_dir: Path, demo: bool, interrupt: TerminalInterrupt) -> int:
    app = application()
    self_test = os.environ.get("PACKBENCH_SELFTEST") == "1"
    try:
        station = build_station(data_dir, demo)
    except Exception as exc:  # the one reporter: a line on stderr and, but in a self-test, the dialog
        # In the station's language: the packer reads the dialog, and on Windows LANG is rarely set.
        return report(as_store_fault(exc, data_dir), data_dir,
                      show=None if self_test else partial(QMessageBox.critical, None, "PackBench"),
                      lang=station_language(data_dir))
    if interrupt.received:  # Ctrl-C while starting: close what was opened, never show the window
        station.close()
        closed = cli_text(N_("interrupted while starting; station closed"))
        print(f"packbench: {closed}", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    station.start()
    interrupt.watch(app)
    if not self_test:
        ready = cli_text(N_("station window open; Ctrl-C here closes it"))
        print(f"packbench: {ready}", file=sys.stderr, flush=True)
    if self_test:
        shot = Path(os.environ.get("PACKBENCH_SELFTEST_PNG") or data_dir / "selftest.png")
        shot.parent.mkdir(parents=True, exist_ok=True)
        QTimer.singleShot(1000, lambda: app.exit(0 if station.window.grab().save(str(shot)) else 1))
    try:
        code = app.exec()
    finally:
        station.close()
    # Closed by Ctrl-C: the one line and exit code (130) every command ends with on one.
    return report(KeyboardInterrupt(), data_dir) if interrupt.received else code
