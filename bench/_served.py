"""`packbench server` in a process of its own, for benchmarks and the server's process-level tests:
its port, its pid (to read its memory from /proc), and a station enrolled with it that signs pushes."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.keys import public_pem
from protocol import API, sign

ROOT = Path(__file__).resolve().parents[1]
LAUNCH = ("import argparse, sys; from app.cli import add_data_dir; from server.cli import register; "
          "p = argparse.ArgumentParser(); add_data_dir(p, top=True); register(p.add_subparsers()); "
          "a = p.parse_args(sys.argv[1:]); sys.exit(a.handler(a))")  # what main.py does, without the station


@dataclass(frozen=True)
class Served:
    url: str
    port: int
    pid: int

    def memory_kb(self) -> tuple[int, int]:
        """(VmRSS, VmHWM) of the server process, in kB."""
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{self.pid}/status").read_text().splitlines()
                      if ":" in line)
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])

    def reset_peak(self) -> int:
        """Reset the process's VmHWM to its current RSS (Linux: clear_refs 5); returns that RSS in kB."""
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        return self.memory_kb()[0]


def admin(data_dir: Path, env: Mapping[str, str], *argv: str) -> str:
    """`packbench server ARGV` in a child process (it opens the same database); its standard output."""
    done = subprocess.run([sys.executable, "-c", LAUNCH, "server", *argv, "--data-dir", str(data_dir)], cwd=ROOT,
                          env=dict(env), capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


@contextmanager
def serving(data_dir: Path, env: Mapping[str, str], *options: str) -> Iterator[Served]:
    """The server with `options` (e.g. "--workers", "4"); with workers, `pid` is their parent's."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen([sys.executable, "-c", LAUNCH, "server", "--port", str(port), "--data-dir", str(data_dir),
                             *options], cwd=ROOT, env=dict(env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(proc, url, data_dir)
        yield Served(url, port, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:  # uvicorn waits for open connections: hostile ones may linger
            proc.kill()
            proc.wait(10)


def wait_until_serving(proc: subprocess.Popen[Any], url: str, data_dir: Path) -> None:
    """Return once the server at `url` answers /healthz; RuntimeError if its process ends first or a minute passes."""
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{url}/healthz", timeout=1).raise_for_status()
            return
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start; see {data_dir}/server.log") from None
            time.sleep(0.1)


def server_env(**settings: str) -> dict[str, str]:
    """This environment without DATABASE_URL (SQLite in the data dir) unless given, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(settings)
    return env


@dataclass
class PushingStation:
    """A station enrolled over HTTP that pushes signed batches of scan events."""

    url: str
    station_id: str
    secret: str
    seq: int = 0
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=60))

    @classmethod
    def enroll(cls, url: str, token: str) -> PushingStation:
        key = Ed25519PrivateKey.generate()
        reply = httpx.post(f"{url}{API}/enroll", json={"token": token, "station_name": "BENCH-P",
                                                       "passport_public_key": public_pem(key.public_key()).decode()})
        reply.raise_for_status()
        return cls(url, reply.json()["station_id"], reply.json()["secret"])

    def push(self, events: int = 50) -> tuple[int, float]:
        """(HTTP status, seconds) of one signed push of `events` new scan events."""
        batch = []
        for _ in range(events):
            self.seq += 1
            batch.append({"id": str(uuid4()), "kind": "scan", "at": "2026-11-25T02:00:00Z",
                          "station": self.station_id, "seq": self.seq, "payload": {"outcome": "item_ok"}})
        body = json.dumps({"events": batch}).encode()
        ts, nonce = str(int(time.time())), secrets.token_hex(12)
        headers = {"X-Station": self.station_id, "X-Timestamp": ts, "X-Nonce": nonce,
                   "Content-Type": "application/json",
                   "X-Signature": sign(self.secret, "POST", f"{API}/events", ts, nonce, body)}
        start = time.perf_counter()
        reply = self.http.post(f"{self.url}{API}/events", content=body, headers=headers)
        return reply.status_code, time.perf_counter() - start

    def close(self) -> None:
        self.http.close()
