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
    health_readings_days   = 400    # order-health readings kept this long (monthly reports and a year's
                                    # comparison read them); the schedule deletes older ones
    station_version = "0.2.0"       # the station version this server recommends (default: its own);
                                    # `packbench doctor` and the station window say when one is newer
    metrics_allow = "127.0.0.1, ::1"  # client addresses /metrics answers (comma-separated); others 403
    kuaidi100_key          = "..."  # env PACKBENCH_KUAIDI100_KEY: the enterprise API key (授权key)
    kuaidi100_secret       = "..."  # env PACKBENCH_KUAIDI100_SECRET: signs e-waybill calls
    kuaidi100_partner_id   = "..."  # env PACKBENCH_KUAIDI100_PARTNER_ID: the carrier account (月结账号)
    kuaidi100_partner_key  = "..."  # env PACKBENCH_KUAIDI100_PARTNER_KEY: its password, where the carrier has one
    kuaidi100_api          = "https://api.kuaidi100.com"    # env PACKBENCH_KUAIDI100_API: e-waybills
    kuaidi100_poll_api     = "https://poll.kuaidi100.com"   # env PACKBENCH_KUAIDI100_POLL_API: subscriptions
    report_channels = ["ops-and-warehouse"]  # alert channels that get the weekly and monthly order-health
                                    # reports the server writes on schedule: e-mail attaches the PDF,
                                    # DingTalk / WeCom / webhook post a console link; default none
    [[alert_channels]]              # where alerts go (dingtalk | wecom | email | webhook), see server.alerts
    health_channels = ["ops-and-warehouse"]  # alert channels that get every order-health anomaly;
                                    # default: every channel that no [[health_routes]] names
    [[health_routes]]               # an owner of part of the warehouse (a shop, a carrier, a bench) also
                                    # gets the anomalies that concern it, see server.alerts.routes

An environment variable wins over the file (a container sets secrets in its environment). A hook
whose secret is not configured refuses every call: a webhook is never open. `public_url` is given to
each station at enrollment and becomes the base of its passport QR codes; without it a station uses
the URL it enrolled with, and tracking subscriptions ask Kuaidi100 to push to
`{public_url}/hooks/carriers/kuaidi100`. With `kuaidi100_key`, `kuaidi100_secret` and
`kuaidi100_partner_id` set, warehouses given a carrier (`packbench server warehouse set`) ship
with Kuaidi100 e-waybills, and every parcel number is subscribed (`server.kuaidi100`).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator
from pydantic.dataclasses import dataclass

from app.config import default_data_dir
from app.errors import InputError
from app.i18n import N_, Phrase
from app.settings_file import (
    SETTINGS,
    BaseUrl,
    NonBlank,
    PositiveNumber,
    PositiveWhole,
    Text,
    Zone,
    build,
    read_toml,
    toml_value,
)
from server.alerts.channels import AlertChannel, distinct_names
from server.alerts.routes import HealthRoute, health_targets, route_problem

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


@dataclass(frozen=True, config=SETTINGS)
class ServerConfig:
    data_dir: Path  # where the server keeps its files; not a key of server.toml
    database_url: Text = ""
    kuaidi100_salt: Text = ""
    webhook_secret: Text = ""
    timezone: Zone = "Asia/Shanghai"
    public_url: BaseUrl = ""
    body_timeout_seconds: PositiveNumber = 30.0
    header_timeout_seconds: PositiveNumber = 10.0
    waybills_per_call: PositiveWhole = 200
    waybills_per_station_day: PositiveWhole = 2000
    reconciliation_alert_pct: PositiveNumber = 3.0  # a reconciliation deviation over this (%) alerts
    health_readings_days: PositiveWhole = 400  # days of `health_reading` rows kept (server.health.stored.prune)
    station_version: Text = ""
    metrics_allow: Text = "127.0.0.1, ::1"
    kuaidi100_key: Text = ""
    kuaidi100_secret: Text = ""
    kuaidi100_partner_id: Text = ""
    kuaidi100_partner_key: Text = ""
    kuaidi100_api: BaseUrl = "https://api.kuaidi100.com"
    kuaidi100_poll_api: BaseUrl = "https://poll.kuaidi100.com"
    # [[alert_channels]], see server.alerts.channels
    alert_channels: Annotated[tuple[AlertChannel, ...], AfterValidator(distinct_names)] = ()
    report_channels: tuple[NonBlank, ...] = ()  # names of alert channels that get the scheduled health reports
    health_channels: tuple[NonBlank, ...] | None = None  # names of the channels of every health anomaly
    health_routes: tuple[HealthRoute, ...] = ()  # [[health_routes]], see server.alerts.routes

    @property
    def report_targets(self) -> tuple[AlertChannel, ...]:
        return tuple(c for c in self.alert_channels if c.name in self.report_channels)

    def health_targets(self, indicator: str, slices: Collection[str]) -> tuple[AlertChannel, ...]:
        """The channels an order-health anomaly goes to (server.alerts.routes)."""
        return health_targets(self.alert_channels, self.health_channels, self.health_routes, indicator, slices)

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
    path = directory / CONFIG_FILENAME
    values = read_toml(path, ServerConfigError) if path.exists() else {}
    from_env = {key: environ[var] for key, var in ENV.items() if environ.get(var)}
    def where(key: str) -> str | Phrase:
        return Phrase(N_("environment variable {name}"), {"name": ENV[key]}) if key in from_env else str(path)

    config = build(ServerConfig, {**values, **from_env}, where, ServerConfigError, fixed={"data_dir": directory})
    named = {c.name for c in config.alert_channels}
    unknown = next((name for name in config.report_channels if name not in named), None)
    if unknown is not None:
        raise ServerConfigError(N_("{path}: report_channels must name [[alert_channels]] tables, not {name}"),
                                path=path, name=toml_value(unknown))
    from server.health.indicators import BY_NAME, DIMENSIONS  # the health package reads this module's config

    problem = route_problem(named, config.health_channels, config.health_routes, tuple(BY_NAME), DIMENSIONS)
    if problem is not None:
        raise ServerConfigError(N_("{source}: {problem}"), source=path, problem=problem)
    return config
