"""`packbench server …` admin commands (through `server.cli.register`), intake rules, waybill pools, rules."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from server_harness import Running

from app.cli import add_data_dir
from app.errors import ExitCode
from protocol import API
from server.cli import register
from server.migrations import LATEST_VERSION
from tests.rules.builders import HOLD_WORDS

FIXTURES = Path(__file__).parents[1] / "fixtures" / "imports"
ROOT = Path(__file__).parents[2]



def packbench_server(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="packbench")
    add_data_dir(parser, top=True)
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["server", *argv])
    return int(args.handler(args))


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> Path:
    monkeypatch.setenv("DATABASE_URL", database_url)
    return tmp_path / "server"


def test_admin_commands_then_a_station_uses_what_they_made(server: Running, cli_env: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    d = str(cli_env)
    assert packbench_server("station-token", "--warehouse", "WH1", "--data-dir", d) == 0
    token = capsys.readouterr().out.strip()
    assert packbench_server("import-orders", str(FIXTURES / "pdd_orders.csv"), "--format", "pdd", "--warehouse", "WH1",
                            "--data-dir", d) == 0
    assert packbench_server("import-orders", str(FIXTURES / "taobao_orders.csv"), "--format", "taobao",
                            "--lines", str(FIXTURES / "taobao_lines.csv"), "--warehouse", "WH1", "--data-dir", d) == 0
    assert packbench_server("import-products", str(FIXTURES / "products.csv"), "--data-dir", d) == 0
    numbers = tmp_path / "sf.txt"
    numbers.write_text("\n".join(f"SF1{n:012d}" for n in range(1, 11)) + "\n", encoding="utf-8")
    assert packbench_server("waybills", "import", str(numbers), "--carrier", "SF", "--data-dir", d) == 0
    rules = tmp_path / "rules.toml"
    rules.write_text(HOLD_WORDS, encoding="utf-8")
    assert packbench_server("rules", "set", str(rules), "--data-dir", d) == 0
    assert packbench_server("rules", "set", str(rules), "--data-dir", d) == 0
    out = capsys.readouterr().out
    assert "pdd: 4 rows; 3 created" in out and "taobao: 7 rows; 3 created" in out
    assert "products: 4 rows; 4 created" in out
    assert "SF: 10 numbers imported; server pool now 10 free" in out and "(unchanged" in out

    server.rebind()  # the commands opened the same database in this process
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from server_harness import Station

    from app.keys import public_pem

    key = Ed25519PrivateKey.generate()
    body = server.http.post(f"{API}/enroll", json={"token": token, "station_name": "BENCH-1",
                                                   "passport_public_key": public_pem(key.public_key()).decode()}).json()
    station = Station(server, body["station_id"], body["secret"], "WH1", key)
    orders = station.get(f"{API}/orders").json()["items"]
    assert len(orders) == 6 and {o["platform"] for o in orders} == {"pdd", "taobao"}
    assert len(station.get(f"{API}/products").json()["items"]) == 4
    got = station.get(f"{API}/rules").json()
    assert (got["version"], got["content"]) == (1, HOLD_WORDS)
    allocation = station.request("POST", f"{API}/waybills/allocate", {"carrier": "sf", "count": 4}).json()
    assert allocation == {"carrier": "SF", "numbers": [f"SF1{n:012d}" for n in range(1, 5)]}
    station.push(station.event("teleport", {"to": "moon"}))  # rejected: kept for a supervisor
    capsys.readouterr()
    assert packbench_server("events", "--data-dir", d) == 0
    listed = capsys.readouterr().out
    assert station.station_id in listed and "REJECTED unknown kind 'teleport'" in listed
    assert packbench_server("stations", "--data-dir", d) == 0
    assert "\tenrolled " in capsys.readouterr().out
    monkeypatch.setenv("LC_ALL", "zh_CN.UTF-8")  # the lines' words in the CLI's language; the record stays English
    assert packbench_server("events", "--data-dir", d) == 0
    assert "已拒收 unknown kind 'teleport'" in capsys.readouterr().out
    assert packbench_server("stations", "--data-dir", d) == 0
    line = capsys.readouterr().out.strip()
    assert "\t注册于 " in line and "\t最近联系 " in line and line.endswith("\t正常") and "enrolled" not in line


def test_admin_errors_are_one_line_and_exit_2(server: Running, cli_env: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    d = str(cli_env)
    canonical = str(FIXTURES / "canonical_orders.csv")
    assert packbench_server("import-orders", canonical, "--warehouse", "WH1", "--data-dir", d) == 0
    assert packbench_server("import-orders", canonical, "--warehouse", "WH2", "--data-dir", d) == ExitCode.INPUT
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "is routed to warehouse WH1, not WH2; nothing imported" in err
    bad = tmp_path / "bad.txt"
    bad.write_text("SF1000000000001\nnot-a-number\nSF1000000000001\n", encoding="utf-8")
    assert packbench_server("waybills", "import", str(bad), "--carrier", "SF", "--data-dir", d) == ExitCode.INPUT
    err = capsys.readouterr().err
    assert "2 bad line(s), nothing imported" in err and "repeats line 1" in err
    with pytest.MonkeyPatch.context() as chinese:  # the refusal's frame in the CLI's language, each line as recorded
        chinese.setenv("LC_ALL", "zh_CN.UTF-8")
        assert packbench_server("waybills", "import", str(bad), "--carrier", "SF", "--data-dir", d) == ExitCode.INPUT
        assert "bad.txt：2 行有误，未导入任何内容：line 2:" in capsys.readouterr().err
    broken = tmp_path / "broken.toml"
    broken.write_text("[[rule]\n", encoding="utf-8")
    assert packbench_server("rules", "set", str(broken), "--data-dir", d) == ExitCode.INPUT
    assert "TOML" in capsys.readouterr().err
    # What a station would refuse is refused here, with the line: a pattern RE2 cannot run linearly.
    broken.write_text(HOLD_WORDS.replace('"驿站|代收"', '"(驿站)\\\\1"'), encoding="utf-8")
    assert packbench_server("rules", "set", str(broken), "--data-dir", d) == ExitCode.INPUT
    err = capsys.readouterr().err
    assert "line 5" in err and "bad pattern" in err and err.count("\n") == 1
    assert packbench_server("station-token", "--warehouse", "no spaces", "--data-dir", d) == ExitCode.INPUT


def test_waybill_allocation_never_repeats_under_concurrency(server: Running, tmp_path: Path) -> None:
    from app.clock import SystemClock
    from server.waybills import import_pool

    numbers = tmp_path / "zt.txt"
    numbers.write_text("\n".join(f"73{n:012d}" for n in range(1, 201)), encoding="utf-8")
    import_pool(server.services.sdb, numbers, "ZTO", SystemClock())
    stations = [server.enroll("WH1", f"BENCH-{i}") for i in range(4)]
    got: list[list[str]] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        station = stations[index % len(stations)]
        with httpx.Client(base_url=server.url, timeout=30) as http:
            mine = type(station)(type(server)(server.url, server.app, http), station.station_id, station.secret,
                                 station.warehouse, station.key)
            for _ in range(5):
                reply = mine.request("POST", f"{API}/waybills/allocate", {"carrier": "ZTO", "count": 5})
                assert reply.status_code == 200, reply.text
                with lock:
                    got.append(reply.json()["numbers"])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    handed = [n for batch in got for n in batch]
    assert len(handed) == 200 and len(set(handed)) == 200
    empty = stations[0].request("POST", f"{API}/waybills/allocate", {"carrier": "ZTO", "count": 1})
    assert empty.status_code == 409 and "empty" in empty.json()["detail"]
    unknown = stations[0].request("POST", f"{API}/waybills/allocate", {"carrier": "XX", "count": 1})
    assert unknown.status_code == 400


def test_a_packed_order_keeps_its_status_but_a_cancellation_applies(server: Running, tmp_path: Path) -> None:
    from app.clock import SystemClock
    from server.intake import import_orders

    svc = server.services
    canonical = FIXTURES / "canonical_orders.csv"
    import_orders(svc.sdb, canonical, "canonical", "WH1", SystemClock(), svc.config.zone)
    station = server.enroll()
    station.push(station.event("shipment.created", {"order_id": "PB-0001", "tracking_no": "SF1234567890123",
                                                     "carrier": "SF"}))
    import_orders(svc.sdb, canonical, "canonical", "WH1", SystemClock(), svc.config.zone)
    status = {o["order_id"]: o["status"] for o in station.get(f"{API}/orders").json()["items"]}
    assert status["PB-0001"] == "packed"
    cancelled = tmp_path / "cancelled.csv"
    text = canonical.read_text(encoding="utf-8")
    cancelled.write_text(text.replace("PB-0001,,Flagship,paid,", "PB-0001,,Flagship,cancelled,"), encoding="utf-8")
    import_orders(svc.sdb, cancelled, "canonical", "WH1", SystemClock(), svc.config.zone)
    status = {o["order_id"]: o["status"] for o in station.get(f"{API}/orders").json()["items"]}
    assert status["PB-0001"] == "cancelled"


def test_packbench_server_starts_uvicorn(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = ("import argparse, sys; from app.cli import add_data_dir; from server.cli import register; "
              "p = argparse.ArgumentParser(); add_data_dir(p, top=True); register(p.add_subparsers()); "
              "a = p.parse_args(sys.argv[1:]); sys.exit(a.handler(a))")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    proc = subprocess.Popen([sys.executable, "-c", script, "server", "--port", str(port), "--data-dir",
                             str(tmp_path / "srv")], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60  # a start-up, not a timing test: generous on a busy machine
        while True:
            try:
                reply = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert reply.json()["database"] == "sqlite" and reply.json()["schema_version"] == LATEST_VERSION
        assert (tmp_path / "srv" / "packbench-server.sqlite3").exists() and (tmp_path / "srv" / "server.log").exists()
    finally:
        proc.terminate()
        proc.wait(10)


def test_warehouse_set_and_list(cli_env: Path, capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    d = str(cli_env)
    assert packbench_server("warehouse", "set", "WH1", "--sender-name", "PackBench 仓库", "--sender-phone",
                            "0755-8888 6666", "--sender-address", "深圳市南山区科技南十二路 2 号", "--carrier", "sf",
                            "--data-dir", d) == 0
    assert "warehouse WH1: SF, sender PackBench 仓库" in capsys.readouterr().out
    monkeypatch.setenv("LC_ALL", "zh_CN.UTF-8")
    assert packbench_server("warehouse", "set", "WH1", "--sender-name", "PackBench 仓库", "--sender-phone",
                            "0755-8888 6666", "--sender-address", "深圳市南山区科技南十二路 2 号", "--carrier", "sf",
                            "--data-dir", d) == 0
    assert capsys.readouterr().out.startswith("仓库 WH1：SF，寄件人 PackBench 仓库")
    monkeypatch.delenv("LC_ALL")
    assert packbench_server("warehouse", "set", "WH2", "--sender-name", "B", "--sender-phone", "13800001111",
                            "--sender-address", "杭州", "--carrier", "ZTO", "--data-dir", d) == 0
    assert packbench_server("warehouse", "set", "WH2", "--sender-name", "B2", "--sender-phone", "13800001111",
                            "--sender-address", "杭州 西湖", "--carrier", "YTO", "--data-dir", d) == 0
    capsys.readouterr()
    assert packbench_server("warehouse", "list", "--data-dir", d) == 0
    assert capsys.readouterr().out.splitlines() == [
        "WH1\tSF\tPackBench 仓库\t0755-8888 6666\t深圳市南山区科技南十二路 2 号",
        "WH2\tYTO\tB2\t13800001111\t杭州 西湖"]
    for bad, words in ((["--carrier", "DHL"], "unknown carrier"), (["--sender-phone", "call me"], "not a phone"),
                       (["--sender-name", " "], "sender name must not be empty")):
        argv = {"--sender-name": "A", "--sender-phone": "13800001111", "--sender-address": "X", "--carrier": "SF"}
        argv[bad[0]] = bad[1]
        flat = [x for kv in argv.items() for x in kv]
        assert packbench_server("warehouse", "set", "WH3", *flat, "--data-dir", d) == ExitCode.INPUT
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1
