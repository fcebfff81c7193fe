"""station.toml: every mistake is one line naming the file, the key and what it must be (exit 2);
every documented key and default still loads."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import app.config
from app.config import ConfigError, StationConfig, load_config, save_config, set_setting
from app.errors import ExitCode
from main import main


def _load(tmp_path: Path, text: str) -> StationConfig:
    (tmp_path / "station.toml").write_text(text, "utf-8")
    return load_config(tmp_path)


@pytest.mark.parametrize(("text", "says"), [
    # a value of the wrong type is refused, never converted
    ('tolerance_g = "30"', 'tolerance_g must be a whole number of 0 or more, not "30"'),
    ("wedge_gap_ms = 2.5", "wedge_gap_ms must be a positive whole number, not 2.5"),
    ('demo = "no"', 'demo must be true or false, not "no"'),
    ("handover_overdue_hours = true", "handover_overdue_hours must be a positive number, not true"),
    ("station = 7", "station must be a string, not 7"),
    ("sender = 3", "sender must be a table, not 3"),
    ('[sender]\nphone = 57188886666', "sender.phone must be a string, not 57188886666"),
    # a string where a list belongs ("SF" once loaded as ('S', 'F'))
    ('carriers = "SF"', 'carriers must be a list of strings with at least 1 item, not "SF"'),
    ('notify_severities = "critical"', 'notify_severities must be a list of strings, not "critical"'),
    # out of range
    ("tolerance_g = -1", "tolerance_g must be a whole number of 0 or more, not -1"),
    ("backup_keep = 0", "backup_keep must be a positive whole number, not 0"),
    ("tolerance_pct = inf", "tolerance_pct must be a finite number of 0 or more, not inf"),
    ("backup_every_hours = nan", "backup_every_hours must be a positive finite number, not nan"),
    ("carriers = []", "carriers must be a list of strings with at least 1 item, not []"),
    ('station = "  "', 'station must be a string that is not empty, not "  "'),
    # unknown keys, with the nearest known one
    ("tolerence_g = 3", 'unknown key "tolerence_g" (did you mean "tolerance_g"?)'),
    ('[sender]\nnmae = "仓"', 'unknown key "sender.nmae" (did you mean "sender.name"?)'),
    ("listen = 1", 'unknown key "listen"'),
    # a value outside its set
    ('language = "fr"', 'language must be one of zh_CN, en, not "fr"'),
    ('carrier = "DHL"', 'carrier must be one of SF, ZTO, YTO, STO, YUNDA, JD, JT, EMS, not "DHL"'),
    ('carriers = ["SF", "XX"]', 'carriers #2 must be one of SF, ZTO, YTO, STO, YUNDA, JD, JT, EMS, not "XX"'),
    ('notify_severities = ["loud"]', 'notify_severities #1 must be one of info, warning, critical, not "loud"'),
    ('notify_routes = ["supervisors"]', 'notify_routes #1 must be one of packer, supervisor, admin, not "supervisors"'),
    ('timezone = "Mars/Base"', 'timezone must be a time zone name such as Asia/Shanghai, not "Mars/Base"'),
    ('passport_base_url = "ftp://pb.example.com"',
     'passport_base_url must be http(s)://host[:port][/path], not "ftp://pb.example.com"'),
    # TOML syntax: the line and column
    ('station = "B1"\nprinter = tcp:10.0.0.5:9100', "not valid TOML: Invalid value (at line 2, column 11)"),
    ("a = " + "[" * 3000 + "]" * 3000, "not valid TOML: nested too deeply"),
])
def test_a_mistake_is_one_line_naming_file_key_and_expectation(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text + "\n")
    assert str(caught.value) == f"{tmp_path / 'station.toml'}: {says}"
    assert caught.value.exit_code == ExitCode.INPUT


def test_a_bad_station_toml_stops_a_command_with_exit_2_and_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "station.toml").write_text('timezone = 8\n', "utf-8")
    assert main(["--data-dir", str(tmp_path), "exceptions", "list"]) == ExitCode.INPUT
    err = capsys.readouterr().err
    assert err == f"packbench: {tmp_path / 'station.toml'}: timezone must be a string, not 8\n"


def test_the_documented_example_is_every_key_with_its_default(tmp_path: Path) -> None:
    doc = app.config.__doc__ or ""
    example = doc[doc.index("    station = "):doc.index("A wrong value")]
    config = _load(tmp_path, "\n".join(line[4:] for line in example.splitlines()))
    assert config == StationConfig(demo=False)
    documented = {line.split("=")[0].strip() for line in example.splitlines() if "=" in line}
    assert documented == {f.name for f in dataclasses.fields(StationConfig)} - {"sender"} \
        | {f.name for f in dataclasses.fields(app.config.Sender)}


def test_values_that_loaded_before_still_load(tmp_path: Path) -> None:
    config = _load(tmp_path, 'station = "HZ-01"\ntolerance_pct = 5\nhandover_overdue_hours = 6\n'
                             'carriers = ["SF", "JT"]\npassport_base_url = "https://pb.example.com/wh/"\n'
                             '[sender]\nname = "杭州仓"\n')
    assert (config.station, config.tolerance_pct, config.handover_overdue_hours) == ("HZ-01", 5.0, 6.0)
    assert config.carriers == ["SF", "JT"] and config.flow_config().carriers == ("SF", "JT")
    assert config.passport_base_url == "https://pb.example.com/wh"  # one form: no trailing slash
    assert (config.demo, config.sender.name, config.sender.phone) == (False, "杭州仓", StationConfig().sender.phone)


def test_saved_and_set_settings_load_back(tmp_path: Path) -> None:
    saved = StationConfig(demo=False, language="en", scanner="wedge", notify_severities=["critical"])
    save_config(tmp_path, saved)
    assert load_config(tmp_path) == saved
    set_setting(tmp_path, "waybill_low_water", 80)
    assert load_config(tmp_path) == dataclasses.replace(saved, waybill_low_water=80)
    with pytest.raises(ConfigError, match='unknown key "low_water"'):
        set_setting(tmp_path, "low_water", 80)
    written = (tmp_path / "station.toml").read_text("utf-8")
    with pytest.raises(ConfigError, match="backup_keep must be a positive whole number, not 0"):
        set_setting(tmp_path, "backup_keep", 0)
    assert (tmp_path / "station.toml").read_text("utf-8") == written  # refused before anything was written
    set_setting(tmp_path, "passport_base_url", "https://pb.example.com/wh/")
    assert 'passport_base_url = "https://pb.example.com/wh"\n' in (tmp_path / "station.toml").read_text("utf-8")


def test_settings_made_in_code_are_checked_too() -> None:
    with pytest.raises(ValueError, match="carriers"):
        StationConfig(carriers="SF")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="backup_keep"):
        dataclasses.replace(StationConfig(), backup_keep=-3)
