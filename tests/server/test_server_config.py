"""server.toml: the public URL stations are given, typed limits and quotas, clean one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.config import ServerConfigError, load_server_config


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
    ('public_url = "ftp://pb.example.com"', "public_url must be http(s)://host"),
    ('public_url = "https://pb.example.com/?x=1"', "public_url must be http(s)://host"),
    ("waybills_per_call = 0", "waybills_per_call must be a positive whole number, not 0"),
    ("waybills_per_call = 2.5", "waybills_per_call must be a positive whole number"),
    ("body_timeout_seconds = inf", "body_timeout_seconds must be a positive number of seconds, not inf"),
    ("body_timeout_seconds = nan", "body_timeout_seconds must be a positive number of seconds"),
    ("header_timeout_seconds = true", "header_timeout_seconds must be a positive number"),
    ("public_url = 5", "public_url must be a string"),
    ("listen = 1", "unknown setting 'listen'"),
    ("a = " + "[" * 3000 + "]" * 3000, "nested too deeply"),
    ("a = " + "{b = " * 3000 + "1" + "}" * 3000, "nested too deeply"),
])
def test_bad_settings_are_one_clean_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ServerConfigError) as caught:
        _load(tmp_path, text + "\n")
    assert message in str(caught.value) and "\n" not in str(caught.value)
