"""What the sync benchmarks share: the reference server in its own process, an enrolled station.

The server runs as a separate process (`uvicorn` on 127.0.0.1), as it does in production on another
machine: the station's CPU time and the server's are not serialised on one interpreter lock. Its
database is SQLite in the work dir, or `--database-url postgresql://…` (a fresh schema, dropped after).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from app.audit import canonical_json
from app.clock import SystemClock, iso
from app.keys import load_or_create_station_key, public_pem
from app.store import Store
from sync.client import SyncClient, enroll

ROOT = Path(__file__).resolve().parents[1]
WAREHOUSE = "HZ-1"
SERVER_MAIN = """
import sys
from pathlib import Path
import uvicorn
from server.app import create_app
from server.config import ServerConfig
app = create_app(ServerConfig(Path(sys.argv[1]), database_url=sys.argv[2]))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[3]), log_level="warning", access_log=False, log_config=None)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    def __init__(self, work: Path, database_url: str | None = None) -> None:
        self.work = work
        self.data_dir = work / "server"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.schema: str | None = None
        self.base_url = database_url
        if database_url and database_url.startswith("postgresql://"):
            import psycopg2

            self.schema = f"pbbench_{uuid.uuid4().hex[:10]}"
            admin = psycopg2.connect(database_url)
            admin.autocommit = True
            admin.cursor().execute(f'CREATE SCHEMA "{self.schema}"')
            admin.close()
            sep = "&" if "?" in database_url else "?"
            self.database_url = database_url + sep + "options=" + quote(f"-c search_path={self.schema}")
        else:
            self.database_url = f"sqlite:///{self.data_dir / 'server.sqlite3'}"
        from server.db import open_database
        from server.migrations import migrate

        self.sdb = open_database(self.database_url)
        migrate(self.sdb)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def kind(self) -> str:
        return "postgresql" if self.schema else "sqlite"

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen([sys.executable, "-c", SERVER_MAIN, str(self.data_dir), self.database_url,
                                      str(self.port)], cwd=ROOT, env=env)
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server process did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(30)
            self.proc = None

    def close(self) -> None:
        self.stop()
        self.sdb.close()
        if self.schema and self.base_url:
            import psycopg2

            admin = psycopg2.connect(self.base_url)
            admin.autocommit = True
            admin.cursor().execute(f'DROP SCHEMA "{self.schema}" CASCADE')
            admin.close()

    def count(self, sql: str) -> int:
        with self.sdb.connection():
            return int(self.sdb.execute(sql).fetchone()[0])

    def enrolled_client(self, station_dir: Path, name: str = "BENCH-1") -> SyncClient:
        from server.auth import issue_enrollment_token

        token, _ = issue_enrollment_token(self.sdb, WAREHOUSE, SystemClock())
        key = load_or_create_station_key(station_dir)
        creds = enroll(self.url, token, name, public_pem(key.public_key()).decode())
        return SyncClient.from_credentials(creds, clock=SystemClock())


def queue_scan_events(store: Store, n: int, start: int = 0) -> None:
    """`n` outbox rows shaped like the pack flow's `scan` facts, written with one executemany (setup)."""
    at = iso(SystemClock().now())
    rows = []
    for i in range(start, start + n):
        payload = {"audit_seq": i + 1, "actor": "王芳", "station": "BENCH-1", "source": "serial:/dev/ttyACM0",
                   "code": f"6901234{i % 100000:05d}0", "order_id": f"TB2026112{i // 3:07d}",
                   "outcome": "item_ok", "state": "order_open", "scan_event": i + 1}
        rows.append((str(uuid.uuid4()), "scan", canonical_json(payload), at))
    with store.atomic():
        store.db.connection().executemany(
            'INSERT INTO "outbox" ("event_id", "kind", "payload", "created_at", "attempts") VALUES (?, ?, ?, ?, 0)',
            rows)


def dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)
