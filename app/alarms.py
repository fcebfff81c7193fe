"""Alarms: faults of the bench itself that no scan can fix, each one the whole window until it ends
(docs/architecture.md §4.5).

A lost scanner, scale or printer, a disk that stopped the store and a server that refuses the station
are not answers to a scan: the packer must leave the flow, fix something (or call someone) and come
back. `AlarmBoard` decides which alarms stand and which one the window shows; the UI only renders
it. It is fed the events that already exist — device states (`DeviceStatus`), the pack flow's
outcomes (a print job the printer did not take, a label printed), the runtime's halt on a disk
fault and the sync worker's "needs an admin" — and clears an alarm on the event that proves the
fault gone (the device connected again, a label printed, a sync round accepted, the full disk
written again), so the bench returns to the order where it was without anyone touching a key.

Severity, most severe first: the disk (nothing can be recorded: packing stopped), the scanner (no
input at all), the printer (parcels pile up unlabelled), the scale (parcels cannot be finished),
sync (the bench works on offline; only the server side waits). Several at once: the most severe is
shown, the others listed under it.

Words are English message ids (`N_`), translated where shown (`Alarm.title`, `Alarm.action`);
`detail` is what the device or system said itself (a driver's reason, a path, the server's refusal);
`Alarm.detail_text` translates the reasons drivers give as message ids (`app.read_back.translate_reasons`).
The board is not thread-safe: feed it from one thread (the UI thread, through the bridge).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from app.clock import Clock
from app.devices import DeviceState, DeviceStatus
from app.i18n import N_, translator
from app.pack.outcomes import Outcome
from app.read_back import translate_reasons
from app.store.faults import DISK_FULL


class AlarmKind(Enum):
    """In order of severity, most severe first."""

    DISK = "disk"
    SCANNER = "scanner"
    PRINTER = "printer"
    SCALE = "scale"
    SYNC = "sync"


SEVERITY = tuple(AlarmKind)
_DISK_AT = re.compile(r" on (.+?)(?: \(|;|$)")  # "disk full: free space on /srv (12.0 KB free); …"
CLOCK_SKEW = "clock skew"  # how the server words a refusal for the station's clock (server/auth.py)

# (title, what to do), by the alarm's cause.
_WORDS: dict[str, tuple[str, str]] = {
    "scanner_lost": (N_("Scanner lost"),
                     N_("Check the scanner's cable and power. Packing goes on by itself once it is back.")),
    "scanner_fault": (N_("Scanner not working"),
                      N_("Unplug the scanner and plug it in again. Packing goes on by itself once it is back.")),
    "scale_lost": (N_("Scale lost"),
                   N_("Check the scale's cable and power. Weighing goes on by itself once it is back.")),
    "scale_fault": (N_("Scale not working"),
                    N_("Check that the scale is switched on, level and empty, then plug it in again. "
                       "Weighing goes on by itself once it is back.")),
    "printer": (N_("Printer stopped"),
                N_("Check the printer: labels loaded, head closed, cable and power. "
                   "The waiting labels print by themselves once it is back.")),
    "disk_full": (N_("Disk full — packing stopped"),
                  N_("Free space on this computer's disk. Packing goes on by itself once there is room; "
                     "everything scanned before this is safe.")),
    "disk_error": (N_("Disk error — packing stopped"),
                   N_("Have the disk checked, then restart the station. Everything scanned before this is safe.")),
    "sync_clock": (N_("This computer's clock is wrong"),
                   N_("Call an admin to set the clock right, then press Sync now. "
                      "Packing goes on; parcels wait to be sent.")),
    "sync_refused": (N_("The server refuses this station"),
                     N_("Call an admin to enroll the station again (packbench station enroll), then press Sync "
                        "now. Packing goes on; parcels wait to be sent.")),
}


@dataclass(frozen=True)
class Alarm:
    kind: AlarmKind
    cause: str  # a key of the words above
    detail: str
    since: datetime

    def title(self, lang: str) -> str:
        return translator(lang).gettext(_WORDS[self.cause][0])

    def action(self, lang: str) -> str:
        return translator(lang).gettext(_WORDS[self.cause][1])

    def detail_text(self, lang: str) -> str:
        return translate_reasons(self.detail, lang)


class AlarmBoard:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._standing: dict[AlarmKind, Alarm] = {}
        self.listeners: list[Callable[[AlarmBoard], None]] = []  # after every change

    @property
    def active(self) -> Alarm | None:
        """The alarm the window shows: the most severe one standing."""
        return next((self._standing[kind] for kind in SEVERITY if kind in self._standing), None)

    @property
    def others(self) -> tuple[Alarm, ...]:
        """The alarms standing behind the active one, most severe first."""
        return tuple(self._standing[kind] for kind in SEVERITY if kind in self._standing)[1:]

    # ----- the events that raise and clear alarms -----
    def device_status(self, status: DeviceStatus) -> None:
        if status.device not in ("scanner", "scale"):
            return  # a printer is judged by its jobs (`outcome`): it reports no state of its own
        kind = AlarmKind(status.device)
        if status.state is DeviceState.CONNECTED:
            self._clear(kind)
        else:
            fault = "fault" if status.state is DeviceState.FAULT else "lost"
            self._raise(kind, f"{status.device}_{fault}", status.detail)

    def outcome(self, outcome: Outcome) -> None:
        """A job the printer did not take waits for it; any label printed proves it back."""
        if outcome.event == "print_failed":
            self._raise(AlarmKind.PRINTER, "printer", str(outcome.detail.get("reason") or ""))
        elif outcome.event == "label_printed":
            self._clear(AlarmKind.PRINTER)

    def halted(self, message: str) -> None:
        """The runtime stopped on a disk fault (`StationRuntime._stop_on`). The detail is the disk's
        folder: the rest of the runtime's English line is in the log."""
        where = _DISK_AT.search(message)
        self._raise(AlarmKind.DISK, "disk_full" if message.startswith(DISK_FULL) else "disk_error",
                    where.group(1) if where else "")

    def resumed(self) -> None:
        """A full disk has room again and the runtime takes work again (`StationRuntime.retry_store`)."""
        self._clear(AlarmKind.DISK)

    def sync(self, needs_admin: bool, reason: str | None) -> None:
        """The sync worker's state: refused credentials pause it until an admin acts."""
        if not needs_admin:
            self._clear(AlarmKind.SYNC)
            return
        reason = reason or ""
        self._raise(AlarmKind.SYNC, "sync_clock" if CLOCK_SKEW in reason else "sync_refused", reason)

    # ----- the board -----
    def _raise(self, kind: AlarmKind, cause: str, detail: str) -> None:
        standing = self._standing.get(kind)
        if standing is not None and (standing.cause, standing.detail) == (cause, detail):
            return  # the same fault reported again (a driver retrying): no new alarm, no new sound
        since = standing.since if standing is not None else self.clock.now()
        self._standing[kind] = Alarm(kind, cause, detail, since)
        self._changed()

    def _clear(self, kind: AlarmKind) -> None:
        if self._standing.pop(kind, None) is not None:
            self._changed()

    def _changed(self) -> None:
        for listener in list(self.listeners):
            listener(self)
