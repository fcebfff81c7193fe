"""Waybill pools: all-or-nothing imports, low-water warnings, and no number handed out twice."""

from __future__ import annotations

import itertools
import json
import multiprocessing
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app import cli
from app.audit import verify_chain
from app.cli_logistics import register
from app.clock import FakeClock, iso
from app.demo import product_barcode
from app.errors import ExitCode
from app.pack import lookup
from app.pack.flow import PackFlow
from app.store import Store, open_store
from app.store.models import AuditEntry, Order, Outbox, Shipment, WaybillPool
from app.waybills import (
    LowWater,
    WaybillImportError,
    add_numbers,
    import_waybills,
    pool_status,
    pool_summary,
    pool_warnings,
)
from tests.helpers import scan, weigh


def sf(i: int) -> str:
    return f"SF{1500000000000 + i}"


def write(path: Path, numbers: list[str], *, bom: bool = False, eol: str = "\n") -> Path:
    path.write_bytes(("\ufeff" if bom else "").encode() + (eol.join(numbers) + eol).encode())
    return path


def add_order(order_id: str = "T-0001") -> Order:
    return Order.create(order_id=order_id, updated_at="2026-11-25T00:00:00.000Z")  # type: ignore[no-any-return]


# ----- import -----
def test_import_tolerates_bom_crlf_blank_lines_and_lower_case(store: Store, clock: FakeClock, tmp_path: Path) -> None:
    numbers = [sf(i) for i in range(5)] + ["", "  sf1500000000099  ", ""]
    report = import_waybills(store, write(tmp_path / "sf.txt", numbers, bom=True, eol="\r\n"), "sf", clock, "admin")
    assert (report.carrier, report.imported, report.free, report.used) == ("SF", 6, 6, 0)
    assert WaybillPool.get(WaybillPool.number == "SF1500000000099").state == "free"
    entry = AuditEntry.get(AuditEntry.kind == "waybills.imported")
    payload = json.loads(entry.payload)
    assert (payload["carrier"], payload["count"], payload["file"]) == ("SF", 6, "sf.txt")
    assert len(payload["sha256"]) == 64 and entry.actor == "admin"
    assert Outbox.select().where(Outbox.kind == "waybills.imported").count() == 1


def test_numeric_carriers_including_numbers_with_a_valid_gtin_check_digit(store: Store, clock: FakeClock) -> None:
    # About one ZTO number in ten also reads as a GTIN-14; it is still that carrier's number.
    numbers = [f"7310000000000{d}" for d in range(10)]
    report = add_numbers(store, numbers, "ZTO", clock, "admin")
    assert report.imported == 10 and pool_status("ZTO") == (10, 0)


@pytest.mark.parametrize(("lines", "message"), [
    ([sf(0), "YT1234567890123", sf(2)], r"line 2: 'YT1234567890123' reads as a YTO number, not SF"),
    ([sf(0), sf(1), "hello"], r"line 3: 'hello' is not a SF tracking number"),
    (["12", sf(1)], r"line 1: '12' is not a tracking number"),
    ([sf(0), sf(1), sf(0)], r"line 3: 'SF1500000000000' repeats line 1"),
    ([sf(0), "SF15000000000001"], r"line 2: 'SF15000000000001' is not a SF tracking number"),
])
def test_a_bad_line_refuses_the_whole_file(store: Store, clock: FakeClock, tmp_path: Path,
                                           lines: list[str], message: str) -> None:
    with pytest.raises(WaybillImportError, match=message) as err:
        import_waybills(store, write(tmp_path / "n.txt", lines), "SF", clock)
    assert "nothing imported" in str(err.value) and "\n" not in str(err.value)
    assert WaybillPool.select().count() == 0 and AuditEntry.select().count() == 0


def test_numbers_already_known_to_the_store_are_refused(store: Store, clock: FakeClock, tmp_path: Path) -> None:
    add_numbers(store, [sf(0), sf(1)], "SF", clock, "admin")
    order = add_order()
    Shipment.create(order=order, carrier="SF", tracking_no=sf(7), weight_g=100, items_key="x*1",
                    created_at=iso(clock.now()))
    add_order("T-0002").update(tracking_no=sf(8)).where(Order.order_id == "T-0002").execute()
    with pytest.raises(WaybillImportError) as err:
        import_waybills(store, write(tmp_path / "n.txt", [sf(5), sf(1), sf(7), sf(8)]), "SF", clock)
    assert err.value.problems == [
        "line 2: SF1500000000001 is already in the pool (free)",
        "line 3: SF1500000000007 is already used by a shipment",
        "line 4: SF1500000000008 is bound to order T-0002",
    ]
    assert pool_status("SF") == (2, 0)


def test_unknown_carrier_empty_file_and_unreadable_file(store: Store, clock: FakeClock, tmp_path: Path) -> None:
    with pytest.raises(WaybillImportError, match="unknown carrier 'DHL'"):
        import_waybills(store, write(tmp_path / "a.txt", [sf(0)]), "DHL", clock)
    with pytest.raises(WaybillImportError, match="no numbers"):
        import_waybills(store, write(tmp_path / "b.txt", ["", "  "]), "SF", clock)
    (tmp_path / "c.txt").write_bytes(b"\xff\xfe\x00S")
    with pytest.raises(WaybillImportError, match="not a text file"):
        import_waybills(store, tmp_path / "c.txt", "SF", clock)
    with pytest.raises(WaybillImportError, match="cannot read"):
        import_waybills(store, tmp_path / "missing.txt", "SF", clock)


def test_a_large_file_imports_in_one_transaction(store: Store, clock: FakeClock, tmp_path: Path) -> None:
    report = import_waybills(store, write(tmp_path / "big.txt", [sf(i) for i in range(20_000)]), "SF", clock)
    assert report.imported == 20_000 and pool_status("SF") == (20_000, 0)
    assert verify_chain().ok


# ----- status and warnings -----
def test_pool_status_summary_and_thresholds(store: Store, clock: FakeClock) -> None:
    add_numbers(store, [sf(i) for i in range(60)], "SF", clock, "admin")
    add_numbers(store, [f"YT{1000000000000 + i}" for i in range(10)], "YTO", clock, "admin")
    order = add_order()
    with store.atomic():
        for _ in range(11):
            lookup.take_waybill("SF", order, clock.now())
    assert pool_status("SF") == (49, 11) and pool_status("JD") == (0, 0)
    assert pool_summary() == {"SF": (49, 11), "YTO": (10, 0)}
    warnings = pool_warnings()
    assert [(w.carrier, w.free, w.threshold, w.level) for w in warnings] == [("SF", 49, 50, "warn"),
                                                                              ("YTO", 10, 50, "warn")]
    assert "49 free" in warnings[0].text("en") and "顺丰速运" in warnings[0].text("zh")
    per = LowWater(default=20, per_carrier={"SF": 40, "JD": 5})
    assert [(w.carrier, w.free) for w in pool_warnings(per)] == [("JD", 0), ("YTO", 10)]
    assert pool_warnings(per)[0].exhausted and "EMPTY" in pool_warnings(per)[0].text("en")


def test_low_water_from_config(tmp_path: Path) -> None:
    from app.config import StationConfig, load_config

    assert LowWater.from_config(StationConfig()) == LowWater(50)
    (tmp_path / "station.toml").write_text("waybill_low_water = 80\n", "utf-8")
    assert LowWater.from_config(load_config(tmp_path)).for_carrier("ZTO") == 80


def pack(flow: PackFlow, order_id: str) -> str:
    """Scan a demo order and all its items, weigh it as expected; the outcome of the weighing."""
    assert scan(flow, order_id).event == "order_opened"
    for line in Order.get(Order.order_id == order_id).lines:
        for _ in range(line.qty):
            scan(flow, product_barcode(line.sku))
    out = weigh(flow, flow.expected_weight_g() or 0)
    assert out is not None
    if out.event == "label_queued":
        flow.print_result(out.detail["job_id"], True)
    return out.event


def test_the_low_pool_warning_comes_before_exhaustion(flow: PackFlow) -> None:
    # The demo pool holds 20 SF numbers; 18 have gone to other parcels.
    WaybillPool.update(state="used").where(WaybillPool.id.in_(
        WaybillPool.select(WaybillPool.id).where(WaybillPool.carrier == "SF").order_by(WaybillPool.id).limit(18)
    )).execute()
    limits = LowWater(per_carrier={"SF": 3})

    def sf_warning() -> tuple[int, bool] | None:
        found = [(w.free, w.exhausted) for w in pool_warnings(limits) if w.carrier == "SF"]
        return found[0] if found else None

    assert sf_warning() == (2, False)  # warned while two numbers are left
    scan(flow, "B-1001")
    assert pack(flow, "TB2026112500002") == "label_queued"
    assert sf_warning() == (1, False)
    assert pack(flow, "#1004") == "label_queued"
    assert sf_warning() == (0, True)
    assert pack(flow, "TB2026112500006") == "no_waybill"  # exhaustion: the flow's outcome


# ----- two processes, one pool -----
def _allocate(data_dir: str, count: int, start: object, results: object) -> None:
    """Child process: its own connection to the same store, `count` allocations, one per transaction."""
    store = open_store(Path(data_dir))
    order = Order.get(Order.order_id == "T-0001")
    start.wait()  # type: ignore[attr-defined]
    taken = []
    for _ in range(count):
        with store.atomic():
            taken.append(lookup.take_waybill("SF", order, datetime.now(UTC)))
        time.sleep(0.001)  # a bench does other work between parcels; without it SQLite's busy wait lets
        # one process hold the lock for its whole run and the test would prove little
    store.close()
    results.put(taken)  # type: ignore[attr-defined]


def test_two_processes_never_get_the_same_number(tmp_path: Path, clock: FakeClock) -> None:
    data_dir = tmp_path / "shared"
    store = open_store(data_dir, clock)
    add_order()
    add_numbers(store, [sf(i) for i in range(400)], "SF", clock, "admin")
    store.close()
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    workers = [ctx.Process(target=_allocate, args=(str(data_dir), 200, start, results)) for _ in range(2)]
    for w in workers:
        w.start()
    start.set()
    got = [results.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    everything = got[0] + got[1]
    assert None not in everything and len(everything) == 400
    assert len(set(everything)) == 400, "a number was handed out twice"
    assert set(everything) == {sf(i) for i in range(400)}, "a number was lost"
    owner = {number: n for n, numbers in enumerate(got) for number in numbers}
    in_pool_order = [owner[sf(i)] for i in range(400)]
    switches = sum(a != b for a, b in itertools.pairwise(in_pool_order))
    assert switches >= 3, "the two processes did not overlap: nothing was tested"
    store = open_store(data_dir, clock)
    assert pool_status("SF") == (0, 400)
    store.close()


# ----- CLI -----
def packbench(argv: list[str]) -> int:
    parser, sub = cli.build_parser()
    if "waybills" not in sub.choices:
        register(sub)
    return cli.run(parser.parse_args(argv))


def test_cli_import_and_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "station"
    assert packbench(["--data-dir", str(data), "waybills", "status"]) == 0
    assert "no waybill numbers" in capsys.readouterr().out
    numbers = write(tmp_path / "sf.txt", [sf(i) for i in range(30)])
    assert packbench(["--data-dir", str(data), "waybills", "import", str(numbers), "--carrier", "SF"]) == 0
    captured = capsys.readouterr()
    assert "SF: 30 numbers imported" in captured.out and "WARNING 顺丰速运 运单号仅剩 30 个" in captured.err
    assert packbench(["--data-dir", str(data), "waybills", "import", str(numbers), "--carrier", "SF"]) == ExitCode.INPUT
    err = capsys.readouterr().err
    assert err.startswith("packbench: sf.txt: 30 bad line(s), nothing imported: line 1: SF1500000000000 is already")
    assert len(err.strip().splitlines()) == 1
    assert packbench(["--data-dir", str(data), "waybills", "status"]) == 0
    captured = capsys.readouterr()
    assert "SF" in captured.out and "free      30" in captured.out and "WARNING" in captured.err
    assert packbench(["--data-dir", str(data), "waybills", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["pools"]["SF"] == {"free": 30, "used": 0, "low_water": 50}
    assert status["warnings"][0]["carrier"] == "SF"
