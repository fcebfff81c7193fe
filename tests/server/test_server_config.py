"""server.toml: the public URL stations are given, typed limits and quotas, clean one-line errors."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

import server.alerts.channels
import server.config
from app.errors import ExitCode
from server.config import ServerConfig, ServerConfigError, load_server_config


def _load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> object:
    (tmp_path / "server.toml").write_text(text, encoding="utf-8")
    return load_server_config(tmp_path, env or {})


def test_public_url_limits_and_quotas_come_from_server_toml_and_the_environment_wins(tmp_path: Path) -> None:
    config = _load(tmp_path, 'public_url = "https://pb.example.com/"\nwaybills_per_call = 50\n'
                             "waybills_per_station_day = 400\nbody_timeout_seconds = 12.5\n"
                             "header_timeout_seconds = 5\n")
    assert (config.public_url, config.waybills_per_call, config.waybills_per_station_day) == (  # type: ignore[attr-defined]
        "https://pb.example.com", 50, 400)
    assert (config.body_timeout_seconds, config.header_timeout_seconds) == (12.5, 5)  # type: ignore[attr-defined]
    env = load_server_config(tmp_path, {"PACKBENCH_PUBLIC_URL": "https://other.example.com/pb"})
    assert env.public_url == "https://other.example.com/pb"


@pytest.mark.parametrize(("text", "message"), [
    # a value of the wrong type
    ("public_url = 5", "public_url must be a string, not 5"),
    ("waybills_per_call = 2.5", "waybills_per_call must be a positive whole number, not 2.5"),
    ("header_timeout_seconds = true", "header_timeout_seconds must be a positive number, not true"),
    ('[[alert_channels]]\nname = 7\nkind = "wecom"\nurl = "https://x"',
     "[[alert_channels]] #1 .name must be a string, not 7"),
    # a string where a list belongs
    ('alert_channels = "ops"', 'alert_channels must be a list of tables, not "ops"'),
    ('[[alert_channels]]\nname = "a"\nkind = "wecom"\nurl = "https://x"\nat_mobiles = "138"',
     '[[alert_channels]] #1 .at_mobiles must be a list of strings, not "138"'),
    # out of range
    ("waybills_per_call = 0", "waybills_per_call must be a positive whole number, not 0"),
    ("body_timeout_seconds = inf", "body_timeout_seconds must be a positive finite number, not inf"),
    ("body_timeout_seconds = nan", "body_timeout_seconds must be a positive finite number, not nan"),
    ("reconciliation_alert_pct = -3", "reconciliation_alert_pct must be a positive number, not -3"),
    # unknown keys; the data dir is where the file is, not one of its keys
    ("listen = 1", 'unknown key "listen"'),
    ('public_ur = "https://pb.example.com"', 'unknown key "public_ur" (did you mean "public_url"?)'),
    ('data_dir = "/srv"', 'unknown key "data_dir"'),
    ('[[alert_channels]]\nname = "a"\nkind = "wecom"\nurl = "https://x"\n[[alert_channels]]\nname = "b"\n'
     'kind = "wecom"\nurl = "https://y"\nsecert = "x"', 'unknown key "[[alert_channels]] #2 .secert" '
     '(did you mean "[[alert_channels]] #2 .secret"?)'),
    # a value outside its set
    ('public_url = "ftp://pb.example.com"', 'public_url must be http(s)://host[:port][/path], not "ftp://pb.example.com"'),
    ('public_url = "https://pb.example.com/?x=1"', "public_url must be http(s)://host[:port][/path]"),
    ('timezone = "Asia/Hangzhou"', 'timezone must be a time zone name such as Asia/Shanghai, not "Asia/Hangzhou"'),
    ('[[alert_channels]]\nname = "a"\nkind = "wecom"\nurl = "https://x"\n[[alert_channels]]\nname = "b"\n'
     'kind = "sms"\nurl = "https://x"', '[[alert_channels]] #2 .kind must be one of dingtalk, wecom, email, webhook, '
                                         'not "sms"'),
    # TOML syntax: the line and column
    ('public_url = "https://pb.example.com"\nwaybills_per_call = 2 00', "not valid TOML: Expected newline or end of "
                                                                        "document after a statement (at line 2, "
                                                                        "column 23)"),
    ("a = " + "[" * 3000 + "]" * 3000, "not valid TOML: nested too deeply"),
    ("a = " + "{b = " * 3000 + "1" + "}" * 3000, "not valid TOML: nested too deeply"),
])
def test_bad_settings_are_one_clean_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ServerConfigError) as caught:
        _load(tmp_path, text + "\n")
    assert str(caught.value).startswith(f"{tmp_path / 'server.toml'}: {message}")
    assert "\n" not in str(caught.value) and caught.value.exit_code == ExitCode.INPUT


def test_a_bad_environment_variable_is_named(tmp_path: Path) -> None:
    with pytest.raises(ServerConfigError) as caught:
        _load(tmp_path, 'public_url = "https://pb.example.com"\n', {"PACKBENCH_KUAIDI100_API": "api.kuaidi100.com"})
    assert str(caught.value) == ('environment variable PACKBENCH_KUAIDI100_API: kuaidi100_api must be '
                                 'http(s)://host[:port][/path], not "api.kuaidi100.com"')


def test_the_documented_examples_load(tmp_path: Path) -> None:
    """server.toml as the module docstrings of server.config and server.alerts.channels show it."""
    settings = [line.strip() for line in (server.config.__doc__ or "").splitlines()
                if line.startswith("    ") and "=" in line and not line.startswith("     ")]
    channels = (server.alerts.channels.__doc__ or "").split("\n\n")[1]
    config = _load(tmp_path, "\n".join(settings) + "\n" + textwrap.dedent(channels) + "\n")
    assert (config.database_url, config.waybills_per_station_day, config.station_version) == (  # type: ignore[attr-defined]
        "postgresql://packbench@db:5432/packbench", 2000, "0.2.0")
    # all but data_dir, the channels and the health routes (tests/server/test_health_routes.py loads theirs)
    assert len(settings) == len(dataclasses.fields(ServerConfig)) - 3
    (channel,) = config.alert_channels  # type: ignore[attr-defined]
    assert (channel.kind, channel.at_mobiles, channel.to) == ("dingtalk", ("138…",), ("ops@example.com",))
