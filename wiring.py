"""The composition root: where the drivers, the domain and the sync client are put together.

The station window (ui/app.py) and the headless line (`packbench pack`, main.py) open a station the
same way, through `open_station`: the devices station.toml names (the headless line may hand in its
own file-fed scanner and scale), the packing camera, the runtime with the listeners it needs (rules
after a bench change, the packing photo, the supervisors' chat robot) and the sync worker. Nothing
else in the project wires these; `app` itself never imports a driver (docs/architecture.md §1).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from app.clock import Clock
from app.config import CONFIG_FILENAME, StationConfig
from app.devices import Camera, LabelPrinter, Scale, Scanner
from app.i18n import N_, Words
from app.pack.flow import PackFlow
from app.pack.outcomes import Outcome
from app.station import (
    BACKUP_CHECK_SECONDS,
    OVERDUE_CHECK_SECONDS,
    RULES_AFTER,
    RULES_TIMER_DAYS,
    RULES_TIMER_SECONDS,
    StationRuntime,
)
from app.store import Store
from app.store.models import Order
from app.worker import Chore
from sync.worker import SyncStatus, SyncWorker

log = logging.getLogger(__name__)

WEDGE = "wedge"  # scanner = "wedge": no scanner driver; the window's keyboard-wedge filter is the scanner
T = TypeVar("T")


@dataclass
class Devices:
    scanner: Scanner | None  # None: the keyboard wedge, read by the station window
    scale: Scale
    printer: LabelPrinter
    camera: Camera | None = None


def open_devices(config: StationConfig, clock: Clock, scanner: Scanner | None = None,
                 scale: Scale | None = None, *, source: Callable[[str], str | Words]) -> Devices:
    """The devices the config's specs name; a `scanner` or `scale` given here replaces the configured one.
    `source(key)` says where a spec came from ("…/station.toml: printer", "--printer"): a spec that
    cannot be used is refused in one line naming it, as a settings error names its file and key."""
    from drivers.printers.factory import open_printer
    from drivers.scales import open_scale
    from drivers.scanners import open_scanner
    from drivers.spec import SpecError

    def opened(key: str, open_: Callable[[], T]) -> T:
        try:
            return open_()
        except SpecError as exc:
            raise SpecError(N_("{source}: {problem}"), source=source(key), problem=exc.words) from None

    if scanner is None and config.scanner != WEDGE:
        scanner = opened("scanner", lambda: open_scanner(config.scanner, clock))
    camera = None
    if config.camera:  # imported only when configured: it brings requests, ~0.1 s of start-up
        from drivers.camera import open_camera

        camera = opened("camera", lambda: open_camera(config.camera, clock=clock))
    return Devices(scanner, scale or opened("scale", lambda: open_scale(config.scale, clock)),
                   opened("printer", lambda: open_printer(config.printer)), camera)


def configured_in(data_dir: Path) -> Callable[[str], str]:
    """`open_devices`' source for specs read from station.toml."""
    return lambda key: f"{Path(data_dir) / CONFIG_FILENAME}: {key}"


def build_runtime(store: Store, data_dir: Path, config: StationConfig, clock: Clock, printer: LabelPrinter,
                  scanner: Scanner | None, scale: Scale | None, retry_seconds: float = 5.0,
                  camera: Camera | None = None) -> StationRuntime:
    """The runtime as the window and the headless line both run it: flow, passports, periodic checks,
    rules after a bench change, the packing photo when the bench has a camera, and the chat robot."""
    from app.cases import open_overdue_handover_cases
    from app.keys import load_or_create_station_key
    from app.passport import PassportIssuer
    from app.rules import blocking_rules, load_book, ruleset_listeners, run_rules

    book = load_book(store)
    # The sync worker installs the server's rule sets on its own thread: swap them in here at once
    # (one attribute assignment, so a scan sees either the old set or the new one, never a mix).
    ruleset_listeners.append(book.follow)

    def gate(order: Order) -> list[tuple[str, str, str]]:
        return [(rule.id, rule.tag, rule.title) for rule in blocking_rules(store, clock, book.current, order)]

    passports = PassportIssuer(store, load_or_create_station_key(data_dir), config.passport_base_url,
                               config.station, clock)
    # New shipments get their passport in their own transaction; the runtime's for reprints.
    flow = PackFlow(store, clock, config.flow_config(), gate=gate, passports=passports)
    overdue = timedelta(hours=config.handover_overdue_hours)

    def check_overdue() -> None:
        # Returns nothing: a number a chore returns is its next delay (app.worker), and the count of
        # cases opened, mostly 0, ran the check again at once, for ever (a core spun, the GIL held).
        open_overdue_handover_cases(store, clock, config.station, overdue)

    background = [
        Chore(OVERDUE_CHECK_SECONDS, check_overdue),
        Chore(BACKUP_CHECK_SECONDS, lambda: back_up_if_due(store, config, data_dir, clock)),
        # Time-based rules (no tracking update, out for delivery too long, ...) over recent orders.
        Chore(RULES_TIMER_SECONDS, lambda: run_rules(store, clock, book.current, "timer",
                                                     since=clock.now() - timedelta(days=RULES_TIMER_DAYS))),
    ]
    runtime = StationRuntime(flow, clock, printer, config.sender_party(), scanner=scanner, scale=scale,
                             tz=config.timezone, retry_seconds=retry_seconds, passports=passports,
                             background=background)

    def rules_after(outcome: Outcome) -> None:
        # A bench change (label, override, void, cancel seen mid-pack) re-runs the order's rules,
        # on the housekeeping thread so the next scan does not wait for them.
        order_id = outcome.order_id
        if outcome.event in RULES_AFTER and order_id:
            runtime.background_call(lambda: run_rules(store, clock, book.current, "order_change", [order_id]))
        elif outcome.event == "logout":  # a packer's shift ends: a backup, off the scan thread
            runtime.background_call(lambda: back_up_if_due(store, config, data_dir, clock, now=True))

    runtime.listeners.outcome.append(rules_after)
    runtime.on_stop.append(lambda: ruleset_listeners.remove(book.follow))
    if camera is not None:
        from app.evidence.photo import PackingPhotographer, photo_listener

        def report(message: str) -> None:
            for listener in list(runtime.listeners.error):
                listener(message)

        photographer = PackingPhotographer(camera, store, clock, data_dir, post=runtime.call, on_error=report)
        runtime.listeners.outcome.append(photo_listener(photographer, flow))
        runtime.on_stop.append(photographer.close)
    if config.notify_url:  # new cases of the configured routes and severities go to the supervisors' chat robot
        from app.cases import case_listeners
        from app.notify import CaseNotifier

        notifier = CaseNotifier(config.notify_url, config.notify_severities, clock, routes=config.notify_routes,
                                secret=config.notify_secret, at_mobiles=config.notify_at_mobiles)
        case_listeners.append(notifier.notify)

        def stop_notifier() -> None:
            if notifier.notify in case_listeners:
                case_listeners.remove(notifier.notify)
            notifier.close()

        runtime.on_stop.append(stop_notifier)
    return runtime


def back_up_if_due(store: Store, config: StationConfig, data_dir: Path, clock: Clock, now: bool = False) -> None:
    """An automatic backup (app.backups) when one is due, or `now` (shift end); a failure is logged."""
    from app.backups import BackupError, back_up, backup_due

    folder = config.backup_folder(data_dir)
    if now or backup_due(folder, clock, config.backup_every_hours):
        try:
            back_up(store, folder, clock, config.backup_keep)
        except BackupError as exc:  # the bench packs on; the next check tries again, doctor shows the age
            log.error("%s", exc)


def start_sync(store: Store, data_dir: Path, clock: Clock,
               listener: Callable[[SyncStatus], None] | None = None) -> SyncWorker | None:
    """The sync worker when the station is enrolled, else None. A broken sync.toml is logged and the
    station packs on: its events wait in the outbox until sync works again."""
    from sync.worker import start_worker_if_enrolled

    try:
        return start_worker_if_enrolled(store, data_dir, clock, listener)
    except Exception:
        log.exception("sync worker not started")
        return None


@dataclass
class OpenStation:
    """One station's runtime, devices and sync worker, started and closed together."""

    config: StationConfig
    store: Store
    devices: Devices
    runtime: StationRuntime
    sync_worker: SyncWorker | None
    data_dir: Path | None = None
    log_file: logging.Handler | None = None

    def close(self, shift_end: bool = False) -> None:
        """Stop the runtime and the sync worker; at `shift_end` (the window closing) back up the store."""
        from app.logfile import remove_log_file

        if self.sync_worker is not None:
            self.sync_worker.stop()  # before the store closes: it ends after the batch in flight
        self.runtime.stop()
        if shift_end and self.data_dir is not None:
            back_up_if_due(self.store, self.config, self.data_dir, self.runtime.clock, now=True)
        remove_log_file(self.log_file)


def open_station(store: Store, data_dir: Path, config: StationConfig, clock: Clock, devices: Devices,
                 retry_seconds: float = 5.0, on_sync: Callable[[SyncStatus], None] | None = None) -> OpenStation:
    """Runtime and sync worker over `devices`; the runtime is started by its owner (window or line)."""
    from app.logfile import install_log_file

    log_file = install_log_file(data_dir)
    runtime = build_runtime(store, data_dir, config, clock, devices.printer, devices.scanner, devices.scale,
                            retry_seconds, devices.camera)
    # An enrolled station syncs in the background, the window and the headless line alike.
    return OpenStation(config, store, devices, runtime, start_sync(store, data_dir, clock, on_sync), data_dir,
                       log_file)
