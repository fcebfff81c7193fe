"""Server configuration: `server.toml` in the server data dir, overridden by environment variables.

    database_url   = "postgresql://packbench@db:5432/packbench"   # or sqlite:///path; env DATABASE_URL
    kuaidi100_salt = "..."     # env PACKBENCH_KUAIDI100_SALT: the push callback's `sign` salt
    webhook_secret = "..."     # env PACKBENCH_WEBHOOK_SECRET: HMAC key of the generic carrier hook
    timezone       = "Asia/Shanghai"   # business days (reconciliation) and carrier times without a zone

An environment variable wins over the file (a container sets secrets in its environment). A hook
whose secret is not configured refuses every call: a webhook is never open.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.config import default_data_dir

CONFIG_FILENAME = "server.toml"
DB_FILENAME = "packbench-server.sqlite3"
DEFAULT_PORT = 8700  # the station's default passport_base_url points here
ENV = {"database_url": "DATABASE_URL", "kuaidi100_salt": "PACKBENCH_KUAIDI100_SALT",
       "webhook_secret": "PACKBENCH_WEBHOOK_SECRET"}


class ServerConfigError(Exception):
    """The configuration cannot be used; the message names the file or variable."""


@dataclass(frozen=True)
class ServerConfig:
    data_dir: Path
    database_url: str = ""
    kuaidi100_salt: str = ""
    webhook_secret: str = ""
    timezone: str = "Asia/Shanghai"

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
    values: dict[str, str] = {}
    path = directory / CONFIG_FILENAME
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ServerConfigError(f"{path}: not valid TOML ({exc})") from exc
        for key, value in data.items():
            if key not in (*ENV, "timezone"):
                raise ServerConfigError(f"{path}: unknown setting {key!r}")
            if not isinstance(value, str):
                raise ServerConfigError(f"{path}: {key} must be a string")
            values[key] = value
    for key, var in ENV.items():
        if environ.get(var):
            values[key] = environ[var]
    config = ServerConfig(directory, **values)
    try:
        config.zone  # noqa: B018  # fail at start, not at the first report
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ServerConfigError(f"unknown timezone {config.timezone!r}") from exc
    return config
