"""Cursor pulls (docs/architecture.md §10.3): products, orders, tracking events and console case changes
since the stored cursor.

Each page is applied and its `next_cursor` stored in the SAME `store.atomic()` transaction, so a
crash, a power cut or an exception between the two leaves neither: the next pull asks for the same
page again. Applying a page twice changes nothing (orders and products are upserts, tracking events
are keyed by the server's id), which is what makes that safe.

Orders and products go through the import path (`app.importers.apply_orders` / `apply_products`):
the same re-import rules as a file, one audit entry per page (actor `sync`, file `sync:orders`, the
page's SHA-256). The server is the authority on products, so a barcode it now lists for another sku
is released from its old owner within the page's transaction (that owner's own update follows in a
later page). An order the server reports cancelled or refunded after this station packed it opens an
intercept case for a supervisor, in the same transaction as the page.

After an orders page commits, the exception rules run with trigger "order_change" over its orders;
after a tracking page, with trigger "tracking" over the orders of its parcels. A rule failure is
logged and never fails the pull (the page and its cursor are already stored).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from app.cases import open_case
from app.clock import Clock, iso
from app.i18n import N_, Phrase
from app.importers import LineRecord, OrderRecord, ProductRecord, Source, apply_orders, apply_products
from app.importers.products import barcode_key
from app.store import Store
from app.store.handover_models import HandoverItem
from app.store.models import (
    ExceptionCase,
    Order,
    PackSession,
    Product,
    ProductBarcode,
    Shipment,
    SyncCursor,
    TrackingEvent,
)
from app.store.states import PACKED_SESSIONS, PACKED_STATUSES, STOPPED_STATUSES, OrderStatus, SessionState
from app.terms import named
from protocol import MAX_PAGE, CaseChangeOut, OrderOut, ProductOut, TrackingEventOut
from sync.client import Fetched

log = logging.getLogger(__name__)

Feed = Literal["products", "orders", "tracking", "cases"]
FEEDS: tuple[Feed, ...] = ("products", "orders", "tracking", "cases")  # products first: orders name their skus
# 500 orders take the station ~50 ms to apply and commit: that is the longest a scan at the bench waits
# for the write lock while a big pull runs (1,000, the protocol's maximum, doubles it).
PAGE = 500
ACTOR = "sync"
CANCELLED = STOPPED_STATUSES
IN_CHUNK = 500
INTERCEPT_SOP = N_(
    "Stop the parcel: take it out of the handover area and do not give it to the courier. If it was "
    "already handed over, ask the carrier to intercept it and return it to the warehouse. Then void the "
    "label (supervisor) and return the items to stock."
)
INTERCEPT_TITLE = N_("Intercept {parcel}: order {order_id} {status} ({where})")
STOPPED_WORDS: dict[str, str] = {OrderStatus.CANCELLED: N_("CANCELLED"), OrderStatus.REFUNDED: N_("REFUNDED")}

T = TypeVar("T")


class PageSource(Protocol):
    """Where pages come from: `SyncClient` in production, a fake in unit tests."""

    def orders(self, cursor: str | None, limit: int = MAX_PAGE) -> Fetched[OrderOut]: ...

    def products(self, cursor: str | None, limit: int = MAX_PAGE) -> Fetched[ProductOut]: ...

    def tracking(self, cursor: str | None, limit: int = MAX_PAGE) -> Fetched[TrackingEventOut]: ...

    def cases(self, cursor: str | None, limit: int = MAX_PAGE) -> Fetched[CaseChangeOut]: ...


@dataclass(frozen=True)
class FeedReport:
    feed: Feed
    items: int = 0
    pages: int = 0
    intercepts: int = 0
    notes: tuple[str, ...] = ()  # what was left out of applied pages (e.g. a barcode with a bad check digit)


@dataclass(frozen=True)
class PullReport:
    feeds: dict[str, FeedReport] = field(default_factory=dict)

    def items(self, feed: Feed) -> int:
        report = self.feeds.get(feed)
        return report.items if report else 0

    @property
    def intercepts(self) -> int:
        return sum(r.intercepts for r in self.feeds.values())


# ----- cursors -----
def get_cursor(name: str) -> str | None:
    row = SyncCursor.get_or_none(SyncCursor.name == name)
    return str(row.cursor) if row else None


def save_cursor(name: str, cursor: str, clock: Clock) -> None:
    """Call inside the transaction that stored the page the cursor came with."""
    SyncCursor.insert(name=name, cursor=cursor, updated_at=iso(clock.now())).on_conflict_replace().execute()


# ----- orders -----
def _order_record(order: OrderOut, row: int) -> OrderRecord:
    values: dict[str, object] = {
        "platform": order.platform, "shop": order.shop, "buyer": order.buyer, "receiver_name": order.receiver_name,
        "receiver_phone": order.receiver_phone, "receiver_address": order.receiver_address,
        "total_cents": order.total_cents, "paid_cents": order.paid_cents,
        "discount_cents": order.discount_cents, "shipping_cents": order.shipping_cents,
        "created_at": iso(order.created_at) if order.created_at else None,
        "paid_at": iso(order.paid_at) if order.paid_at else None,
        "ship_by": iso(order.ship_by) if order.ship_by else None,
        "carrier": order.carrier, "note": order.note,
    }
    if order.tracking_no is not None:  # no waybill known to the server: keep one bound at the station
        values["tracking_no"] = order.tracking_no
    ewaybill = order.ewaybill  # the server's word: a cancelled e-waybill is no longer sent, so it is cleared
    values.update(ewaybill_no=ewaybill.tracking_no if ewaybill else None,
                  ewaybill_carrier=ewaybill.carrier if ewaybill else "",
                  routing_code=ewaybill.routing_code if ewaybill else "",
                  sorting=json.dumps(ewaybill.sorting, ensure_ascii=False, sort_keys=True) if ewaybill else "")
    lines = tuple(LineRecord(x.line_no, x.sku, x.name, x.qty, x.unit_price_cents, row)
                  for x in sorted(order.lines, key=lambda x: x.line_no))
    return OrderRecord(order.order_id, order.status, values, lines, row)


def _last_per_key(items: Sequence[T], key: Callable[[T], str]) -> list[T]:
    """A page naming the same order twice: the later entry is the newer state."""
    latest: dict[str, T] = {}
    for item in items:
        latest.pop(key(item), None)
        latest[key(item)] = item
    return list(latest.values())


@dataclass(frozen=True)
class _Packed:
    order: Order
    shipment: Shipment | None
    handed_over: bool
    in_progress: bool = False  # a pack session is open on it right now


def _packed_here(order_ids: Sequence[str]) -> dict[str, _Packed]:
    """Orders this station packed (status packed/shipped, a live shipment or a completed session), or
    is packing right now (an open session: the parcel may be labelled seconds after this page)."""
    found: dict[str, _Packed] = {}
    for start in range(0, len(order_ids), IN_CHUNK):
        orders = {o.id: o for o in Order.select().where(Order.order_id.in_(order_ids[start:start + IN_CHUNK]))}
        if not orders:
            continue
        live = {s.order_id: s for s in Shipment.select().where(
            Shipment.order.in_(list(orders)) & (Shipment.voided == False))}  # noqa: E712 (SQL)
        sessions: dict[int, set[str]] = {}
        for pk, state in PackSession.select(PackSession.order, PackSession.state).where(
                PackSession.order.in_(list(orders))
                & PackSession.state.in_((*PACKED_SESSIONS, SessionState.OPEN))).tuples():
            sessions.setdefault(pk, set()).add(state)
        handed = {pk for (pk,) in HandoverItem.select(HandoverItem.shipment).where(
            HandoverItem.shipment.in_([s.id for s in live.values()]) & HandoverItem.handed_over_at.is_null(False)
        ).tuples()} if live else set()
        for pk, order in orders.items():
            shipment = live.get(pk)
            states = sessions.get(pk, set())
            if order.status in PACKED_STATUSES or shipment is not None or states:
                found[order.order_id] = _Packed(order, shipment, shipment is not None and shipment.id in handed,
                                                in_progress=SessionState.OPEN in states and shipment is None)
    return found


def _needs_intercept(incoming: OrderOut, packed: _Packed) -> bool:
    key = f"intercept:{incoming.order_id}"
    if packed.order.status not in CANCELLED:
        return True
    # Already cancelled here (a file import, an earlier pull): open one only if none was ever opened.
    return not ExceptionCase.select().where(ExceptionCase.dedupe_key == key).exists()


def _open_intercept(store: Store, clock: Clock, incoming: OrderOut, packed: _Packed) -> bool:
    shipment = packed.shipment
    tracking = shipment.tracking_no if shipment is not None else (packed.order.tracking_no or "")
    where = Phrase(N_("ALREADY HANDED OVER to the carrier") if packed.handed_over else
                   N_("being packed right now") if packed.in_progress else N_("packed, not yet handed over"))
    case = open_case(
        store, clock, dedupe_key=f"intercept:{incoming.order_id}", tag="intercept", rule_id="builtin.intercept",
        severity="critical", route="supervisor",
        title=Phrase(INTERCEPT_TITLE, {"parcel": tracking or incoming.order_id, "order_id": incoming.order_id,
                                       "status": named(STOPPED_WORDS, incoming.status), "where": where}),
        sop=INTERCEPT_SOP, order=packed.order, shipment=shipment, actor=ACTOR,
        detail={"status": incoming.status, "local_status": packed.order.status, "tracking_no": tracking or None,
                "carrier": shipment.carrier if shipment is not None else packed.order.carrier,
                "handed_over": packed.handed_over, "being_packed": packed.in_progress,
                "server_updated_at": iso(incoming.updated_at)},
    )
    return case is not None


def apply_orders_page(store: Store, clock: Clock, items: Sequence[OrderOut], sha256: str) -> int:
    """Apply one page of orders (call inside the page's transaction); returns intercepts opened."""
    orders = _last_per_key(items, lambda o: o.order_id)
    if not orders:
        return 0
    cancelled = [o for o in orders if o.status in CANCELLED]
    packed = _packed_here([o.order_id for o in cancelled]) if cancelled else {}
    intercept = [(o, packed[o.order_id]) for o in cancelled
                 if o.order_id in packed and _needs_intercept(o, packed[o.order_id])]
    records = [_order_record(o, row) for row, o in enumerate(orders, start=1)]
    apply_orders(store, records, clock, source=Source(Path("sync:orders"), sha256, len(records), "sync"), actor=ACTOR)
    return sum(_open_intercept(store, clock, o, p) for o, p in intercept)


# ----- products -----
def _product_records(items: Sequence[ProductOut]) -> tuple[list[ProductRecord], list[str]]:
    notes: list[str] = []
    products = _last_per_key(items, lambda p: p.sku)
    claimed: dict[str, str] = {}  # barcode key → sku, within this page: the most recently updated wins
    for product in sorted(products, key=lambda p: p.updated_at):
        for raw in product.barcodes:
            with contextlib.suppress(ValueError):  # a bad code is reported below, where it is left out
                claimed[barcode_key(raw.strip())] = product.sku
    records: list[ProductRecord] = []
    for row, product in enumerate(products, start=1):
        codes: list[tuple[str, str]] = []
        for raw in (b.strip() for b in product.barcodes):
            if not raw:
                continue
            try:
                key = barcode_key(raw)
            except ValueError as exc:
                notes.append(f"sku {product.sku}: {exc}; barcode left out")
                continue
            if claimed.get(key) != product.sku:
                notes.append(f"sku {product.sku}: barcode {raw!r} is also listed for sku {claimed.get(key)!r}; "
                             "left with that one")
                continue
            if all(key != k for k, _ in codes):
                codes.append((key, raw))
        values = {"name": product.name, "weight_g": product.weight_g, "stock": product.stock}
        records.append(ProductRecord(product.sku, values, tuple(codes), row, "barcodes"))
    return records, notes


def _release_moved_barcodes(records: Sequence[ProductRecord]) -> None:
    """Codes this page lists for a sku, still bound here to a sku the page does not list: released."""
    skus = {r.sku for r in records}
    keys = [k for r in records for k, _ in r.barcodes or ()]
    for start in range(0, len(keys), IN_CHUNK):
        stale = [pk for pk, sku in ProductBarcode.select(ProductBarcode.id, Product.sku).join(Product).where(
            ProductBarcode.key.in_(keys[start:start + IN_CHUNK])).tuples() if sku not in skus]
        if stale:
            ProductBarcode.delete().where(ProductBarcode.id.in_(stale)).execute()


def apply_products_page(store: Store, clock: Clock, items: Sequence[ProductOut], sha256: str) -> list[str]:
    """Apply one page of products (inside the page's transaction); returns notes on what was left out."""
    records, notes = _product_records(items)
    if records:
        _release_moved_barcodes(records)
        apply_products(store, records, clock, source=Source(Path("sync:products"), sha256, len(records), "sync"),
                       actor=ACTOR)
    for note in notes:
        log.warning("products pull: %s", note)
    return notes


# ----- tracking -----
def apply_tracking_page(clock: Clock, items: Sequence[TrackingEventOut]) -> int:
    """Append the page's events (inside the page's transaction); one already stored is skipped."""
    if not items:
        return 0
    stamp = iso(clock.now())
    rows = [{"server_id": e.id, "carrier": e.carrier, "tracking_no": e.tracking_no, "status": e.status,
             "carrier_status": e.carrier_status, "time": iso(e.time), "site": e.site, "courier": e.courier,
             "context": e.context, "source": e.source, "received_at": stamp} for e in items]
    for start in range(0, len(rows), 50):  # 12 columns: well under SQLite's host-parameter limit
        TrackingEvent.insert_many(rows[start:start + 50]).on_conflict_ignore().execute()
    return len(rows)


TRACKING_ABORT_SOP = N_(
    "Kuaidi100 stopped tracking this parcel (its message is in the title). Check that the courier really "
    "collected it (handover sheet, courier's app); if it was collected, ask the carrier for its trail and "
    "re-subscribe; if not, find the parcel and hand it over again."
)
TRACKING_ABORT_TITLE = N_("Tracking stopped for {tracking_no}: {message}")


def open_tracking_aborts(store: Store, clock: Clock, items: Sequence[TrackingEventOut]) -> int:
    """A `tracking_abort` case for each parcel whose subscription the carrier aborted (code `abort`,
    published by the server when renewing it would not help). In the page's transaction."""
    opened = 0
    for event in items:
        if event.carrier_status != "abort":
            continue
        shipment = Shipment.get_or_none(Shipment.tracking_no == event.tracking_no)
        order = shipment.order if shipment is not None else Order.get_or_none(
            Order.tracking_no == event.tracking_no)
        case = open_case(
            store, clock, dedupe_key=f"tracking_abort:{event.tracking_no}", tag="tracking_abort",
            rule_id="builtin.tracking_abort", severity="warning", route="supervisor",
            title=Phrase(TRACKING_ABORT_TITLE, {"tracking_no": event.tracking_no, "message": event.context}),
            sop=TRACKING_ABORT_SOP,
            order=order, shipment=shipment, actor=ACTOR,
            detail={"tracking_no": event.tracking_no, "carrier": event.carrier, "message": event.context,
                    "time": iso(event.time)})
        opened += case is not None
    return opened


# ----- cases -----
def apply_cases_page(store: Store, clock: Clock, items: Sequence[CaseChangeOut]) -> list[str]:
    """A supervisor's acknowledge / resolve from the console, applied as if made here (audited, pushed
    back to the server, which already has it). A case that has moved on here since is left as it is,
    with a note: the station's later state stands."""
    from app.cases import CaseError, transition

    notes = []
    for change in items:
        try:
            transition(store, clock, change.case, change.state, change.actor[:64], change.note)
        except CaseError as exc:
            notes.append(f"console change to case {change.case} not applied: {exc}")
    return notes


# ----- the loop -----
def _fetch(source: PageSource, feed: Feed, cursor: str | None, limit: int) -> Fetched[Any]:
    if feed == "orders":
        return source.orders(cursor, limit)
    if feed == "products":
        return source.products(cursor, limit)
    if feed == "cases":
        return source.cases(cursor, limit)
    return source.tracking(cursor, limit)


def _store_page(store: Store, clock: Clock, feed: Feed, fetched: Fetched[Any]) -> tuple[int, list[str]]:
    """Apply one page and store its cursor, in one transaction: (intercepts opened, notes)."""
    page = fetched.page
    intercepts = 0
    notes: list[str] = []
    with store.atomic():
        if feed == "orders":
            intercepts = apply_orders_page(store, clock, page.items, fetched.sha256)
        elif feed == "products":
            notes = apply_products_page(store, clock, page.items, fetched.sha256)
        elif feed == "cases":
            notes = apply_cases_page(store, clock, page.items)
        else:
            apply_tracking_page(clock, page.items)
            open_tracking_aborts(store, clock, page.items)
        save_cursor(feed, page.next_cursor, clock)
    return intercepts, notes


class _PageRules:
    """Runs the exception rules over what a stored page changed; the rule book is loaded once per pull."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store, self.clock = store, clock
        self._ruleset: Any = None

    def after_page(self, feed: Feed, items: Sequence[Any]) -> None:
        if feed in ("products", "cases") or not items:
            return
        try:
            from app.rules import load_book, order_ids_for_waybills, run_rules

            if feed == "orders":
                trigger, order_ids = "order_change", list(dict.fromkeys(o.order_id for o in items))
            else:
                trigger = "tracking"
                order_ids = order_ids_for_waybills(self.store, [e.tracking_no for e in items])
            if not order_ids:
                return
            if self._ruleset is None:
                self._ruleset = load_book(self.store).current
            run_rules(self.store, self.clock, self._ruleset, trigger, order_ids)
        except Exception:
            log.exception("%s pull: exception rules failed on a stored page; the pull goes on", feed)


def pull_feed(store: Store, source: PageSource, clock: Clock, feed: Feed, *, limit: int = PAGE,
              max_pages: int | None = None, on_page: Callable[[FeedReport], None] | None = None) -> FeedReport:
    """Pull one feed page by page until the server says there is no more (or `max_pages`).

    While a page is applied, the next one is already being fetched (its cursor came with this page),
    so the server's work and the station's overlap; it is applied only after this page committed.
    Raises the source's error on the first failure: pages already stored stay stored with their cursor.
    `on_page` gets the running total after each stored page (it may raise to stop).
    """
    cursor = get_cursor(feed)
    report = FeedReport(feed)
    if max_pages is not None and max_pages < 1:
        return report
    rules = _PageRules(store, clock)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"pull-{feed}") as http:
        fetched = _fetch(source, feed, cursor, limit)
        while True:
            page = fetched.page
            # `stuck`: a server saying "more" without moving on would loop forever.
            stuck = page.next_cursor == cursor and not page.items
            more = page.has_more and not stuck and (max_pages is None or report.pages + 1 < max_pages)
            upcoming = http.submit(_fetch, source, feed, page.next_cursor, limit) if more else None
            intercepts, notes = _store_page(store, clock, feed, fetched)
            rules.after_page(feed, page.items)
            report = FeedReport(feed, report.items + len(page.items), report.pages + 1,
                                report.intercepts + intercepts, notes=report.notes + tuple(notes))
            if on_page is not None:
                on_page(report)
            if upcoming is None:
                return report
            cursor = page.next_cursor
            fetched = upcoming.result()


def pull_all(store: Store, source: PageSource, clock: Clock, *, limit: int = PAGE,
             feeds: Sequence[Feed] = FEEDS, on_page: Callable[[FeedReport], None] | None = None) -> PullReport:
    """Every feed in turn (products, orders, tracking); the first failure is raised, after the pages
    already stored. Use `pull_feed` for a partial report on failure."""
    reports: dict[str, FeedReport] = {}
    for feed in feeds:
        reports[feed] = pull_feed(store, source, clock, feed, limit=limit, on_page=on_page)
    return PullReport(reports)


def tracking_trail(tracking_no: str) -> list[TrackingEvent]:
    """A parcel's pulled tracking events, oldest first."""
    query = TrackingEvent.select().where(TrackingEvent.tracking_no == tracking_no)
    return list(query.order_by(TrackingEvent.time, TrackingEvent.server_id))


__all__ = [
    "FEEDS", "Feed", "FeedReport", "PageSource", "PullReport", "apply_orders_page", "apply_products_page",
    "apply_tracking_page", "get_cursor", "pull_all", "pull_feed", "save_cursor", "tracking_trail",
]
