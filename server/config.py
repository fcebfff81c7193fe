"""Server configuration: `server.toml` in the server data dir, overridden by environment variables.

    database_url   = "postgresql://packbench@db:5432/packbench"   # or sqlite:///path; env DATABASE_URL
    kuaidi100_salt = "..."     # env PACKBENCH_KUAIDI100_SALT: the push callback's `sign` salt
    webhook_secret = "..."     # env PACKBENCH_WEBHOOK_SECRET: HMAC key of the generic carrier hook
    timezone       = "Asia/Shanghai"   # business days (reconciliation) and carrier times without a zone
    public_url     = "https://pb.example.com"   # env PACKBENCH_PUBLIC_URL: what passport QR codes open,
                                                # console links in alerts; https → Secure cookies
    body_timeout_seconds   = 30     # a request body not complete by then: 408, connection closed
    header_timeout_seconds = 10     # request line and headers not complete by then: connection closed
    waybills_per_call      = 200    # most numbers one allocation hands out (more: 429)
    waybills_per_station_day = 2000 # most numbers one station is handed per UTC day (more: 429)
    reconciliation_alert_pct = 3.0  # a reconciliation deviation over this many percent alerts
    station_version = "0.2.0"       # the station version this server recommends (default: its own);
                                    # `packbench doctor` and the station window say when one is newer
    metrics_allow = "127.0.0.1, ::1"  # client addresses /metrics answers (comma-separated); others 403

An environment variable wins over the file (a container sets secrets in its environment). A hook
whose secret is not configured refuses every call: a webhook is never open. `public_url` is given to
each station at enrollment and becomes the base of its passport QR codes; without it a station uses
the URL it enrolled with.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.config import default_data_dir
from app.errors import InputError

CONFIG_FILENAME = "server.toml"
DB_FILENAME = "packbench-server.sqlite3"
DEFAULT_PORT = 8700  # the station's default passport_base_url points here
ENV = {"database_url": "DATABASE_URL", "kuaidi100_salt": "PACKBENCH_KUAIDI100_SALT",
       "webhook_secret": "PACKBENCH_WEBHOOK_SECRET", "public_url": "PACKBENCH_PUBLIC_URL"}


class ServerConfigError(InputError):
    """The configuration cannot be used; the message names the file or variable."""


@dataclass(frozen=True)
class ServerConfig:
    data_dir: Path
    database_url: str = ""
    kuaidi100_salt: str = ""
    webhook_secret: str = ""
    timezone: str = "Asia/Shanghai"
    public_url: str = ""
    body_timeout_seconds: float = 30.0
    header_timeout_seconds: float = 10.0
    waybills_per_call: int = 200
    waybills_per_station_day: int = 2000
    reconciliation_alert_pct: float = 3.0  # a reconciliation deviation over this (%) alerts
    station_version: str = ""
    metrics_allow: str = "127.0.0.1, ::1"

    @property
    def database(self) -> str:
        """The database URL: the configured one, else the SQLite file in the data dir."""
        return self.database_url or f"sqlite:///{Path(self.data_dir) / DB_FILENAME}"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def default_server_dir() -> Path:
    return default_data_dir() / "server"


def load_server_config(data_dir: Path | None = None, env: Mapping[str, str] | None = None) -> ServerConfig:
    directory = Path(data_dir) if data_dir else default_server_dir()
    environ = os.environ if env is None else env
    values: dict[str, object] = {}
    path = directory / CONFIG_FILENAME
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ServerConfigError(f"{path}: not valid TOML ({exc})") from exc
        except RecursionError:  # tomllib recurses per nesting level
            raise ServerConfigError(f"{path}: not valid TOML (nested too deeply)") from None
        for key, value in data.items():
            values[key] = _setting(path, key, value)
    for key, var in ENV.items():
        if environ.get(var):
            values[key] = environ[var]
    if values.get("public_url"):
        values["public_url"] = check_public_url(str(values["public_url"]), str(path))
    config = ServerConfig(directory, **values)  # type: ignore[arg-type]  # each checked by _setting
    try:
        config.zone  # noqa: B018  # fail at start, not at the first report
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ServerConfigError(f"unknown timezone {config.timezone!r}") from exc
    return config


def _setting(path: Path, key: str, value: object) -> object:
    """One server.toml value, of its setting's type: a string, or a positive finite number."""
    kinds = {f.name: f.type for f in fields(ServerConfig) if f.name != "data_dir"}
    if key not in kinds:
        raise ServerConfigError(f"{path}: unknown setting {key!r}")
    kind = kinds[key]
    if kind == "str":
        if not isinstance(value, str):
            raise ServerConfigError(f"{path}: {key} must be a string")
        return value
    if isinstance(value, bool) or not isinstance(value, int if kind == "int" else int | float) \
            or not math.isfinite(value) or value <= 0:
        what = "a positive whole number" if kind == "int" else (
            "a positive number of seconds" if key.endswith("_seconds") else "a positive number")
        raise ServerConfigError(f"{path}: {key} must be {what}, not {value!r}")
    return value


def check_public_url(url: str, where: str) -> str:
    """`public_url` as stations will use it: http(s)://host[:port][/path], no query, no trailing slash."""
    base = url.strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
            or any(ch.isspace() for ch in base):
        raise ServerConfigError(f"{where}: public_url must be http(s)://host[:port][/path], not {url!r}")
    return base
