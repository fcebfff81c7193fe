"""Enrollment gives the station its public URL: the server's `public_url` (else the URL enrolled with)
becomes the base of its passport QR codes; an unenrolled station says its QR codes point nowhere."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from app.config import load_config
from sync.credentials import load_credentials
from tests.sync import realserver
from tests.sync.fakes import packbench
from tests.sync.realserver import Central

server_db_url = realserver.server_db_url  # fixture
central = realserver.central  # fixture


def _restart_with(central: Central, **settings: str) -> None:
    central.stop()
    central.config = dataclasses.replace(central.config, **settings)
    central.start()


def test_the_servers_public_url_becomes_the_passport_base_and_station_toml_keeps_its_lines(
        central: Central, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _restart_with(central, public_url="https://pb.example.com/wh")
    d = tmp_path / "bench"
    d.mkdir()
    (d / "station.toml").write_text('# bench 7 by the door\nstation = "BENCH-7"\n'
                                    'passport_base_url = "http://localhost:8700"\n\n[sender]\nname = "仓"\n', "utf-8")
    assert packbench(["station", "enroll", "--data-dir", d, "--server", central.url, f"--token={central.token()}"]) == 0
    assert "passport QR codes now open https://pb.example.com/wh/p/" in capsys.readouterr().out
    creds = load_credentials(d)
    assert creds is not None and creds.public_url == "https://pb.example.com/wh" and creds.server == central.url
    config = load_config(d)
    assert config.passport_base_url == "https://pb.example.com/wh"
    assert (config.station, config.sender.name) == ("BENCH-7", "仓")
    assert (d / "station.toml").read_text("utf-8").startswith("# bench 7 by the door\n")


def test_without_a_public_url_the_url_enrolled_with_is_the_passport_base(central: Central, tmp_path: Path) -> None:
    d = tmp_path / "bench"
    assert packbench(["station", "enroll", "--data-dir", d, "--server", central.url + "/",
                      f"--token={central.token()}"]) == 0
    config = load_config(d)
    assert config.passport_base_url == central.url
    assert config.demo  # a data dir without station.toml keeps its demo mode


def test_print_test_on_an_unenrolled_station_says_its_qr_codes_point_nowhere(
        central: Central, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from main import main

    d = tmp_path / "bench"
    label = tmp_path / "label.pdf"
    assert main(["print-test", "--data-dir", str(d), "--printer", f"pdf:{label}"]) == 0
    assert "not enrolled: the passport QR codes on its labels point nowhere" in capsys.readouterr().err
    assert packbench(["station", "enroll", "--data-dir", d, "--server", central.url, f"--token={central.token()}"]) == 0
    capsys.readouterr()
    assert main(["print-test", "--data-dir", str(d), "--printer", f"pdf:{label}"]) == 0
    assert "not enrolled" not in capsys.readouterr().err


def test_the_status_chip_of_an_unenrolled_station_says_its_qr_codes_point_nowhere() -> None:
    from ui.sync_status import chip_of

    words, _, tip = chip_of(None, "en", enrolled=False)
    assert "not enrolled" in words and "QR codes on labels point nowhere" in tip and "packbench station enroll" in tip
    words, _, tip = chip_of(None, "zh_CN", enrolled=False)
    assert "二维码无效" in words and "二维码" in tip and "packbench station enroll" in tip
