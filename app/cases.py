"""Exception cases: opened by rules and built-in checks, worked by supervisors (docs/architecture.md §9.1).

Opening is idempotent per `dedupe_key`: while a case about the same thing is open or acknowledged,
running the same check again changes nothing. Every change is audited and goes to the outbox.

`case_listeners` hear of each new case once the transaction that created it has committed (an
outer transaction's commit when open_case ran inside one): a case that was rolled back is never
announced. A supervisor called again to a live call (`call_supervisor`) is announced the same way:
the call is news again. Listeners run on the committing thread and must be quick (the notifier
only queues); one that raises is logged and the others still run.

A case's title is a `Phrase`, worded where it is read (docs/i18n.md): `title` keeps its English text
as the record (CLI, audit facts), the case's detail keeps the phrase (`TITLE_WORDS`, so the audit
chain covers it with the row), and `case_title` gives it back — or, for a case opened before titles
were phrases, the title as stored. The SOP is kept as its English msgid; `case_sop` words it (an
SOP the catalog does not know, a site's own rule's or an older case's, reads as it was written).

Queries for the queue and the UI: `list_cases` and `weekly_heatmap`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from app.audit import record_fact
from app.clock import Clock, iso, parse_iso
from app.errors import InputError
from app.i18n import N_, Phrase
from app.store import Store
from app.store.models import ExceptionCase, Order, Shipment
from app.store.states import LIVE_CASE_STATES, CaseState
from app.stored_words import dump_words, load_words
from app.terms import CASE_STATES, named

NOT_HANDED_OVER = "not_handed_over"
SUPERVISOR_CALL = "supervisor_call"
CALL_SOP = N_("Go to the station: acknowledge when you are on your way, resolve with a note when done.")
CALL_TITLE_ORDER = N_("Supervisor called to station {station} for order {order_id}")
CALL_TITLE_BENCH = N_("Supervisor called to station {station}")
OVERDUE_TITLE = N_("{tracking_no} packed {hours} h ago, never handed over")
OVERDUE_SOP = N_("Find the parcel (shelf, bench, cage). Hand it over in the next batch, or void the label and "
                 "re-pack if it is lost.")
RULE_TITLE = N_("{subject}: {title}")  # a rule's case: the order, parcel or SKU it is about, and the rule's title
TITLE_WORDS = "title_words"  # the key of the title's phrase in a case's detail (and its exception.opened fact)
SEVERITIES = ("info", "warning", "critical")
ROUTES = ("packer", "supervisor", "admin")  # the role that works a case
LIVE_STATES = LIVE_CASE_STATES

log = logging.getLogger(__name__)

# Called with each new case after its transaction commits (see the module docstring).
case_listeners: list[Callable[[ExceptionCase], None]] = []


class CaseError(InputError, ValueError):
    pass


NO_CASE = N_("no case {case}")


def open_case(store: Store, clock: Clock, *, dedupe_key: str, tag: str, rule_id: str, severity: str, route: str,
              title: Phrase | str, sop: str = "", order: Order | None = None, shipment: Shipment | None = None,
              detail: dict[str, Any] | None = None, actor: str = "system") -> ExceptionCase | None:
    """Open a case unless one with the same key is still live; returns the new case or None.

    `title` and `sop`: English msgids (a title with its fields, a Phrase), or words of a site's own that
    the catalog does not know, shown as written."""
    if severity not in SEVERITIES:
        raise CaseError(N_("severity must be one of {severities}, not {given!r}"), severities=", ".join(SEVERITIES),
                        given=severity)
    now = clock.now()
    title = title if isinstance(title, Phrase) else Phrase(title)
    words = dump_words(title)
    with store.atomic():
        live = ExceptionCase.select(ExceptionCase.id).where(
            (ExceptionCase.dedupe_key == dedupe_key) & (ExceptionCase.state != CaseState.RESOLVED)).exists()
        if live:
            return None
        case = ExceptionCase.create(
            dedupe_key=dedupe_key, tag=tag, rule_id=rule_id, severity=severity, route=route, order=order,
            shipment=shipment, title=title.plain(), sop=sop, opened_at=iso(now), updated_at=iso(now),
            detail=json.dumps({**(detail or {}), TITLE_WORDS: words}, ensure_ascii=False),
        )
        record_fact("exception.opened", actor, now, {
            "case": case.id, "key": dedupe_key, "tag": tag, "rule_id": rule_id, "severity": severity,
            "route": route, "order_id": order.order_id if order else None,
            "tracking_no": shipment.tracking_no if shipment else None, "title": title.plain(), TITLE_WORDS: words,
        })
    _announce_after_commit(store, case)
    return case  # type: ignore[no-any-return]


def _announce_after_commit(store: Store, case: ExceptionCase) -> None:
    if case_listeners:
        # Runs now when this was the outermost transaction, else when the outer one commits; a
        # rollback of the outer transaction drops it. A savepoint rolled back inside a transaction
        # that still commits does not drop it: `_announce` checks that the case row is really there.
        store.db.after_commit(lambda: _announce(case))


def _announce(case: ExceptionCase) -> None:
    stored = ExceptionCase.get_or_none(ExceptionCase.id == case.id)
    if stored is None or stored.dedupe_key != case.dedupe_key or stored.opened_at != case.opened_at \
            or stored.updated_at != case.updated_at:
        return  # rolled back with a savepoint
    for listener in list(case_listeners):
        try:
            listener(case)
        except Exception:  # a listener must never undo or break the commit that already happened
            log.exception("case listener %r failed on case %s", listener, case.id)


def transition(store: Store, clock: Clock, case_id: int, state: str, actor: str, note: str = "") -> ExceptionCase:
    """open → acknowledged → resolved (a resolve needs a note: it is what the next person reads)."""
    allowed: dict[str, tuple[str, ...]] = {CaseState.ACKNOWLEDGED: (CaseState.OPEN,),
                                           CaseState.RESOLVED: LIVE_CASE_STATES}
    if state not in allowed:
        raise CaseError(N_("unknown case state {state!r}"), state=state)
    if state == CaseState.RESOLVED and not note.strip():
        raise CaseError(N_("resolving a case needs a note"))
    now = clock.now()
    with store.atomic():
        case = ExceptionCase.get_or_none(ExceptionCase.id == case_id)
        if case is None:
            raise CaseError(NO_CASE, case=case_id)
        if case.state not in allowed[state]:
            raise CaseError(N_("case {case} is {state}; cannot make it {wanted}"), case=case_id,
                            state=named(CASE_STATES, str(case.state)), wanted=named(CASE_STATES, state))
        case.state = state
        case.updated_at = iso(now)
        if state == CaseState.ACKNOWLEDGED:
            case.acked_by, case.acked_at = actor, iso(now)
        else:
            case.resolved_by, case.resolved_at = actor, iso(now)
        case.note = note.strip() or case.note
        case.save()
        record_fact(f"exception.{state}", actor, now, {"case": case_id, "note": case.note, "tag": case.tag})
    return case  # type: ignore[no-any-return]


def call_supervisor(store: Store, clock: Clock, station: str, order: Order | None, caller: str) -> ExceptionCase:
    """A packer's CALL_SUPERVISOR: opens a supervisor-routed case for the order on the bench (or the
    bench itself), or — while one for the same order and bench is still live — counts the call again
    on it (`detail.calls`, `detail.last_called_at`), audited as `exception.bumped`. Either way the
    case is announced to `case_listeners` after the commit, so the supervisors hear every call."""
    subject = order.order_id if order is not None else "-"
    key = f"{SUPERVISOR_CALL}:{station}:{subject}"
    now = clock.now()
    with store.atomic():
        live = ExceptionCase.get_or_none(
            (ExceptionCase.dedupe_key == key) & (ExceptionCase.state != CaseState.RESOLVED))
        if live is None:
            title = Phrase(CALL_TITLE_ORDER if order is not None else CALL_TITLE_BENCH,
                           {"station": station, "order_id": subject})
            case = open_case(store, clock, dedupe_key=key, tag=SUPERVISOR_CALL, rule_id="builtin.call_supervisor",
                             severity="warning", route="supervisor", title=title, sop=CALL_SOP, order=order,
                             actor=caller,
                             detail={"station": station, "calls": 1, "last_called_at": iso(now),
                                     "called_by": caller})
            assert case is not None  # no live case with the key, inside this transaction
            return case
        detail = json.loads(live.detail or "{}")
        detail.update(calls=int(detail.get("calls", 1)) + 1, last_called_at=iso(now), called_by=caller)
        live.detail = json.dumps(detail, ensure_ascii=False)
        live.updated_at = iso(now)
        live.save()
        record_fact("exception.bumped", caller, now, {"case": live.id, "key": key, "tag": SUPERVISOR_CALL,
                                                      "calls": detail["calls"], "station": station})
    _announce_after_commit(store, live)
    return live  # type: ignore[no-any-return]


def case_title(title: str, words: Any = None) -> Phrase:
    """A case's title to word in the reader's language: its phrase (`words`, as `detail_words` or the
    exception.opened fact give it), else the title as stored (a case from before titles were phrases)."""
    return load_words(words) or Phrase(title)


def detail_words(detail: str) -> Any:
    """The title's phrase data a case's detail keeps, or None."""
    try:
        data = json.loads(detail or "{}")
    except ValueError:
        return None
    return data.get(TITLE_WORDS) if isinstance(data, dict) else None


def case_sop(sop: str) -> Phrase:
    """A case's SOP to word in the reader's language (an id the catalog lacks reads as written)."""
    return Phrase(sop)


def calls_of(case: ExceptionCase) -> int:
    """How many times a supervisor call was made on this case (1 for any other case)."""
    try:
        return int(json.loads(case.detail or "{}").get("calls", 1))
    except (ValueError, TypeError, AttributeError):
        return 1


OVERDUE_LOOKBACK = timedelta(days=14)  # older parcels were raised by earlier rounds (or long since found)


def open_overdue_handover_cases(store: Store, clock: Clock, station: str, max_age: timedelta,
                                lookback: timedelta = OVERDUE_LOOKBACK) -> int:
    """Every parcel packed longer than `max_age` ago (within `lookback`) and never handed over becomes
    a case, once: parcels whose case is still live are skipped before any write."""
    from app.handover import HandoverService

    prefix = f"{NOT_HANDED_OVER}:"
    live = {key for (key,) in ExceptionCase.select(ExceptionCase.dedupe_key).where(
        ExceptionCase.dedupe_key.startswith(prefix) & (ExceptionCase.state != CaseState.RESOLVED)).tuples()}
    opened = 0
    for parcel in HandoverService(store, clock, station, "system").overdue_parcels(max_age, lookback=lookback):
        if prefix + parcel.tracking_no in live:
            continue
        shipment = Shipment.get(Shipment.tracking_no == parcel.tracking_no)
        case = open_case(
            store, clock, dedupe_key=f"{NOT_HANDED_OVER}:{parcel.tracking_no}", tag=NOT_HANDED_OVER,
            rule_id="builtin.handover_overdue", severity="warning", route="supervisor",
            title=Phrase(OVERDUE_TITLE, {"tracking_no": parcel.tracking_no, "hours": f"{parcel.age_hours:.0f}"}),
            sop=OVERDUE_SOP,
            order=shipment.order, shipment=shipment,
            detail={"packed_at": parcel.packed_at, "age_hours": round(parcel.age_hours, 1),
                    "carrier": parcel.carrier, "open_batch": parcel.open_batch},
        )
        opened += case is not None
    return opened


# ----- queries -----
def list_cases(open_only: bool = False, tag: str | None = None, severity: str | None = None,
               route: str | None = None) -> list[ExceptionCase]:
    """The case queue, oldest first; `open_only`: only live cases (open or acknowledged)."""
    query = ExceptionCase.select()
    if open_only:
        query = query.where(ExceptionCase.state.in_(LIVE_STATES))
    if tag:
        query = query.where(ExceptionCase.tag == tag)
    if severity:
        query = query.where(ExceptionCase.severity == severity)
    if route:
        query = query.where(ExceptionCase.route == route)
    return list(query.order_by(ExceptionCase.opened_at, ExceptionCase.id))


def _zone(tz: str | tzinfo) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def weekly_heatmap(clock: Clock, tz: str | tzinfo, days: int = 7, top: int = 5,
                   ) -> tuple[list[date], list[str], dict[tuple[str, date], int]]:
    """Cases opened per tag and local day over the last `days` days (today included, in zone `tz`).

    Returns (days oldest first, the `top` tags by count over the window — most first, ties by name —,
    counts[(tag, day)] for every such tag and day, zeros included).
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    zone = _zone(tz)
    today = clock.now().astimezone(zone).date()
    day_list = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    start = datetime.combine(day_list[0], time(0), zone)
    end = datetime.combine(today + timedelta(days=1), time(0), zone)
    per_day: dict[tuple[str, date], int] = {}
    totals: dict[str, int] = {}
    rows = ExceptionCase.select(ExceptionCase.tag, ExceptionCase.opened_at).where(
        (ExceptionCase.opened_at >= iso(start)) & (ExceptionCase.opened_at < iso(end))).tuples()
    for tag, opened_at in rows:
        day = parse_iso(opened_at).astimezone(zone).date()
        per_day[(tag, day)] = per_day.get((tag, day), 0) + 1
        totals[tag] = totals.get(tag, 0) + 1
    tags = sorted(totals, key=lambda t: (-totals[t], t))[:max(top, 0)]
    counts = {(tag, day): per_day.get((tag, day), 0) for tag in tags for day in day_list}
    return day_list, tags, counts
