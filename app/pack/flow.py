"""The pack flow (docs/architecture.md §5): a state machine driven by scans, weights and print results.

Not thread-safe by design: one owner (`app.station.StationRuntime`) feeds it from a single thread,
the only thread that writes pack facts. Other threads write other rows, each in a BEGIN IMMEDIATE
transaction of its own (the rule is in `app.station`); the print worker only claims a job before
sending it (`app.printing`). Every input and its outcome are committed — scan_event row, audit
entry and outbox event in one transaction — before the outcome is returned to be shown. If a commit
fails, the in-memory state is rebuilt from the store, which is always the truth.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from typing import Any, Protocol

from app import barcodes
from app.audit import record_fact
from app.barcodes import BarcodeError, Command, Kind, ParsedScan
from app.cases import call_supervisor, calls_of
from app.clock import Clock, iso
from app.devices import Scan, WeightReading
from app.errors import NotFoundError
from app.i18n import N_, Phrase
from app.pack import lookup
from app.pack.outcomes import Outcome
from app.pack.weights import Tolerance, WeightVerdict, items_key, judge_weight
from app.passport import Passport, PassportError, record_minted
from app.read_back import translate_reasons
from app.store import Store
from app.store.models import Operator, Order, PackSession, PrintJob, ScanEvent, Shipment
from app.store.prepared import execute
from app.store.states import PACKED_STATUSES, STOPPED_STATUSES, OrderStatus, PrintJobState, SessionState
from app.terms import COMMANDS, WAYBILL_SOURCES, named

SUPERVISOR_ROLES = frozenset({"supervisor", "admin"})
# Built once: it runs for every input (see app/store/prepared.py).
_SCAN_EVENT_SQL = (
    'INSERT INTO "scan_event" ("session_id", "order_id", "operator_id", "station", "at", "source", "raw", '
    '"symbology", "parsed", "outcome", "message", "state_after") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'
)


_PRINT_RESULT_SQL = 'UPDATE "print_job" SET "state" = ?, "error" = ?, "updated_at" = ? WHERE "id" = ?'
_PRINTED_JOB_SQL = (
    'SELECT j."reprint_no", s."tracking_no", o."order_id" FROM "print_job" j '
    'JOIN "shipment" s ON s."id" = j."shipment_id" JOIN "order" o ON o."id" = s."order_id" WHERE j."id" = ?'
)


class State(Enum):
    IDLE = "idle"
    ORDER_OPEN = "order_open"
    ITEMS_COMPLETE = "items_complete"
    # No WEIGHED: a weight within tolerance ships in the same transaction (docs/architecture.md §5.1).
    LABELLED = "labelled"
    DONE = "done"
    BLOCKED = "blocked"  # waiting for a supervisor badge (or, for weight, a corrected parcel)


class Pending(Enum):
    """What a supervisor badge scan would approve while the flow is BLOCKED."""

    # The values are also the action's English words ("scan your badge to …"), hence catalog ids.
    SHORT_SHIP = N_("short-ship")
    ACCEPT_WEIGHT = N_("accept the weight")
    VOID_LABEL = N_("void the label")
    PACK_HELD_ORDER = N_("pack an order held by exception rules")

    @property
    def words(self) -> Phrase:
        return Phrase(self.value)


@dataclass(frozen=True)
class DeviceReasons:
    """A printer's reasons as drivers report them (English msgids joined by ", "), worded in the
    message's language; words no catalog knows (an OS error, a port) stay as the device said them."""

    reasons: str

    def text(self, lang: str) -> str:
        return translate_reasons(self.reasons, lang)

    def plain(self) -> str:
        return self.reasons

    def __str__(self) -> str:
        return self.reasons


# A scale at or below this is empty: the parcel was lifted off (real scales drift a few grams at zero).
EMPTY_SCALE_G = 10


class PassportMinter(Protocol):
    """Signs a new shipment's passport (`app.passport.PassportIssuer`)."""

    def mint_new(self, station: str, order_id: str, carrier: str, tracking_no: str,
                 issued_at: datetime) -> Passport: ...


# What stops an order from being packed without a supervisor: (rule id, tag, title) per blocking rule.
Gate = Callable[[Order], Sequence[tuple[str, str, str]]]


@dataclass
class FlowConfig:
    station: str = "BENCH-1"
    carrier: str = "SF"
    carriers: tuple[str, ...] = ("SF", "ZTO", "YTO", "JD", "EMS")
    service: str = "standard"
    box_tare_g: int = 60
    tolerance: Tolerance = field(default_factory=Tolerance)
    printer_name: str = "default"
    label_format: str = "pdf"
    language: str = "zh_CN"  # the station's: what the bench speaks while no operator with one is logged in


@dataclass
class _Open:
    """The order on the bench."""

    order: Order
    session: PackSession
    expected: dict[str, int]  # sku -> qty
    names: dict[str, str]
    counts: dict[str, int]
    carrier: str
    short: bool = False

    @property
    def remaining(self) -> int:
        return sum(self.expected.values()) - sum(self.counts.values())

    @property
    def complete(self) -> bool:
        return all(self.counts.get(sku, 0) >= qty for sku, qty in self.expected.items())


class PackFlow:
    def __init__(
        self, store: Store, clock: Clock, config: FlowConfig | None = None,
        interpret: Callable[..., ParsedScan] = barcodes.interpret, gate: Gate | None = None,
        passports: PassportMinter | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.config = config or FlowConfig()
        self._interpret = interpret
        self._gate = gate
        self._passports = passports
        # The passport URL of `last_shipment`, minted with it ("" when it could not be: the label
        # still ships, `last_passport_error` says why); None when no passport was minted here.
        self.last_passport: str | None = None
        self.last_passport_error = ""
        self._held: Order | None = None  # an order a blocking rule holds, waiting for a supervisor
        self.state = State.IDLE
        self.operator: Operator | None = None
        self.open: _Open | None = None
        self.pending: Pending | None = None
        self.last_shipment: Shipment | None = None
        self.last_verdict: WeightVerdict | None = None
        # A refusal that only a change can cure (no waybill left): the parcel is not weighed again
        # until one comes, so a scale that keeps reporting the same stable weight (or the runtime
        # polling one) cannot turn one refusal into hundreds.
        self.waiting_for: str | None = None
        self._lifted = False
        # The screen shows the last label large (a PREVIEW scan, or a click it reports: `preview_shown`);
        # the next input, whatever it is, ends it.
        self.previewing = False
        self._restore()

    # ----- queries the screen and the simulated scale use -----
    @property
    def language(self) -> str:
        """The language the bench speaks now: the logged-in operator's, else the station's."""
        own = self.operator.language if self.operator is not None else ""
        return str(own or self.config.language)

    @property
    def awaiting_weight(self) -> bool:
        return self.state is State.ITEMS_COMPLETE or (
            self.state is State.BLOCKED and self.pending is Pending.ACCEPT_WEIGHT
        )

    @property
    def ready_to_weigh(self) -> bool:
        """A parcel awaits weighing and no refusal is waiting for a change."""
        return self.awaiting_weight and self.waiting_for is None

    def waybills_arrived(self) -> bool:
        """While waiting for a waybill: True (and weighing resumes) once the open order's carrier has a
        free number again (an import, a server allocation), checked by the runtime on a timer."""
        if self.waiting_for != "no_waybill" or self.open is None:
            return False
        if not lookup.waybill_available(self.open.carrier):
            return False
        self._resume_weighing()
        return True

    def expected_weight_g(self) -> int | None:
        if self.open is None:
            return None
        return lookup.expected_weight_g(self.open.counts, self.config.box_tare_g)

    def order_header(self) -> dict[str, str] | None:
        """The order on the bench as the screen heads it (None when no order is open)."""
        if self.open is None:
            return None
        order = self.open.order
        return {"order_id": order.order_id, "platform": order.platform, "receiver": order.receiver_name,
                "carrier": self.open.carrier}

    def lines(self) -> list[tuple[str, str, int, int]]:
        """(sku, name, scanned, expected) for the order on the bench."""
        if self.open is None:
            return []
        return [
            (sku, self.open.names.get(sku, sku), self.open.counts.get(sku, 0), qty)
            for sku, qty in self.open.expected.items()
        ]

    # ----- inputs -----
    def login(self, name: str) -> Outcome:
        """Log in by name (the headless line's `--operator`); a person at the bench scans a badge."""
        operator = Operator.get_or_none((Operator.name == name) & (Operator.active == True))  # noqa: E712
        if operator is None:
            raise NotFoundError(N_("no active operator named {name!r}; add one with {command}"), name=name,
                                command="packbench operator add")
        return self._commit(lambda at: self._log_in(operator, at), source="system", raw=None)

    def scan(self, scan: Scan) -> Outcome:
        return self._commit(lambda at: self._on_scan(scan.raw), source=scan.source, raw=scan.raw)

    def weight(self, reading: WeightReading) -> Outcome | None:
        """A stable reading is judged when the parcel awaits weighing; everything else is ignored
        without a row, since scales report several times a second."""
        if not self.awaiting_weight:
            return None
        if self.waiting_for is not None and not self._put_back(reading):
            return None
        if not reading.stable:
            return None
        verdict = self.last_verdict
        if self.state is State.BLOCKED and verdict is not None and abs(reading.grams - verdict.actual_g) <= 2:
            return None  # the same parcel still on the scale: already judged
        raw = f"{reading.grams}g".encode()
        return self._commit(lambda at: self._on_weight(reading.grams, at), source="scale", raw=raw)

    def _put_back(self, reading: WeightReading) -> bool:
        """The parcel lifted off (≈0 g) and put back (stable again): the change a waiting refusal needs."""
        if reading.grams <= EMPTY_SCALE_G:
            self._lifted = True
            return False
        if reading.stable and self._lifted:
            self._resume_weighing()
            return True
        return False

    def _resume_weighing(self) -> None:
        self.waiting_for = None
        self._lifted = False

    def print_result(self, job_id: int, ok: bool, reason: str = "", delivered: bool = False) -> Outcome | None:
        """Record how a job went. An undelivered job waits (`queued`, with the reason) and is retried by
        the runtime; the same fault again on a retry changes only the job row, so a printer out of paper
        for an hour does not flood the scan log."""
        if not ok and not delivered:
            job = PrintJob.get_by_id(job_id)
            if job.error == reason and job.attempts > 1:
                with self.store.atomic():
                    PrintJob.update(state=PrintJobState.QUEUED, updated_at=iso(self.clock.now())).where(
                        PrintJob.id == job_id).execute()
                return None
        return self._commit(lambda at: self._on_print(job_id, ok, reason, delivered, at), source="printer", raw=None)

    # ----- the transaction around every input -----
    def _commit(self, step: Callable[[datetime], Outcome], source: str, raw: bytes | None) -> Outcome:
        at = self.clock.now()
        before = self.open
        try:
            with self.store.atomic():
                outcome = step(at)
                event_id = self._record(outcome, self.open or before, source, raw, at)
            outcome = replace(outcome, detail={**outcome.detail, "scan_event_id": event_id})
            self.previewing = outcome.event == "label_enlarged"
        except Exception:
            self._restore()
            raise
        return outcome

    def _record(self, outcome: Outcome, bench: _Open | None, source: str, raw: bytes | None, at: datetime) -> int:
        session = bench.session if bench else None
        order = bench.order if bench else None
        parsed = outcome.detail.get("parsed")
        event_id = execute(ScanEvent, _SCAN_EVENT_SQL, (
            session.id if session else None, order.id if order else None,
            self.operator.id if self.operator else None, self.config.station, iso(at), source, raw,
            outcome.detail.get("symbology"), json.dumps(parsed, ensure_ascii=False) if parsed else None,
            outcome.event, outcome.text("en"), outcome.state,
        )).lastrowid
        actor = self.operator.name if self.operator else "-"
        record_fact("scan", actor, at, {
            "station": self.config.station, "source": source, "code": outcome.code,
            "order_id": outcome.order_id, "outcome": outcome.event, "state": outcome.state, "scan_event": event_id,
        })
        return int(event_id)

    def _out(self, event: str, code: str | None = None, **detail: Any) -> Outcome:
        order_id = detail.pop("order_id", None) or (self.open.order.order_id if self.open else None)
        return Outcome(event, self.state.value, code, order_id, detail, self.language)

    # ----- scans -----
    def _on_scan(self, raw: bytes) -> Outcome:
        try:
            parsed = self._interpret(raw, is_badge=lookup.is_badge)
        except BarcodeError as exc:
            text = raw.decode("utf-8", "replace")[:64]
            return self._out("bad_scan", text, reason=exc.reason)
        extra = {"symbology": parsed.symbology, "parsed": lookup.describe(parsed)}
        if parsed.kind is Kind.COMMAND:
            assert parsed.command is not None
            return self._on_command(parsed.command, parsed.text, extra)
        if parsed.kind is Kind.BADGE:
            return self._on_badge(parsed.text, extra)
        if self.operator is None:
            return self._out("login_required", parsed.text, **extra)
        if self.state in (State.IDLE, State.DONE, State.LABELLED):
            return self._open_order(parsed, extra)
        if self.state in (State.ORDER_OPEN, State.ITEMS_COMPLETE):
            return self._on_item(parsed, extra)
        return self._out("command_not_now", parsed.text, command=named(COMMANDS, "scan"), **extra)  # BLOCKED

    def _open_order(self, parsed: ParsedScan, extra: dict[str, Any]) -> Outcome:
        order, shipment = lookup.find_order(parsed)
        code = parsed.text
        if order is None:
            if lookup.find_product(parsed) is not None:
                return self._out("scan_order_first", code, **extra)
            return self._out("order_not_found", code, **extra)
        live = shipment or lookup.live_shipment(order)
        if live is not None or order.status in PACKED_STATUSES:
            self.last_shipment = live
            self.state = State.IDLE
            tracking = live.tracking_no if live else "-"
            return self._out("order_already_shipped", code, order_id=order.order_id, tracking_no=tracking, **extra)
        refusal = {"cancelled": "order_cancelled", "refunded": "order_refunded", "on_hold": "order_on_hold",
                   "new": "order_not_payable"}.get(order.status)
        if refusal:
            self.state = State.IDLE
            return self._out(refusal, code, order_id=order.order_id, **extra)
        if not lookup.order_lines(order)[0]:
            return self._out("order_empty", code, order_id=order.order_id, **extra)
        holds = self._gate(order) if self._gate is not None else ()
        if holds:
            self._held = order
            self.pending = Pending.PACK_HELD_ORDER
            self.state = State.BLOCKED
            return self._out("order_blocked", code, order_id=order.order_id, rules=[h[0] for h in holds],
                             tags=[h[1] for h in holds],
                             reasons=tuple(Phrase(h[2]) for h in holds), **extra)
        return self._start(order, code, extra)

    def _start(self, order: Order, code: str | None, extra: dict[str, Any]) -> Outcome:
        expected, names = lookup.order_lines(order)
        session = PackSession.create(
            order=order, operator=self.operator, station=self.config.station, started_at=iso(self.clock.now()),
        )
        self.open = _Open(order, session, expected, names, {}, lookup.order_carrier(order, self.config.carrier))
        self.last_shipment = None
        self._held = None
        self._resume_weighing()
        self.state = State.ORDER_OPEN
        return self._out("order_opened", code, remaining=self.open.remaining, **extra)

    def _on_item(self, parsed: ParsedScan, extra: dict[str, Any]) -> Outcome:
        assert self.open is not None
        code = parsed.text
        if parsed.kind is Kind.TRACKING:
            return self._bind_waybill(parsed, extra)
        product = lookup.find_product(parsed)
        if product is None:
            order = lookup.find_order(parsed)[0]
            if order is not None and order.id == self.open.order.id:
                return self._out("order_resumed", code, remaining=self.open.remaining, **extra)
            if order is not None:
                return self._out("order_in_progress", code, **extra)
            return self._out("unknown_code", code, **extra)
        sku = product.sku
        name = product.name
        if sku not in self.open.expected:
            return self._out("wrong_item", code, sku=sku, name=name, **extra)
        expected = self.open.expected[sku]
        if self.open.counts.get(sku, 0) >= expected:
            return self._out("over_quantity", code, sku=sku, name=name, expected=expected, **extra)
        self.open.counts[sku] = self.open.counts.get(sku, 0) + 1
        self._save_counts()
        scanned = self.open.counts[sku]
        if self.open.complete:
            self.state = State.ITEMS_COMPLETE
            return self._out("items_complete", code, sku=sku, name=name, scanned=scanned, expected=expected,
                             expected_weight_g=self.expected_weight_g(), **extra)
        return self._out("item_ok", code, sku=sku, name=name, scanned=scanned, expected=expected,
                         remaining=self.open.remaining, **extra)

    def _bind_waybill(self, parsed: ParsedScan, extra: dict[str, Any]) -> Outcome:
        assert self.open is not None
        order = self.open.order
        if lookup.tracking_in_use(parsed.text, order):
            return self._out("waybill_in_use", parsed.text, tracking_no=parsed.text, **extra)
        order.tracking_no = parsed.text
        order.carrier = parsed.carrier or order.carrier
        order.updated_at = iso(self.clock.now())
        order.save()
        self.open.carrier = order.carrier or self.open.carrier
        self._resume_weighing()
        return self._out("waybill_bound", parsed.text, tracking_no=parsed.text, carrier=self.open.carrier, **extra)

    def _save_counts(self) -> None:
        assert self.open is not None
        PackSession.update(scanned=json.dumps(self.open.counts, sort_keys=True)).where(
            PackSession.id == self.open.session.id
        ).execute()

    # ----- badges and commands -----
    def _on_badge(self, badge: str, extra: dict[str, Any]) -> Outcome:
        person = Operator.get(Operator.badge == badge)
        if self.pending is not None:
            if person.role not in SUPERVISOR_ROLES:
                return self._out("not_a_supervisor", badge, operator=person.name, **extra)
            return self._approve(person, extra)
        if self.operator is not None and self.open is not None:
            return self._out("finish_order_first", badge, **extra)
        if self.operator is not None and self.operator.id == person.id:
            return self._log_out(self.clock.now())
        return self._log_in(person, self.clock.now())

    def _log_in(self, person: Operator, at: datetime) -> Outcome:
        self.operator = person
        self.store.set_meta(f"station.{self.config.station}.operator", str(person.id))
        return self._out("login", None, operator=person.name)

    def _log_out(self, at: datetime) -> Outcome:
        name = self.operator.name if self.operator else "-"
        self.operator = None
        self.store.set_meta(f"station.{self.config.station}.operator", "")
        self.state = State.IDLE
        return self._out("logout", None, operator=name)

    def _on_command(self, command: Command, code: str, extra: dict[str, Any]) -> Outcome:
        if command is Command.PREVIEW:  # only a view of the last label: no login needed, nothing changes
            return self._toggle_preview(code, extra)
        if command is Command.LOGOUT:
            if self.open is not None:
                return self._out("finish_order_first", code, **extra)
            return self._log_out(self.clock.now())
        if command is Command.CALL_SUPERVISOR:  # also without a login: a badge that will not scan needs one too
            return self._call_supervisor(code, extra)
        if self.operator is None:
            return self._out("login_required", code, **extra)
        if command is Command.ABORT:
            return self._abort(code, extra)
        if command is Command.REPRINT:
            return self._reprint(code, extra)
        if command is Command.SHORT_SHIP and self.state is State.ORDER_OPEN and self.open and self.open.counts:
            return self._block(Pending.SHORT_SHIP, code, extra)
        if command is Command.VOID_LABEL and self.last_shipment is not None and self.open is None:
            return self._block(Pending.VOID_LABEL, code, extra)
        if command is Command.ACCEPT_WEIGHT and self.pending is Pending.ACCEPT_WEIGHT:
            return self._out("supervisor_required", code, action=self.pending.words, **extra)
        if command is Command.SWITCH_CARRIER and self.open is not None:
            carriers = self.config.carriers
            nxt = carriers[(carriers.index(self.open.carrier) + 1) % len(carriers)] \
                if self.open.carrier in carriers else carriers[0]
            if self.open.order.tracking_no:
                return self._out("command_not_now", code, command=named(COMMANDS, command.name), **extra)
            self.open.carrier = nxt
            self._resume_weighing()
            return self._out("order_opened", code, remaining=self.open.remaining, carrier=nxt, **extra)
        return self._out("command_not_now", code, command=named(COMMANDS, command.name), **extra)

    def _call_supervisor(self, code: str, extra: dict[str, Any]) -> Outcome:
        """A case for the order on the bench (or held at it), else for the bench; a second call bumps it."""
        order = self.open.order if self.open is not None else self._held
        case = call_supervisor(self.store, self.clock, self.config.station, order, self._actor())
        calls = calls_of(case)
        return self._out("supervisor_called" if calls == 1 else "supervisor_called_again", code,
                         order_id=order.order_id if order is not None else None, station=self.config.station,
                         case=case.id, calls=calls, **extra)

    def preview_shown(self, shown: bool) -> None:
        """The screen opened or closed the large label by itself (a click, Esc): the next PREVIEW scan
        toggles what is on the screen, not what the last scan asked for."""
        self.previewing = shown

    def _toggle_preview(self, code: str, extra: dict[str, Any]) -> Outcome:
        if self.previewing:
            return self._out("label_preview_closed", code, **extra)
        if self.last_shipment is None:
            return self._out("nothing_to_preview", code, **extra)
        return self._out("label_enlarged", code, tracking_no=self.last_shipment.tracking_no, **extra)

    def _block(self, pending: Pending, code: str, extra: dict[str, Any]) -> Outcome:
        self.pending = pending
        self.state = State.BLOCKED
        return self._out("supervisor_required", code, action=pending.words, **extra)

    def _approve(self, supervisor: Operator, extra: dict[str, Any]) -> Outcome:
        pending, self.pending = self.pending, None
        at = self.clock.now()
        record_fact("override", supervisor.name, at, {
            "station": self.config.station, "action": pending.value if pending else "",
            "order_id": self.open.order.order_id if self.open else (self._held.order_id if self._held else None),
            "packer": self.operator.name
            if self.operator else None,
        })
        if pending is Pending.SHORT_SHIP:
            assert self.open is not None
            self.open.short = True
            self.state = State.ITEMS_COMPLETE
            return self._out("short_shipped", supervisor.badge, supervisor=supervisor.name,
                             expected_weight_g=self.expected_weight_g(), **extra)
        if pending is Pending.PACK_HELD_ORDER:
            assert self._held is not None
            return self._start(self._held, supervisor.badge, {**extra, "approved_by": supervisor.name})
        if pending is Pending.ACCEPT_WEIGHT:
            assert self.last_verdict is not None
            return self._ship(self.last_verdict, at, approved_by=supervisor.name)
        assert self.last_shipment is not None  # VOID_LABEL
        shipment = self.last_shipment
        Shipment.update(voided=True).where(Shipment.id == shipment.id).execute()
        Order.update(status=OrderStatus.PAID, updated_at=iso(at)).where(Order.id == shipment.order_id).execute()
        record_fact("shipment.voided", supervisor.name, at, {"tracking_no": shipment.tracking_no,
                                                               "order_id": shipment.order.order_id})
        self.last_shipment = None
        self.state = State.IDLE
        return self._out("override_accepted", supervisor.badge, supervisor=supervisor.name,
                         action=Pending.VOID_LABEL.words, order_id=shipment.order.order_id, **extra)

    def _abort(self, code: str, extra: dict[str, Any]) -> Outcome:
        self._resume_weighing()
        if self.open is None:
            held, self._held = self._held, None
            self.pending = None
            self.state = State.IDLE
            if held is not None:
                return self._out("aborted", code, order_id=held.order_id, **extra)
            return self._out("nothing_to_abort", code, **extra)
        order_id = self.open.order.order_id
        PackSession.update(state=SessionState.ABORTED, ended_at=iso(self.clock.now())).where(
            PackSession.id == self.open.session.id
        ).execute()
        self.open = None
        self.pending = None
        self.state = State.IDLE
        return self._out("aborted", code, order_id=order_id, **extra)

    def _reprint(self, code: str, extra: dict[str, Any]) -> Outcome:
        shipment = self.last_shipment
        if shipment is None or self.open is not None or shipment.voided:
            return self._out("nothing_to_reprint", code, **extra)
        reprint_no = max(2, lookup.max_reprint_no(shipment) + 1)
        now = iso(self.clock.now())
        job = PrintJob.create(shipment=shipment, printer=self.config.printer_name, format=self.config.label_format,
                              reprint_no=reprint_no, created_at=now, updated_at=now)
        record_fact("print.queued", self._actor(), self.clock.now(),
                    {"job": job.id, "tracking_no": shipment.tracking_no, "reprint_no": reprint_no})
        self.state = State.LABELLED
        return self._out("reprint_queued", code, order_id=shipment.order.order_id, tracking_no=shipment.tracking_no,
                         reprint_no=reprint_no, job_id=job.id, **extra)

    def _actor(self) -> str:
        return self.operator.name if self.operator else "-"

    # ----- weight and shipment -----
    def _on_weight(self, grams: int, at: datetime) -> Outcome:
        assert self.open is not None
        expected = lookup.expected_weight_g(self.open.counts, self.config.box_tare_g)
        verdict = judge_weight(grams, expected, self.config.tolerance, items_key(self.open.counts))
        self.last_verdict = verdict
        if not verdict.ok:
            self.pending = Pending.ACCEPT_WEIGHT
            self.state = State.BLOCKED
            event = "weight_mismatch" if verdict.reason == "tolerance" else "weight_unusual"
            mean = round(verdict.history_mean_g) if verdict.history_mean_g is not None else None
            return self._out(event, None, actual_g=grams, expected_g=expected, allowed_g=verdict.allowed_g,
                             history_mean_g=mean, history_n=verdict.history_n)
        self.pending = None
        return self._ship(verdict, at, approved_by=None)

    def _ship(self, verdict: WeightVerdict, at: datetime, approved_by: str | None) -> Outcome:
        assert self.open is not None
        opened = self.open
        order = opened.order
        # The platform may have cancelled the order while it was on the bench (a sync pull): no label.
        status = Order.select(Order.status).where(Order.id == order.id).scalar()
        if status in STOPPED_STATUSES:
            PackSession.update(state=SessionState.ABORTED, ended_at=iso(at)).where(
                PackSession.id == opened.session.id).execute()
            self.open = None
            self.pending = None
            self.state = State.IDLE
            return self._out(f"order_{status}", None, order_id=order.order_id, mid_pack=True)
        source, tracking = lookup.choose_waybill(opened.carrier, order, at)
        if tracking is None:
            self.state = State.ITEMS_COMPLETE
            self.waiting_for = "no_waybill"
            self._lifted = False
            return self._out("no_waybill", None, carrier=opened.carrier)
        now = iso(at)
        passport = self._mint_passport(opened, tracking, at)
        shipment = Shipment.create(
            order=order, session=opened.session, carrier=opened.carrier, service=self.config.service,
            tracking_no=tracking, weight_g=verdict.actual_g, items_key=items_key(opened.counts), created_at=now,
            passport_id=passport.id if passport else None,
        )
        job = PrintJob.create(shipment=shipment, printer=self.config.printer_name, format=self.config.label_format,
                              created_at=now, updated_at=now)
        PackSession.update(
            state=SessionState.SHORT_SHIPPED if opened.short else SessionState.COMPLETED, ended_at=now,
            weight_g=verdict.actual_g, expected_weight_g=verdict.expected_g,
        ).where(PackSession.id == opened.session.id).execute()
        Order.update(status=OrderStatus.PACKED, updated_at=now).where(Order.id == order.id).execute()
        record_fact("shipment.created", self._actor(), at, {
            "order_id": order.order_id, "tracking_no": tracking, "carrier": opened.carrier,
            "weight_g": verdict.actual_g, "expected_weight_g": verdict.expected_g, "items": opened.counts,
            "short": opened.short, "approved_by": approved_by, "station": self.config.station, "waybill": source,
        })
        if passport is not None:
            record_minted(passport, "system", at)
        self.last_passport = passport.url if passport else ("" if self._passports else None)
        self.last_shipment = shipment
        self.open = None
        self.state = State.LABELLED
        return self._out("label_queued", None, order_id=order.order_id, tracking_no=tracking, job_id=job.id,
                         actual_g=verdict.actual_g, expected_g=verdict.expected_g, approved_by=approved_by,
                         waybill=named(WAYBILL_SOURCES, source))

    def _mint_passport(self, opened: _Open, tracking: str, at: datetime) -> Passport | None:
        """Signed inside the shipment's own transaction: no transaction of its own on the label path.
        A passport that cannot be minted (a base URL too long for the QR) never holds a parcel back."""
        self.last_passport_error = ""
        if self._passports is None:
            return None
        try:
            return self._passports.mint_new(str(opened.session.station), str(opened.order.order_id),
                                            opened.carrier, tracking, at)
        except PassportError as exc:
            self.last_passport_error = str(exc)
            return None

    def _on_print(self, job_id: int, ok: bool, reason: str, delivered: bool, at: datetime) -> Outcome:
        state = PrintJobState.DONE if ok else (PrintJobState.FAILED if delivered else PrintJobState.QUEUED)
        error = "" if ok else reason
        # Prepared SQL, one write and one read: this runs for every label (app/store/prepared.py).
        execute(PrintJob, _PRINT_RESULT_SQL, (state, error, iso(at), job_id))
        reprint_no, tracking_no, order_id = execute(PrintJob, _PRINTED_JOB_SQL, (job_id,)).fetchone()
        event = "label_printed" if ok else ("print_uncertain" if delivered else "print_failed")
        record_fact(f"print.{state}", self._actor(), at,
                    {"job": job_id, "tracking_no": tracking_no, "reason": reason, "reprint_no": reprint_no})
        if ok and self.state is State.LABELLED:
            self.state = State.DONE
        return self._out(event, None, order_id=order_id, tracking_no=tracking_no, job_id=job_id,
                         reason=DeviceReasons(reason), reprint_no=reprint_no)

    # ----- recovery -----
    def _restore(self) -> None:
        """Rebuild the in-memory state from the store (at start, and after a failed commit)."""
        self.open = None
        self.pending = None
        self._held = None
        self.previewing = False
        self._resume_weighing()
        self.state = State.IDLE
        operator_id = self.store.meta(f"station.{self.config.station}.operator") or ""
        self.operator = Operator.get_or_none(Operator.id == int(operator_id)) if operator_id else None
        session = (PackSession.select().where((PackSession.station == self.config.station)
                                              & (PackSession.state == SessionState.OPEN))
                   .order_by(PackSession.id.desc()).first())
        if session is None:
            return
        order = session.order
        expected, names = lookup.order_lines(order)
        counts = {k: int(v) for k, v in json.loads(session.scanned or "{}").items()}
        self.open = _Open(order, session, expected, names, counts, lookup.order_carrier(order, self.config.carrier))
        self.state = State.ITEMS_COMPLETE if self.open.complete else State.ORDER_OPEN
