"""`packbench station enroll` and `packbench sync`: credentials kept 0600, one round printed, exit codes."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from app.clock import FakeClock
from app.store import open_store
from sync.credentials import CredentialsError, SyncCredentials, credentials_path, load_credentials, save_credentials
from tests.sync.fakes import packbench, queue_events
from tests.sync.netstub import Reply, Seen, StubServer, free_port


def central(seen: Seen) -> Reply:
    """Just enough of the central server: enroll, take every event, serve one order."""
    if seen.path == "/api/v1/enroll":
        body = json.loads(seen.body)
        if body["token"] != "enroll-me-please":
            return Reply(401, {"detail": "unknown enrollment token"})
        return Reply(200, {"station_id": "ST-CLI1", "secret": "sekrit", "warehouse": "HZ-1",
                           "server_time": "2026-11-25T02:00:00Z"})
    if seen.path.startswith("/api/v1/events"):
        ids = [e["id"] for e in json.loads(seen.body)["events"]]
        return Reply(200, {"results": [{"id": i, "status": "rejected" if n == 0 else "accepted",
                                        **({"reason": "unknown kind"} if n == 0 else {})}
                                       for n, i in enumerate(ids)]})
    if seen.path.startswith("/api/v1/orders") and "cursor" not in seen.path:
        # A complete order (11-digit mobile, address), so no exception rule adds audit events to the push.
        order = {"order_id": "TB-CLI-1", "warehouse": "HZ-1", "platform": "taobao", "status": "paid",
                 "receiver_name": "张伟", "receiver_phone": "13812345678",
                 "receiver_address": "浙江省杭州市西湖区文三路 90 号",
                 "lines": [{"line_no": 1, "sku": "A", "qty": 1}], "updated_at": "2026-11-25T02:00:00Z"}
        return Reply(200, {"items": [order], "next_cursor": "1", "has_more": False})
    if seen.path == "/api/v1/supervisor-calls":
        return Reply(200, {"calls": []})
    if seen.path == "/api/v1/rules":
        return Reply(200, {"version": 0, "sha256": hashlib.sha256(b"").hexdigest(), "created_at": None, "content": ""})
    return Reply(200, {"items": [], "next_cursor": "x", "has_more": False})


def test_credentials_are_written_0600_and_read_back(tmp_path: Path) -> None:
    creds = SyncCredentials("http://127.0.0.1:8700", "ST-1", 'se"cr\\et', "HZ-1", "BENCH-1", "2026-11-25T02:00:00Z")
    path = save_credentials(tmp_path, creds)
    assert path == credentials_path(tmp_path) and path.name == "sync.toml"
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_credentials(tmp_path) == creds
    assert load_credentials(tmp_path / "elsewhere") is None
    path.write_text('server = "x"\n', "utf-8")
    with pytest.raises(CredentialsError, match="station_id is missing"):
        load_credentials(tmp_path)
    assert not (tmp_path / "station.toml").exists()


def test_enroll_stores_the_credentials_and_registers_the_passport_key(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "station"
    with StubServer(central) as stub:
        assert packbench(["station", "enroll", "--data-dir", str(d), "--server", stub.url,
                          "--token", "enroll-me-please", "--name", "BENCH-7"]) == 0
        assert "enrolled as station ST-CLI1 (BENCH-7)" in capsys.readouterr().out
        sent = json.loads(stub.seen[0].body)
        # Enrolling again needs --force; a wrong token is refused with the server's reason.
        assert packbench(["station", "enroll", "--data-dir", str(d), "--server", stub.url,
                          "--token", "enroll-me-please"]) == 1
        assert "already enrolled as ST-CLI1" in capsys.readouterr().err
        assert packbench(["station", "enroll", "--data-dir", str(d), "--server", stub.url,
                          "--token", "a-wrong-token", "--force"]) == 1
        assert "unknown enrollment token" in capsys.readouterr().err
    creds = load_credentials(d)
    assert creds is not None and (creds.station_id, creds.secret, creds.server) == ("ST-CLI1", "sekrit", stub.url)
    assert stat.S_IMODE(credentials_path(d).stat().st_mode) == 0o600
    assert sent["station_name"] == "BENCH-7"
    assert sent["passport_public_key"] == (d / "station_ed25519.pub.pem").read_text()


def test_sync_once_prints_what_moved(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "station"
    store = open_store(d, FakeClock())
    queue_events(store, FakeClock(), 3)
    store.close()
    with StubServer(central) as stub:
        save_credentials(d, SyncCredentials(stub.url, "ST-CLI1", "sekrit"))
        assert packbench(["sync", "--once", "--data-dir", str(d)]) == 0
        out = capsys.readouterr().out.splitlines()
        assert out[0] == ("pushed 4 (accepted 2, known 0, rejected 2), pulled orders 1, products 0, tracking 0; "
                          "outbox depth 0")
        assert "2 event(s) refused by the server" in out[1]
        assert packbench(["sync", "--once", "--json", "--data-dir", str(d)]) == 0
        report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["pushed"]["sent"] == 0 and report["rejected_total"] == 2
    assert packbench(["sync", "--rejected", "--data-dir", str(d)]) == 0
    listed = capsys.readouterr().out
    assert listed.count("refused: unknown kind") == 2
    assert packbench(["sync", "--data-dir", str(d)]) == 0
    assert "0 event(s) unsent" in capsys.readouterr().out


def test_sync_once_with_the_server_down_exits_1_and_loses_nothing(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "station"
    store = open_store(d, FakeClock())
    queue_events(store, FakeClock(), 5)
    store.close()
    save_credentials(d, SyncCredentials(f"http://127.0.0.1:{free_port()}", "ST-CLI1", "sekrit"))
    assert packbench(["sync", "--once", "--data-dir", str(d)]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith("pushed 0 (")
    err = captured.err.splitlines()
    assert "server unreachable" in err[0] and "Connection refused" in err[0]
    assert err[-1] == "packbench: nothing lost: 5 event(s) stay queued for the next round"
    assert packbench(["sync", "--json", "--data-dir", str(d)]) == 0
    assert json.loads(capsys.readouterr().out)["outbox_depth"] == 5


def test_sync_once_before_enrolling_says_how(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert packbench(["sync", "--once", "--data-dir", str(tmp_path)]) == 1
    assert "packbench station enroll" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "line"), [
    (["--token", "short"], "packbench: enrollment failed: --token is not an enrollment token: one is 8 to 200 "
                           "characters, as `packbench server station-token` prints it"),
    (["--token", "enroll-me-please", "--name", "x" * 65], f"packbench: enrollment failed: the station name "
                                                           f"'{'x' * 65}' must be 1 to 64 characters (--name, or "
                                                           "station in station.toml)"),
    (["--server", "central:8700", "--token", "enroll-me-please"], "packbench: enrollment failed: server URL must be "
                                                                  "http(s)://host[:port][/prefix], not 'central:8700'"),
])
def test_an_unusable_token_name_or_url_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                               argv: list[str], line: str) -> None:
    # A short token or a long name printed pydantic's report of EnrollRequest (with its errors.pydantic.dev link)
    # and exited 1, as if the server had failed.
    given = argv if "--server" in argv else ["--server", "http://127.0.0.1:9", *argv]
    assert packbench(["station", "enroll", *given, "--data-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == line
