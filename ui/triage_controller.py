"""The triage screen's work (docs/architecture.md §9.1), done on the station runtime's thread.

Like `HandoverController`: the screen calls `refresh`, `acknowledge`, `resolve` and `evidence` on
the UI thread; each posts its work with `runtime.call` (the one thread that writes the store), and the
result comes back as a signal, delivered queued on the UI thread. Acknowledge and resolve go through
`app.cases.transition`, which audits them and queues them for sync.

While the station runs, a timer re-reads the queue every few seconds, so a case routed to the role
of the operator logged in at the bench shows (and counts on the mode button) at once; so do the
open supervisor calls and supervisor-routed cases, on every station whoever is logged in — the
calls of the warehouse's other stations too, as the last sync round heard them (`app.calls_board`).

A case routed to supervisors or admins is worked with a badge scan (`app.case_roles`): `arm` holds
the action and takes the station's scans (`StationRuntime.divert_scans`) until a badge with the role
is scanned — that operator is the actor — or `disarm`. A packer's badge, or any other code, is
refused with the reason and the action keeps waiting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from pathlib import Path

from peewee import JOIN

from app import cases
from app.calls_board import RemoteCall, load_board
from app.case_detail import CaseDetail
from app.case_roles import CaseRefused, act_by_badge, badge_for, required_role
from app.cases import (
    SUPERVISOR_CALL,
    CaseError,
    case_listeners,
    case_sop,
    case_title,
    detail_words,
    transition,
)
from app.clock import Clock, parse_iso
from app.config import StationConfig
from app.devices import Scan
from app.errors import os_words
from app.evidence.collect import EvidenceError
from app.evidence.service import EvidenceSettings, gather_evidence, safe_name, write_evidence
from app.i18n import N_, Phrase, Words
from app.station import StationRuntime
from app.store import Store
from app.store.models import ExceptionCase, Order
from app.store.states import CaseState
from drivers.printers.preview import render_png
from ui.qt import QObject, QTimer, Signal

REFRESH_MS = 5_000  # the queue, the badge and the heat map
QUEUE_SHOWN = 1_000  # live cases sent to the screen, oldest first
HEAT_DAYS, HEAT_TAGS = 7, 5
NOTE_NEEDED = N_("Resolving needs a note — nothing resolved")
EVIDENCE_FAILED = N_("Evidence pack {order_id} not written: {reason}")


@dataclass(frozen=True)
class CaseRow:
    id: int
    opened_at: datetime
    order_id: str
    tag: str
    severity: str
    route: str
    state: str
    title: Phrase  # worded in the screen's language (app.cases.case_title)
    sop: Phrase
    detail: CaseDetail  # worded in the screen's language
    note: str = ""
    acked_by: str = ""


@dataclass(frozen=True)
class HeatMap:
    """Cases opened per day (station time zone) for the week's top tags: `counts[tag][i]` is the count
    on `days[i]`, oldest day first."""

    days: tuple[date, ...]
    counts: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(self.counts)


@dataclass(frozen=True)
class TriageSnapshot:
    rows: tuple[CaseRow, ...]
    total: int  # live (open or acknowledged) cases in all; `rows` may be fewer
    role: str | None  # of the operator logged in at the bench
    badge: int  # open cases routed to that role (to every role when nobody is logged in)
    heat: HeatMap
    as_of: datetime
    calls: int = 0  # open supervisor calls (CALL_SUPERVISOR) here and at the other stations, whoever is logged in
    for_supervisors: int = 0  # open cases routed to supervisors or admins here, this station's calls included
    elsewhere: tuple[RemoteCall, ...] = ()  # open calls at the warehouse's other stations (as of the last sync)


@dataclass(frozen=True)
class Armed:
    """An action waiting for the badge of someone allowed to take it."""

    state: str  # acknowledged | resolved
    case_ids: tuple[int, ...]
    note: str
    role: str  # the least role every one of the cases needs


@dataclass(frozen=True)
class BadgeRefused:
    """A scan while an action waited that cannot take it: `reason` is worded by the screen, in the
    language of whoever is at the bench when it shows (the logged-in operator's, else the station's)."""

    reason: Words


@dataclass(frozen=True)
class ActionResult:
    state: str  # acknowledged | resolved
    done: tuple[int, ...]
    errors: tuple[Words, ...]  # why each refused case was refused, worded by the screen
    actor: str = ""


class TriageController(QObject):
    snapshot = Signal(object)  # TriageSnapshot
    acted = Signal(object)  # ActionResult
    evidence_written = Signal(str, str, bool, object)  # order id, PDF path, chain ok, chain detail (a Phrase)
    failed = Signal(object)  # Words: one line for the banner, worded by the screen
    case_opened = Signal()  # a new case committed somewhere in the station: re-read the queue now
    armed = Signal(object)  # Armed, or None once it is done or called off
    refused = Signal(object)  # BadgeRefused

    def __init__(self, runtime: StationRuntime, store: Store, clock: Clock, config: StationConfig,
                 evidence_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runtime = runtime
        self._store = store
        self._clock = clock
        self._config = config
        self.evidence_dir = Path(evidence_dir)
        self.timer = QTimer(self, interval=REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        # New cases show at once: app.cases calls its listeners after the case's commit, on whichever
        # thread opened it; the queued signal brings the refresh to the UI thread.
        self.case_opened.connect(self.refresh)
        case_listeners.append(self._on_case)
        self.waiting: Armed | None = None  # runtime thread only

    # ----- UI thread -----
    def start(self) -> None:
        self.refresh()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def detach(self) -> None:
        if self._on_case in case_listeners:
            case_listeners.remove(self._on_case)

    def _on_case(self, case: object) -> None:
        self.case_opened.emit()

    def refresh(self) -> None:
        self._runtime.call(self._refresh)

    def acknowledge(self, case_ids: Sequence[int]) -> None:
        self._runtime.call(partial(self._act, tuple(case_ids), CaseState.ACKNOWLEDGED, ""))

    def resolve(self, case_ids: Sequence[int], note: str) -> None:
        if not note.strip():  # transition() refuses it too; no trip to the runtime thread for nothing
            self.failed.emit(Phrase(NOTE_NEEDED))
            return
        self._runtime.call(partial(self._act, tuple(case_ids), CaseState.RESOLVED, note))

    def disarm(self) -> None:
        """Call off an action waiting for a badge (the screen is left, or the selection changed)."""
        self._runtime.call(self._disarm)

    def evidence(self, order_id: str) -> None:
        self._runtime.call(partial(self._evidence, order_id))

    # ----- runtime thread -----
    def _actor(self) -> str:
        operator = self._runtime.flow.operator
        return operator.name if operator is not None else self._config.station

    def _refresh(self) -> None:
        now = self._clock.now()
        operator = self._runtime.flow.operator
        role = operator.role if operator is not None else None
        live = ExceptionCase.state != CaseState.RESOLVED
        query = (ExceptionCase.select(ExceptionCase, Order.order_id).join(Order, JOIN.LEFT_OUTER)
                 .where(live).order_by(ExceptionCase.opened_at, ExceptionCase.id).limit(QUEUE_SHOWN))
        rows = tuple(CaseRow(
            c.id, parse_iso(c.opened_at), getattr(c.order, "order_id", None) or "", c.tag, c.severity,
            c.route, c.state, case_title(c.title, detail_words(c.detail)), case_sop(c.sop), CaseDetail(c.detail),
            c.note or "", c.acked_by or "",
        ) for c in query)
        total = ExceptionCase.select().where(live).count()
        open_cases = ExceptionCase.select().where(ExceptionCase.state == CaseState.OPEN)
        badge_query = open_cases.where(ExceptionCase.route == role) if role is not None else open_cases
        for_supervisors = open_cases.where(ExceptionCase.route.in_(("supervisor", "admin")))
        elsewhere = load_board(self._store).open
        calls = open_cases.where(ExceptionCase.tag == SUPERVISOR_CALL).count() + len(elsewhere)
        self.snapshot.emit(TriageSnapshot(rows, total, role, badge_query.count(), self._heatmap(), now, calls,
                                          for_supervisors.count(), elsewhere))

    def _heatmap(self) -> HeatMap:
        days, tags, counts = cases.weekly_heatmap(self._clock, self._config.timezone, days=HEAT_DAYS, top=HEAT_TAGS)
        return HeatMap(tuple(days), {tag: tuple(counts.get((tag, day), 0) for day in days) for tag in tags})

    def _act(self, case_ids: tuple[int, ...], state: str, note: str) -> None:
        """At once when anyone may work every case; else armed, waiting for a badge with the role."""
        needed = {required_role(c) for c in ExceptionCase.select().where(ExceptionCase.id.in_(case_ids))} - {None}
        if not needed:
            self._disarm()
            self._transition(case_ids, state, note, self._actor(), None)
            return
        role = "admin" if "admin" in needed else "supervisor"
        self.waiting = Armed(state, case_ids, note, role)
        self._runtime.divert_scans(self._badge_scanned)
        self.armed.emit(self.waiting)

    def _disarm(self) -> None:
        if self.waiting is not None:
            self.waiting = None
            self._runtime.divert_scans(None)
            self.armed.emit(None)

    def _badge_scanned(self, scan: Scan) -> None:
        waiting = self.waiting
        if waiting is None:  # called off while the scan was on its way: the pack flow has it again
            self._runtime.divert_scans(None)
            self._runtime.submit_scan(scan)
            return
        badge = scan.raw.decode("utf-8", "replace").strip()
        try:
            operator = badge_for(self._store, self._clock, badge, waiting.case_ids, waiting.state)
        except CaseRefused as exc:
            self.refused.emit(BadgeRefused(exc.words))
            return
        self._disarm()
        self._transition(waiting.case_ids, waiting.state, waiting.note, str(operator.name), badge)

    def _transition(self, case_ids: tuple[int, ...], state: str, note: str, actor: str, badge: str | None) -> None:
        done: list[int] = []
        errors: list[Words] = []
        for case_id in case_ids:
            try:
                if badge is None:
                    transition(self._store, self._clock, case_id, state, actor, note)
                else:
                    act_by_badge(self._store, self._clock, case_id, state, badge, note)
            except CaseError as exc:
                errors.append(exc.words)
            else:
                done.append(case_id)
        self.acted.emit(ActionResult(state, tuple(done), tuple(errors), actor))
        self._refresh()

    def _evidence(self, order_id: str) -> None:
        path = self.evidence_dir / f"{safe_name(order_id)}.pdf"
        try:
            batch = gather_evidence(self._store, [order_id], render_label_png=render_png, clock=self._clock,
                                    settings=EvidenceSettings.from_config(self._config))
            write_evidence(batch, path)
        except (EvidenceError, OSError) as exc:
            reason = exc.words if isinstance(exc, EvidenceError) else os_words(exc)
            self.failed.emit(Phrase(EVIDENCE_FAILED, {"order_id": order_id, "reason": reason}))
            return
        chain = batch.chain
        self.evidence_written.emit(order_id, str(path), chain.ok, chain.problem)
