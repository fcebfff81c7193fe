"""Station configuration: `station.toml` next to the store (docs/architecture.md §13).

A fresh data dir has no config file: the station then runs in demo mode with simulated devices.
Every key, with its default (a file that exists means `demo = false` unless it says otherwise):

    station = "BENCH-1"
    demo = false
    language = "zh_CN"                  # zh_CN | en: the bench's words while no operator with a language of
                                        # their own is logged in (`operator add … --language`)
    timezone = "Asia/Shanghai"
    carrier = "SF"                      # SF | ZTO | YTO | STO | YUNDA | JD | JT | EMS
    carriers = ["SF", "ZTO", "YTO", "JD", "EMS"]   # the SWITCH_CARRIER command cycles through these
    box_tare_g = 60
    tolerance_g = 30
    tolerance_pct = 5.0
    scanner = "sim"                     # a device SPEC (README), or "wedge" for a keyboard scanner
    scale = "sim"
    printer = "sim"
    wedge_gap_ms = 30                   # keyboard-wedge scanner (app.wedge): its key gap before it is learned
    wedge_min_length = 4                # the shortest code a burst may be
    wedge_prefix = ""                   # what the scanner sends before each code (e.g. "\\u0002"); stripped
    wedge_suffix = "auto"               # what ends a code: auto (Enter or Tab) | enter | tab | none | one character
    double_read_ms = 200
    passport_base_url = "http://localhost:8700"
    waybill_low_water = 50
    handover_overdue_hours = 12.0
    camera = ""                         # "" (none), sim, http://camera/snapshot.jpg, file:DIR
    sla_handover_hours = 48.0
    sla_delivery_hours = 72.0
    notify_url = ""
    notify_severities = ["critical", "warning"]    # of info | warning | critical
    notify_routes = ["supervisor", "admin"]        # cases routed to these roles (packer | supervisor | admin)
    notify_secret = ""                  # DingTalk 加签 secret: the URL is then signed per message
    notify_at_mobiles = []              # mobile numbers @-mentioned in every message
    backup_dir = ""
    backup_every_hours = 4.0
    backup_keep = 14

    [sender]
    name = "PackBench 演示仓 Demo Warehouse"
    phone = "0571-88886666"
    address = "浙江省杭州市余杭区仓前街道 1 号仓"

A wrong value is refused at start with one line naming the file, the key and what it must be
(`app.settings_file`).
"""

from __future__ import annotations

import os
import re
from dataclasses import field, fields
from pathlib import Path
from typing import Annotated

import platformdirs
from pydantic import AfterValidator, Field
from pydantic.dataclasses import dataclass

from app.barcodes import CARRIER_PATTERNS
from app.cases import ROUTES, SEVERITIES
from app.errors import InputError
from app.i18n import LANGUAGES, N_
from app.labels import Party
from app.pack.flow import FlowConfig
from app.pack.weights import Tolerance
from app.private_files import open_private, private_dir
from app.settings_file import (
    SETTINGS,
    BaseUrl,
    Count,
    Flag,
    NonBlank,
    Number,
    PositiveNumber,
    PositiveWhole,
    Text,
    Zone,
    build,
    one_of,
    read_toml,
    toml_value,
)
from app.wedge import WedgeSettings, check_suffix

CONFIG_FILENAME = "station.toml"

Carrier = Annotated[Text, one_of(CARRIER_PATTERNS)]
Severity = Annotated[Text, one_of(SEVERITIES)]
Route = Annotated[Text, one_of(ROUTES)]


class ConfigError(InputError):
    pass


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("PackBench", "PackBench"))


@dataclass(config=SETTINGS)
class Sender:
    name: Text = "PackBench 演示仓 Demo Warehouse"
    phone: Text = "0571-88886666"
    address: Text = "浙江省杭州市余杭区仓前街道 1 号仓"


@dataclass(config=SETTINGS)
class StationConfig:
    station: NonBlank = "BENCH-1"
    demo: Flag = True
    language: Annotated[Text, one_of(LANGUAGES)] = "zh_CN"
    timezone: Zone = "Asia/Shanghai"
    carrier: Carrier = "SF"
    carriers: Annotated[list[Carrier], Field(min_length=1)] = field(
        default_factory=lambda: ["SF", "ZTO", "YTO", "JD", "EMS"])
    box_tare_g: Count = 60
    tolerance_g: Count = 30
    tolerance_pct: Annotated[Number, Field(ge=0)] = 5.0
    scanner: Text = "sim"
    scale: Text = "sim"
    printer: Text = "sim"
    wedge_gap_ms: PositiveWhole = 30
    wedge_min_length: PositiveWhole = 4
    wedge_prefix: Text = ""
    wedge_suffix: Annotated[Text, AfterValidator(check_suffix)] = "auto"
    double_read_ms: Count = 200
    # Passport QR codes point here: the central server's public address, which serves /p/{token};
    # `packbench station enroll` sets it to what the server answers (its public_url).
    passport_base_url: BaseUrl = "http://localhost:8700"
    waybill_low_water: Count = 50  # warn when a carrier's pool has fewer free numbers
    handover_overdue_hours: PositiveNumber = 12.0  # packed but not handed over for longer: an exception
    camera: Text = ""  # packing photo: "" (none), sim, http://camera/snapshot.jpg, file:DIR
    sla_handover_hours: PositiveNumber = 48.0  # promise paid → handed over, when the order has no ship-by time
    sla_delivery_hours: PositiveNumber = 72.0  # promise handed over → delivered
    notify_url: Text = ""  # WeCom/DingTalk robot webhook for new cases; "" = no notifications
    notify_severities: list[Severity] = field(default_factory=lambda: ["critical", "warning"])
    # A supervisor call is posted whatever its severity; a packer-routed case is for the bench itself.
    notify_routes: list[Route] = field(default_factory=lambda: ["supervisor", "admin"])
    notify_secret: Text = ""  # DingTalk 加签 secret: the webhook URL is then signed per message
    notify_at_mobiles: list[NonBlank] = field(default_factory=list)  # @-mentioned in every message
    backup_dir: Text = ""  # automatic backups (app.backups); "" = the data dir's backups/ folder
    backup_every_hours: PositiveNumber = 4.0  # also at every LOGOUT and when the window closes (shift end)
    backup_keep: PositiveWhole = 14  # the newest this many backups are kept
    sender: Sender = field(default_factory=Sender)

    def backup_folder(self, data_dir: Path) -> Path:
        return Path(self.backup_dir) if self.backup_dir else Path(data_dir) / "backups"

    def sender_party(self) -> Party:
        return Party(self.sender.name, self.sender.phone, self.sender.address)

    def wedge_settings(self) -> WedgeSettings:
        return WedgeSettings(self.wedge_gap_ms, self.wedge_min_length, self.wedge_prefix, self.wedge_suffix)

    def flow_config(self) -> FlowConfig:
        return FlowConfig(
            station=self.station, carrier=self.carrier, carriers=tuple(self.carriers),
            box_tare_g=self.box_tare_g, tolerance=Tolerance(self.tolerance_g, self.tolerance_pct),
            printer_name=self.printer, language=self.language,
        )


def load_config(data_dir: Path) -> StationConfig:
    path = Path(data_dir) / CONFIG_FILENAME
    if not path.exists():
        return StationConfig()
    data = read_toml(path, ConfigError)
    data.setdefault("demo", False)
    return build(StationConfig, data, lambda _key: str(path), ConfigError)


def station_language(data_dir: Path) -> str | None:
    """The station's language from `station.toml` alone, for the words of an error the rest of the
    file (or a later start-up step) caused: the default when the file or its key is missing; None
    when the file cannot be read or names no language of ours (the caller's own language decides)."""
    path = Path(data_dir) / CONFIG_FILENAME
    if not path.exists():
        return StationConfig.language
    try:
        language = read_toml(path, ConfigError).get("language", StationConfig.language)
    except (OSError, ConfigError):
        return None
    return str(language) if language in LANGUAGES else None


def set_setting(data_dir: Path, name: str, value: str | int | float | bool) -> Path:
    """Set one top-level setting of `station.toml`, keeping every other line (comments too) as it is;
    a value the file would refuse is refused before anything is written. A data dir without the file
    gets one that keeps the default demo mode."""
    if name not in {f.name for f in fields(StationConfig)} or name == "sender":
        raise ConfigError(N_("unknown key {key}"), key=toml_value(name))
    path = Path(data_dir) / CONFIG_FILENAME
    value = getattr(build(StationConfig, {name: value}, lambda _key: str(path), ConfigError), name)  # as loaded
    lines = path.read_text("utf-8").splitlines() if path.exists() else [f"demo = {toml_value(True)}"]
    line = f"{name} = {toml_value(value)}"
    top = next((i for i, text in enumerate(lines) if text.lstrip().startswith("[")), len(lines))
    at = next((i for i in range(top) if re.match(rf"\s*{re.escape(name)}\s*=", lines[i])), None)
    if at is None:
        lines.insert(top, line)
    else:
        lines[at] = line
    _replace_private(path, "\n".join(lines) + "\n")
    return path


def save_config(data_dir: Path, config: StationConfig) -> Path:
    path = Path(data_dir) / CONFIG_FILENAME
    lines = [f"{f.name} = {toml_value(getattr(config, f.name))}" for f in fields(config) if f.name != "sender"]
    lines += ["", "[sender]"] + [f"{f.name} = {toml_value(getattr(config.sender, f.name))}"
                                 for f in fields(config.sender)]
    _replace_private(path, "\n".join(lines) + "\n")
    return path


def _replace_private(path: Path, text: str) -> None:
    """`path` written whole through a temporary file (a crash leaves the old file or the new one), 0600
    whatever the umask: station.toml names the devices and the server, in the private data dir."""
    private_dir(path.parent)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)  # left by a crash mid-save
    with os.fdopen(open_private(tmp), "w", encoding="utf-8") as out:
        out.write(text)
    tmp.replace(path)
