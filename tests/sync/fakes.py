"""In-memory stand-ins for the central server, for unit tests of push, pull and the worker."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from app.audit import record_fact
from app.clock import FakeClock
from app.store import Store
from protocol import (
    MAX_PAGE,
    AuditHead,
    AuditHeadAck,
    CaseChangeOut,
    Event,
    EventBatchResult,
    EventResult,
    LineOut,
    OrderOut,
    Page,
    ProductOut,
    RuleSetOut,
    SupervisorCallOut,
    SupervisorCallsOut,
    TrackingEventOut,
    WaybillAllocation,
)
from server.audit_heads import Claim, judge
from sync.client import Fetched, SyncError

T0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


class FakeApi:
    """Applies each event id once, answers known/rejected like the protocol says, serves feeds by index.

    `failures` are raised by the next pushes, `pull_failures` by the next page requests (one each),
    before anything is applied.
    """

    station_id = "ST-TEST"

    def __init__(self) -> None:
        self.events: dict[UUID, Event] = {}
        self.batches: list[list[Event]] = []
        self.reject: Callable[[Event], str | None] = lambda e: None
        self.failures: list[Exception] = []
        self.pull_failures: list[Exception] = []
        self.feeds: dict[str, list[Any]] = {"orders": [], "products": [], "tracking": [], "cases": []}
        self.requests: list[tuple[str, str | None, int]] = []
        self.ruleset = RuleSetOut(version=0, sha256=hashlib.sha256(b"").hexdigest(), created_at=None, content="")
        self.audit_head: AuditHead | None = None  # kept as the server keeps it (server.audit_heads.judge)
        self.audit_claims: list[Claim] = []
        self.pool: dict[str, list[str]] = {}  # the server's waybill pool, per carrier
        self.allocations: list[tuple[str, int]] = []
        self.calls: list[SupervisorCallOut] = []  # live supervisor calls of the other stations

    def serve_rules(self, content: str, version: int) -> None:
        self.ruleset = RuleSetOut(version=version, sha256=hashlib.sha256(content.encode()).hexdigest(),
                                  created_at=T0, content=content)

    @staticmethod
    def _fail(failures: list[Exception]) -> None:
        if failures:
            raise failures.pop(0)

    def push(self, events: Sequence[Event], head: AuditHead | None = None,
             links: Sequence[AuditHead] = ()) -> EventBatchResult:
        self.batches.append(list(events))
        self._fail(self.failures)
        results = []
        for e in events:
            reason = self.reject(e)
            if reason:
                results.append(EventResult(id=e.id, status="rejected", reason=reason))
            elif e.id in self.events:
                same = self.events[e.id] == e
                results.append(EventResult(id=e.id, status="known") if same else
                               EventResult(id=e.id, status="rejected", reason="same id, different body"))
            else:
                self.events[e.id] = e
                results.append(EventResult(id=e.id, status="accepted"))
        return EventBatchResult(results=results, audit_head=self._anchor(head, links))

    def _anchor(self, head: AuditHead | None, links: Sequence[AuditHead]) -> AuditHeadAck | None:
        if head is None:
            return None
        claim = Claim(head, tuple(links))
        self.audit_claims.append(claim)
        status, reason = judge(self.audit_head, claim)
        if status == "accepted":
            self.audit_head = head
        kept = self.audit_head
        assert kept is not None
        return AuditHeadAck(status=status, seq=kept.seq, hash=kept.hash, acknowledged_at=T0, reason=reason)

    def _page(self, feed: str, cursor: str | None, limit: int) -> Fetched[Any]:
        self.requests.append((feed, cursor, limit))
        self._fail(self.pull_failures)
        start = int(cursor or 0)
        items = self.feeds[feed][start:start + limit]
        end = start + len(items)
        return Fetched(Page[Any](items=items, next_cursor=str(end), has_more=end < len(self.feeds[feed])),
                       sha256=f"{feed}-{start}")

    def orders(self, cursor: str | None, limit: int = MAX_PAGE) -> Fetched[OrderOut]:
        return self._page("orders", cursor, limit)

    def products(self, cursor: str | None, limit: int = MAX_PAGE) -> Fetched[ProductOut]:
        return self._page("products", cursor, limit)

    def tracking(self, cursor: str | None, limit: int = MAX_PAGE) -> Fetched[TrackingEventOut]:
        return self._page("tracking", cursor, limit)

    def cases(self, cursor: str | None, limit: int = MAX_PAGE) -> Fetched[CaseChangeOut]:
        return self._page("cases", cursor, limit)

    def rules(self) -> RuleSetOut:
        self._fail(self.pull_failures)
        return self.ruleset

    def supervisor_calls(self) -> SupervisorCallsOut:
        return SupervisorCallsOut(calls=self.calls)

    def allocate_waybills(self, carrier: str, count: int) -> WaybillAllocation:
        self.allocations.append((carrier, count))
        numbers = self.pool.get(carrier, [])
        if not numbers:
            raise SyncError(f"the server's {carrier} waybill pool is empty", retryable=False, kind="refused",
                            status=409)
        taken, self.pool[carrier] = numbers[:count], numbers[count:]
        return WaybillAllocation(carrier=carrier, numbers=taken)


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


def unreachable(what: str = "POST /events") -> SyncError:
    return SyncError(f"{what}: server unreachable (Connection refused)", retryable=True, kind="unreachable")


def order_out(order_id: str, status: str = "paid", *, skus: Sequence[str] = ("SKU-1",), tracking_no: str | None = None,
              minute: int = 0, **fields: Any) -> OrderOut:
    lines = [LineOut(line_no=i, sku=sku, name=f"item {sku}", qty=1, unit_price_cents=990)
             for i, sku in enumerate(skus, start=1)]
    base: dict[str, Any] = {
        "order_id": order_id, "warehouse": "HZ-1", "platform": "taobao", "shop": "main", "status": status,
        "receiver_name": "张伟", "receiver_phone": "13800138000", "receiver_address": "浙江省杭州市余杭区 1 号",
        "total_cents": 990 * len(skus), "paid_cents": 990 * len(skus), "created_at": T0, "carrier": "SF",
        "tracking_no": tracking_no, "lines": lines, "updated_at": T0 + timedelta(minutes=minute),
    }
    base.update(fields)
    return OrderOut(**base)


def product_out(sku: str, barcodes: Sequence[str] = (), *, stock: int = 10, weight_g: int = 120,
                minute: int = 0, name: str | None = None) -> ProductOut:
    return ProductOut(sku=sku, name=name or f"product {sku}", weight_g=weight_g, stock=stock,
                      barcodes=list(barcodes), updated_at=T0 + timedelta(minutes=minute))


def tracking_out(server_id: int, tracking_no: str = "SF1400000000001", status: str = "in_transit") -> TrackingEventOut:
    return TrackingEventOut(id=server_id, carrier="SF", tracking_no=tracking_no, status=status,  # type: ignore[arg-type]
                            carrier_status="0", time=T0 + timedelta(hours=server_id), site="杭州转运中心",
                            courier="", context=f"快件到达 杭州转运中心 #{server_id}", source="kuaidi100")


def queue_events(store: Store, clock: FakeClock, n: int, kind: str = "scan") -> list[str]:
    """`n` facts recorded the way the app records them (audit entry + outbox row), in one transaction;
    returns their event ids."""
    from app.store.models import Outbox

    before = Outbox.select(Outbox.seq).order_by(Outbox.seq.desc()).first()
    with store.atomic():
        for i in range(n):
            record_fact(kind, "packer-1", clock.now(), {"i": i, "code": f"690{i:010d}", "outcome": "item_ok"})
    query = Outbox.select(Outbox.event_id).where(Outbox.seq > (before.seq if before else 0))
    return [row.event_id for row in query.order_by(Outbox.seq)]


def packbench(argv: list[str]) -> int:
    """`packbench ARGV` as main.py runs it once `sync.cli.register` is wired in."""
    from app import cli
    from sync.cli import register

    parser, sub = cli.build_parser()
    register(sub)
    return cli.run(parser.parse_args([str(a) for a in argv]))
