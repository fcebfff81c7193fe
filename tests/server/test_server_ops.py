"""Running the server for real: /metrics (one process and several workers), `--workers N`,
`packbench server backup` on SQLite and PostgreSQL, and clean refusals of bad numbers."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from server_harness import Running, Station

from server.backup import BackupError, back_up_server
from server.config import ServerConfig
from tests.live_server import PG_URL, free_port

ROOT = Path(__file__).resolve().parents[2]


def _samples(text: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        sample = re.fullmatch(re.escape(name) + r"\{(.*)\} (\S+)", line)
        if sample is None:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', sample.group(1)))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(sample.group(2))
    return total


def test_metrics_count_requests_by_route_and_read_stations_from_the_database(server: Running,
                                                                              station: Station) -> None:
    for _ in range(3):
        assert server.http.get("/healthz").status_code == 200
    server.http.get("/p/not-a-token")
    page = server.http.get("/metrics")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/plain")
    text = page.text
    assert _samples(text, "packbench_http_requests_total", route="/healthz", method="GET", status="2xx") >= 3
    assert _samples(text, "packbench_http_requests_total", route="/p/{token}") >= 1  # the template, not the token
    assert "not-a-token" not in text
    assert _samples(text, "packbench_http_request_duration_seconds_count", route="/healthz") >= 3
    assert _samples(text, "packbench_stations", warehouse="WH1", state="active") == 1
    assert "# TYPE packbench_alert_deliveries gauge" in text and "# TYPE packbench_queue_depth gauge" in text


def test_metrics_are_served_only_to_allowed_addresses(tmp_path: Path) -> None:
    from server.app import create_app
    from tests.live_server import UvicornThread

    config = ServerConfig(tmp_path, metrics_allow="10.9.9.9")  # not this machine
    with UvicornThread() as http:
        http.start(create_app(config))
        refused = httpx.get(f"{http.url}/metrics", timeout=10)
        healthy = httpx.get(f"{http.url}/healthz", timeout=10)
    assert refused.status_code == 403 and "not served to this address" in refused.text
    assert healthy.status_code == 200


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`packbench server --workers 2` as a real process tree (PostgreSQL when DATABASE_URL says so)."""
    port = free_port()
    data_dir = tmp_path / "srv"
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    if not PG_URL.startswith("postgresql://"):
        env.pop("DATABASE_URL", None)
    log = tmp_path / "server.err"
    with log.open("wb") as err:
        proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "server", "--port", str(port), "--workers",
                                 "2", "--data-dir", str(data_dir)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=err, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"server did not start: {log.read_text('utf-8', 'replace')}")
            time.sleep(0.2)
        yield url, data_dir
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def test_several_workers_serve_and_one_scrape_adds_up_all_of_them(workers: tuple[str, Path]) -> None:
    url, data_dir = workers
    with httpx.Client(base_url=url, timeout=10) as http:
        for _ in range(40):  # new connections each time, so the kernel spreads them over the workers
            assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
        text = http.get("/metrics").text
    samples = list((data_dir / "metrics").glob("*.db"))
    pids = {re.search(r"_(\d+)\.db$", p.name).group(1) for p in samples if re.search(r"_(\d+)\.db$", p.name)}
    assert len(pids) == 2, pids  # both workers answered, each keeping its own samples
    assert _samples(text, "packbench_http_requests_total", route="/healthz", status="2xx") >= 40
    if stat.S_IMODE((data_dir / "metrics").stat().st_mode) & 0o077:
        pytest.fail("the metrics folder is readable by others")


def test_bad_worker_counts_are_refused_in_one_line(tmp_path: Path) -> None:
    for workers in ("0", "65", "two"):
        proc = subprocess.run([sys.executable, str(ROOT / "main.py"), "server", "--workers", workers, "--data-dir",
                               str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert proc.returncode != 0 and "Traceback" not in proc.stderr
        # The error is the last line (argparse shows the usage above a word that is not a number).
        assert "--workers" in proc.stderr.strip().splitlines()[-1]


def test_a_sqlite_server_backup_is_a_private_verified_copy(server: Running, station: Station, tmp_path: Path) -> None:
    config: ServerConfig = server.services.config
    if not config.database.startswith("sqlite:///"):
        pytest.skip("the SQLite variant")
    done = back_up_server(config, tmp_path / "server-backup.sqlite3")
    assert done.kind == "sqlite" and stat.S_IMODE(done.path.stat().st_mode) == 0o600
    copy = sqlite3.connect(done.path)
    try:
        assert copy.execute('SELECT "station_id" FROM "station"').fetchall() == [(station.station_id,)]
    finally:
        copy.close()
    with pytest.raises(BackupError, match="already exists"):
        back_up_server(config, done.path)
    with pytest.raises(BackupError, match="is not a folder"):
        back_up_server(config, tmp_path / "missing" / "x.sqlite3")
    assert not (tmp_path / "missing").exists()
    with pytest.raises(BackupError) as refused:  # in the CLI's language; the English line for logs
        back_up_server(replace(config, database_url="mysql://db/x"), tmp_path / "other.sqlite3")
    assert str(refused.value) == "cannot back up a database at mysql://…"
    assert refused.value.text("zh_CN") == "无法备份 mysql://… 上的数据库"


@pytest.mark.postgres
def test_a_postgresql_server_backup_is_a_pg_dump_that_reads_back(server: Running, station: Station,
                                                                 tmp_path: Path) -> None:
    config: ServerConfig = server.services.config
    if not config.database.startswith("postgresql://"):
        pytest.skip("the PostgreSQL variant")
    if not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed")
    done = back_up_server(config, tmp_path / "server.dump")
    assert done.kind == "postgresql" and stat.S_IMODE(done.path.stat().st_mode) == 0o600
    listing = subprocess.run(["pg_restore", "--list", str(done.path)], capture_output=True, text=True, check=True)
    assert 'TABLE DATA' in listing.stdout and " station " in listing.stdout
