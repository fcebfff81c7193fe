"""`packbench server` as a process: its memory stays bounded under hostile bodies while a signed station
keeps pushing, and its files are private at rest (modes fixed and logged at start)."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bench._served import PushingStation, admin, server_env, serving, wait_until_serving
from bench.attack_clients import huge_body

MB = 1 << 20
HOOK_SECRET = "process-hook-secret"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "srv"
    folder.mkdir()
    os.chmod(folder, 0o755)
    (folder / "server.toml").write_text(f'webhook_secret = "{HOOK_SECRET}"\nkuaidi100_salt = "salt"\n'
                                        "body_timeout_seconds = 5\nheader_timeout_seconds = 2\n", encoding="utf-8")
    os.chmod(folder / "server.toml", 0o644)
    return folder


def test_memory_stays_bounded_under_huge_bodies_while_a_signed_station_pushes(data_dir: Path) -> None:
    env = server_env()
    token = admin(data_dir, env, "station-token", "--warehouse", "WH1").strip()
    with serving(data_dir, env) as served:
        station = PushingStation.enroll(served.url, token)
        for _ in range(20):  # warm up: imports, caches, the thread pool
            assert station.push()[0] == 200
        baseline = served.reset_peak()  # VmHWM from here on
        forged = {"X-Station": station.station_id, "X-Timestamp": str(int(time.time())), "X-Nonce": "n" * 16,
                  "X-Signature": "0" * 64}
        attacks = [  # (path, bytes, chunked, headers), all at once
            ("/api/v1/events", 300 * MB, False, {}),
            ("/api/v1/events", 300 * MB, True, {}),
            *[("/api/v1/events", 250 * MB, True, forged)] * 4,  # a known station id: read up to 4 MB, then 413
            *[("/hooks/carriers/generic", 250 * MB, True, {"X-PackBench-Signature": "0" * 64})] * 4,
            ("/hooks/carriers/kuaidi100", 250 * MB, True, {"Content-Type": "application/x-www-form-urlencoded"}),
        ]
        statuses: list[int] = []
        stop = threading.Event()

        def keep_pushing() -> None:
            while not stop.is_set():
                statuses.append(station.push()[0])

        pusher = threading.Thread(target=keep_pushing)
        pusher.start()
        try:
            with ThreadPoolExecutor(len(attacks)) as pool:
                outcomes = list(pool.map(lambda a: huge_body(served.port, a[0], a[1], chunked=a[2], headers=a[3]),
                                         attacks))
        finally:
            stop.set()
            pusher.join(60)
        _, peak = served.memory_kb()
        assert all(o.status in (401, 413) and o.closed for o in outcomes), outcomes
        assert sum(o.sent for o in outcomes) < 400 * MB  # of 3.3 GB offered
        assert statuses and set(statuses) == {200}, statuses
        assert (peak - baseline) < 64 * 1024, f"RSS grew {(peak - baseline) / 1024:.0f} MB"
        station.close()


def test_files_are_private_at_rest_and_loose_modes_are_fixed_at_start(data_dir: Path) -> None:
    env = server_env()
    admin(data_dir, env, "station-token", "--warehouse", "WH1")  # creates the database as a plain admin command
    db = data_dir / "packbench-server.sqlite3"
    os.chmod(db, 0o644)
    with serving(data_dir, env) as served:
        station = PushingStation.enroll(served.url, admin(data_dir, env, "station-token", "--warehouse", "WH1").strip())
        assert station.push()[0] == 200
        station.close()
        files = [db, data_dir / "server.log", data_dir / "server.toml",
                 *(f for f in (data_dir / "packbench-server.sqlite3-wal", data_dir / "packbench-server.sqlite3-shm")
                   if f.exists())]  # the WAL lives while a connection is open
        assert _mode(data_dir) == 0o700
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
    log = (data_dir / "server.log").read_text(encoding="utf-8")
    assert "private at rest" in log and "was mode 0644" in log and "was mode 0755" in log


def _packbench_server(data_dir: Path, port: int, *options: str) -> subprocess.Popen[str]:
    root = Path(__file__).resolve().parents[2]
    env = {**server_env(), "LANG": "C.UTF-8"}
    return subprocess.Popen([sys.executable, str(root / "main.py"), "--data-dir", str(data_dir), "server", "--port",
                             str(port), *options], cwd=root, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_stops_the_server_with_one_line_and_exit_130(data_dir: Path, workers: str) -> None:
    # uvicorn.run swallowed the KeyboardInterrupt it shut down for: the command exited 0.
    port = _free_port()
    proc = _packbench_server(data_dir, port, "--workers", workers)
    try:
        wait_until_serving(proc, f"http://127.0.0.1:{port}", data_dir)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert [line for line in stderr.splitlines() if line.startswith("packbench:")] == ["packbench: interrupted"]
    assert stderr.rstrip().endswith("packbench: interrupted") and "Traceback" not in stderr


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_port_in_use_is_one_line_and_exit_1(data_dir: Path, workers: str) -> None:
    # uvicorn exited 3, PackBench's code for a broken audit chain, with no line of ours.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _packbench_server(data_dir, port, "--workers", workers)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert stderr.rstrip().splitlines()[-1] == (f"packbench: the server did not start on 127.0.0.1:{port}; "
                                                "the log lines above say why")
