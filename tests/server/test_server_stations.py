"""Station lifecycle from the shell: `packbench server stations`, `packbench server station revoke ID`
(audited, immediate 403), and clean one-line errors for bad numbers on the server's command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from server_harness import Running, Station
from test_server_admin import packbench_server

from app.errors import ExitCode
from protocol import API


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> Path:
    monkeypatch.setenv("DATABASE_URL", database_url)
    return tmp_path / "server"


def test_stations_lists_last_seen_outbox_lag_key_and_revocation(server: Running, station: Station, cli_env: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    other = server.enroll("WH2", "BENCH-2")
    assert station.push(station.event("scan", {"outcome": "item_ok"}, at="2026-11-25T02:00:00Z")).status_code == 200
    assert packbench_server("stations", "--json", "--data-dir", str(cli_env)) == 0
    rows = {row["station_id"]: row for row in json.loads(capsys.readouterr().out)}
    mine, theirs = rows[station.station_id], rows[other.station_id]
    assert (mine["name"], mine["warehouse"], theirs["warehouse"]) == ("BENCH-1", "WH1", "WH2")
    assert mine["last_seen_at"] and theirs["last_seen_at"] is None  # the other never signed a request
    assert mine["outbox_lag_s"] > 0 and theirs["outbox_lag_s"] is None
    assert len(mine["key_id"]) == 8 and mine["revoked_at"] is None
    assert packbench_server("stations", "--data-dir", str(cli_env)) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith(station.station_id))
    assert "\tBENCH-1\tWH1\t" in line and line.endswith("active") and "outbox lag " in line


def test_revoke_is_immediate_audited_and_told_only_to_the_station_itself(
        server: Running, station: Station, cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert station.get(f"{API}/rules").status_code == 200
    assert packbench_server("station", "revoke", station.station_id, "--reason", "stolen from bench 3",
                            "--data-dir", str(cli_env)) == 0
    assert "revoked at" in capsys.readouterr().out
    server.rebind()
    refused = station.get(f"{API}/rules")
    assert refused.status_code == 403 and "revoked" in refused.json()["detail"]
    assert station.push(station.event("scan", {"outcome": "item_ok"})).status_code == 403
    forged = station.request("GET", f"{API}/rules", secret="0" * 64)  # someone without the secret learns nothing
    assert (forged.status_code, forged.json()["detail"]) == (401, "not signed by an enrolled station")
    sdb = server.services.sdb
    with sdb.connection():
        (actor, action, warehouse, target, detail), = sdb.execute(
            'SELECT "actor", "action", "warehouse", "target", "detail" FROM "server_audit"').fetchall()
    assert (action, warehouse, target) == ("station.revoke", "WH1", station.station_id) and actor
    assert "stolen from bench 3" in detail
    assert packbench_server("stations", "--data-dir", str(cli_env)) == 0
    assert "REVOKED" in capsys.readouterr().out
    for argv in (("station", "revoke", station.station_id), ("station", "revoke", "ST-NOSUCH")):
        assert packbench_server(*argv, "--data-dir", str(cli_env)) == ExitCode.INPUT
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and ("already revoked" in err or "no station 'ST-NOSUCH'" in err)


@pytest.mark.parametrize(("argv", "message"), [
    (("station-token", "--warehouse", "WH1", "--ttl-hours", "inf"), "--ttl-hours must be more than 0"),
    (("station-token", "--warehouse", "WH1", "--ttl-hours", "nan"), "--ttl-hours must be more than 0"),
    (("station-token", "--warehouse", "WH1", "--ttl-hours", "1e300"), "at most 8784"),
    (("station-token", "--warehouse", "WH1", "--ttl-hours", "-1"), "--ttl-hours must be more than 0"),
    (("--port", "99999"), "--port must be 1 to 65535, not 99999"),
    (("--port", "0"), "--port must be 1 to 65535, not 0"),
])
def test_bad_numbers_on_the_command_line_are_one_line_errors(server: Running, cli_env: Path, argv: tuple[str, ...],
                                                             message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert packbench_server(*argv, "--data-dir", str(cli_env)) == ExitCode.INPUT
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err and "Traceback" not in err


def test_a_deeply_nested_server_toml_is_a_one_line_error(server: Running, cli_env: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    cli_env.mkdir(parents=True, exist_ok=True)
    (cli_env / "server.toml").write_text("a = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    assert packbench_server("stations", "--data-dir", str(cli_env)) == ExitCode.INPUT
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nested too deeply" in err
