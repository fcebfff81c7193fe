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
    kuaidi100_key          = "..."  # env PACKBENCH_KUAIDI100_KEY: the enterprise API key (授权key)
    kuaidi100_secret       = "..."  # env PACKBENCH_KUAIDI100_SECRET: signs e-waybill calls
    kuaidi100_partner_id   = "..."  # env PACKBENCH_KUAIDI100_PARTNER_ID: the carrier account (月结账号)
    kuaidi100_partner_key  = "..."  # env PACKBENCH_KUAIDI100_PARTNER_KEY: its password, where the carrier has one
    kuaidi100_api          = "https://api.kuaidi100.com"    # env PACKBENCH_KUAIDI100_API: e-waybills
    kuaidi100_poll_api     = "https://poll.kuaidi100.com"   # env PACKBENCH_KUAIDI100_POLL_API: subscriptions
    [[alert_channels]]              # where alerts go (dingtalk | wecom | email | webhook), see server.alerts

An environment variable wins over the file (a container sets secrets in its environment). A hook
whose secret is not configured refuses every call: a webhook is never open. `public_url` is given to
each station at enrollment and becomes the base of its passport QR codes; without it a station uses
the URL it enrolled with, and tracking subscriptions ask Kuaidi100 to push to
`{public_url}/hooks/carriers/kuaidi100`. With `kuaidi100_key`, `kuaidi100_secret` and
`kuaidi100_partner_id` set, warehouses given a carrier (`packbench server warehouse set`) ship
with Kuaidi100 e-waybills, and every parcel number is subscribed (`server.kuaidi100`).
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
from server.alerts.channels import AlertChannel, ChannelError, parse_channels

CONFIG_FILENAME = "server.toml"
DB_FILENAME = "packbench-server.sqlite3"
DEFAULT_PORT = 8700  # the station's default passport_base_url points here
ENV = {"database_url": "DATABASE_URL", "kuaidi100_salt": "PACKBENCH_KUAIDI100_SALT",
       "webhook_secret": "PACKBENCH_WEBHOOK_SECRET", "public_url": "PACKBENCH_PUBLIC_URL",
       "kuaidi100_key": "PACKBENCH_KUAIDI100_KEY", "kuaidi100_secret": "PACKBENCH_KUAIDI100_SECRET",
       "kuaidi100_partner_id": "PACKBENCH_KUAIDI100_PARTNER_ID",
       "kuaidi100_partner_key": "PACKBENCH_KUAIDI100_PARTNER_KEY",
       "kuaidi100_api": "PACKBENCH_KUAIDI100_API", "kuaidi100_poll_api": "PACKBENCH_KUAIDI100_POLL_API"}


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
    kuaidi100_key: str = ""
    kuaidi100_secret: str = ""
    kuaidi100_partner_id: str = ""
    kuaidi100_partner_key: str = ""
    kuaidi100_api: str = "https://api.kuaidi100.com"
    kuaidi100_poll_api: str = "https://poll.kuaidi100.com"
    alert_channels: tuple[AlertChannel, ...] = ()  # [[alert_channels]], see server.alerts.channels

    @property
    def database(self) -> str:
        """The database URL: the configured one, else the SQLite file in the data dir."""
        return self.database_url or f"sqlite:///{Path(self.data_dir) / DB_FILENAME}"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def kuaidi100_ewaybills(self) -> bool:
        """Whether e-waybills can be ordered: the API key, its secret and a carrier account."""
        return bool(self.kuaidi100_key and self.kuaidi100_secret and self.kuaidi100_partner_id)

    @property
    def kuaidi100_callback(self) -> str:
        """Where Kuaidi100 pushes tracking: empty without `public_url` (nothing can be subscribed)."""
        return f"{self.public_url}/hooks/carriers/kuaidi100" if self.public_url else ""


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
    for key in ("public_url", "kuaidi100_api", "kuaidi100_poll_api"):
        if values.get(key):
            values[key] = check_base_url(key, str(values[key]), str(path))
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
    if key == "alert_channels":
        try:
            return parse_channels(value, str(path))
        except ChannelError as exc:
            raise ServerConfigError(str(exc)) from None
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


def check_base_url(key: str, url: str, where: str) -> str:
    """A base URL setting: http(s)://host[:port][/path], no query, no trailing slash."""
    base = url.strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
            or any(ch.isspace() for ch in base):
        raise ServerConfigError(f"{where}: {key} must be http(s)://host[:port][/path], not {url!r}")
    return base
