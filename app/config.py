"""Station configuration: `station.toml` next to the store (docs/architecture.md §13).

A fresh data dir has no config file: the station then runs in demo mode with simulated devices.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

from app.errors import InputError
from app.labels import Party
from app.pack.flow import FlowConfig
from app.pack.weights import Tolerance
from app.private_files import open_private, private_dir

CONFIG_FILENAME = "station.toml"


class ConfigError(InputError):
    pass


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("PackBench", "PackBench"))


@dataclass
class Sender:
    name: str = "PackBench 演示仓 Demo Warehouse"
    phone: str = "0571-88886666"
    address: str = "浙江省杭州市余杭区仓前街道 1 号仓"


@dataclass
class StationConfig:
    station: str = "BENCH-1"
    demo: bool = True
    language: str = "zh_CN"
    timezone: str = "Asia/Shanghai"
    carrier: str = "SF"
    carriers: list[str] = field(default_factory=lambda: ["SF", "ZTO", "YTO", "JD", "EMS"])
    box_tare_g: int = 60
    tolerance_g: int = 30
    tolerance_pct: float = 5.0
    scanner: str = "sim"
    scale: str = "sim"
    printer: str = "sim"
    wedge_gap_ms: int = 30
    wedge_min_length: int = 4
    double_read_ms: int = 200
    # Passport QR codes point here: the central server's public address, which serves /p/{token};
    # `packbench station enroll` sets it to what the server answers (its public_url).
    passport_base_url: str = "http://localhost:8700"
    waybill_low_water: int = 50  # warn when a carrier's pool has fewer free numbers
    handover_overdue_hours: float = 12.0  # packed but not handed over for longer: an exception
    camera: str = ""  # packing photo: "" (none), sim, http://camera/snapshot.jpg, file:DIR
    sla_handover_hours: float = 48.0  # promise paid → handed over, when the order has no ship-by time
    sla_delivery_hours: float = 72.0  # promise handed over → delivered
    notify_url: str = ""  # WeCom/DingTalk robot webhook for new cases; "" = no notifications
    notify_severities: list[str] = field(default_factory=lambda: ["critical", "warning"])
    backup_dir: str = ""  # automatic backups (app.backups); "" = the data dir's backups/ folder
    backup_every_hours: float = 4.0  # also at every LOGOUT and when the window closes (shift end)
    backup_keep: int = 14  # the newest this many backups are kept
    sender: Sender = field(default_factory=Sender)

    def backup_folder(self, data_dir: Path) -> Path:
        return Path(self.backup_dir) if self.backup_dir else Path(data_dir) / "backups"

    def sender_party(self) -> Party:
        return Party(self.sender.name, self.sender.phone, self.sender.address)

    def flow_config(self) -> FlowConfig:
        return FlowConfig(
            station=self.station, carrier=self.carrier, carriers=tuple(self.carriers),
            box_tare_g=self.box_tare_g, tolerance=Tolerance(self.tolerance_g, self.tolerance_pct),
            printer_name=self.printer,
        )


def _from_dict(data: dict[str, Any], path: Path) -> StationConfig:
    known = {f.name for f in fields(StationConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s): {', '.join(unknown)}")
    sender = Sender(**data.pop("sender", {}))
    config = StationConfig(**data, sender=sender)
    for f in fields(StationConfig):
        default = getattr(StationConfig(), f.name)
        value = getattr(config, f.name)
        widened = isinstance(default, float) and isinstance(value, int)
        if type(default) in (int, float, str, bool) and not isinstance(value, type(default)) and not widened:
            raise ConfigError(f"{path}: {f.name} must be a {type(default).__name__}, not {value!r}")
    return config


def load_config(data_dir: Path) -> StationConfig:
    path = Path(data_dir) / CONFIG_FILENAME
    if not path.exists():
        return StationConfig()
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    except RecursionError:  # tomllib recurses per nesting level
        raise ConfigError(f"{path}: nested too deeply") from None
    data.setdefault("demo", False)
    try:
        return _from_dict(data, path)
    except TypeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def set_setting(data_dir: Path, name: str, value: str | int | float | bool) -> Path:
    """Set one top-level setting of `station.toml`, keeping every other line (comments too) as it is.
    A data dir without the file gets one that keeps the default demo mode."""
    if name not in {f.name for f in fields(StationConfig)} or name == "sender":
        raise ConfigError(f"unknown setting {name!r}")
    path = Path(data_dir) / CONFIG_FILENAME
    lines = path.read_text("utf-8").splitlines() if path.exists() else [f"demo = {_toml_value(True)}"]
    line = f"{name} = {_toml_value(value)}"
    top = next((i for i, text in enumerate(lines) if text.lstrip().startswith("[")), len(lines))
    at = next((i for i in range(top) if re.match(rf"\s*{re.escape(name)}\s*=", lines[i])), None)
    if at is None:
        lines.insert(top, line)
    else:
        lines[at] = line
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", "utf-8")
    tmp.replace(path)
    return path


def save_config(data_dir: Path, config: StationConfig) -> Path:
    path = Path(data_dir) / CONFIG_FILENAME
    lines = [f"{f.name} = {_toml_value(getattr(config, f.name))}" for f in fields(config) if f.name != "sender"]
    lines += ["", "[sender]"] + [f"{f.name} = {_toml_value(getattr(config.sender, f.name))}"
                                 for f in fields(config.sender)]
    private_dir(path.parent)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)  # left by a crash mid-save
    with os.fdopen(open_private(tmp), "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    tmp.replace(path)
    return path
