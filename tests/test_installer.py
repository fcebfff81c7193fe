"""The Windows recipe (installer/packbench.iss) checked against what it installs and configures.

There is no Windows here, so the script is parsed: its sections, its Start-menu entries and their
commands (every one must be a command this build has), its data dir (the one PackBench itself uses on
Windows), its files (the folder the PyInstaller spec builds), and the station.toml its setup page
writes (which must load in `app.config` for every branch the page can take).
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest

from app.config import load_config
from app.version import VERSION

ROOT = Path(__file__).resolve().parents[1]
ISS = ROOT / "installer" / "packbench.iss"
SPEC = ROOT / "installer" / "packbench.spec"


def _sections(text: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(";") or line.startswith("#"):
            continue
        header = re.fullmatch(r"\[(\w+)\]", line)
        if header:
            current = header.group(1)
            sections.setdefault(current, [])
        elif current:
            sections[current].append(line)
    return sections


def _defines(text: str) -> dict[str, str]:
    return dict(re.findall(r'^#define (\w+) "([^"]*)"', text, re.M))


def _expand(value: str, defines: dict[str, str]) -> str:
    return re.sub(r"\{#(\w+)\}", lambda m: defines[m.group(1)], value)


def _entries(lines: list[str], defines: dict[str, str]) -> list[dict[str, str]]:
    """`Name: "x"; Filename: "y"; …` lines as dicts (Inno doubles quotes inside quoted values)."""
    out = []
    for line in lines:
        entry = {}
        for key, value in re.findall(r'(\w+):\s*("(?:[^"]|"")*"|[^;]+)', line):
            value = value.strip()
            if value.startswith('"'):
                value = value[1:-1].replace('""', '"')
            entry[key] = _expand(value, defines)
        out.append(entry)
    return out


@pytest.fixture(scope="module")
def iss() -> tuple[dict[str, list[str]], dict[str, str]]:
    text = ISS.read_text("utf-8")
    return _sections(text), _defines(text)


def test_the_setup_has_the_sections_a_station_needs(iss: tuple[dict[str, list[str]], dict[str, str]]) -> None:
    sections, defines = iss
    assert {"Setup", "Files", "Dirs", "Icons", "Run", "Code"} <= set(sections)
    setup = dict(line.split("=", 1) for line in sections["Setup"])
    assert defines["AppVersion"] == VERSION  # the installer says the version the build says
    assert setup["DefaultDirName"] == r"{autopf}\PackBench" and setup["DefaultGroupName"] == "PackBench"
    assert "chinesesimplified" in " ".join(sections["Languages"])


def test_the_data_dir_is_the_one_packbench_uses_on_windows(iss: tuple[dict[str, list[str]], dict[str, str]],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs.windows

    _, defines = iss
    local = "C:\\Users\\packer\\AppData\\Local"
    monkeypatch.setattr(platformdirs.windows, "get_win_folder", lambda csidl: local)
    # platformdirs on Windows: %LOCALAPPDATA%\<author>\<app> for user_data_dir("PackBench", "PackBench").
    expected = platformdirs.windows.Windows("PackBench", "PackBench").user_data_dir
    assert defines["DataDir"].startswith("{localappdata}\\")
    assert expected.replace("/", "\\") == local + defines["DataDir"].removeprefix("{localappdata}")


def test_files_come_from_the_folder_the_spec_builds(iss: tuple[dict[str, list[str]], dict[str, str]]) -> None:
    sections, defines = iss
    files = _entries(sections["Files"], defines)
    assert [f["Source"] for f in files] == [r"..\dist\packbench\*"]
    assert 'name="packbench"' in SPEC.read_text("utf-8").replace(" ", "")  # COLLECT(..., name="packbench")
    assert "recursesubdirs" in files[0]["Flags"]


def test_every_start_menu_entry_runs_a_real_command(iss: tuple[dict[str, list[str]], dict[str, str]]) -> None:
    from main import main

    sections, defines = iss
    icons = _entries(sections["Icons"], defines)
    names = {icon["Name"] for icon in icons}
    assert {r"{group}\PackBench 打包台", r"{group}\PackBench 自检 Self-test"} <= names
    exe = "{app}\\" + defines["AppExe"]
    for icon in icons:
        if icon["Filename"] == exe:
            argv = shlex.split(icon["Parameters"], posix=True)
        elif icon["Filename"] == "{cmd}":
            argv = shlex.split(icon["Parameters"].replace("\\", "/"), posix=True)[2:]  # /k "exe" args…
        else:
            assert icon["Filename"] == defines["DataDir"]  # the data folder shortcut
            continue
        argv = [a for a in argv if "{" not in a]  # paths under {#DataDir}
        if argv and argv[-1] == "--data-dir":
            argv = argv[:-1]
        with pytest.raises(SystemExit) as done:
            main([*argv, "--help"])  # parses: the command and its options exist
        assert done.value.code == 0, icon
    run = _entries(sections["Run"], defines)
    assert run[0]["Parameters"] == "--self-test" and "waituntilterminated" in run[0]["Flags"]


def _written_config(code: str, scanner: str, scale: str, printer: str, station: str) -> str:
    """What WriteStationConfig writes for these answers: the Pascal's string assembly, evaluated."""
    values = [scanner, scale, printer, station]

    def toml_string(v: str) -> str:
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'

    body = code[code.index("procedure WriteStationConfig;"):code.index("procedure CurStepChanged")]
    branch = body.split("end else begin")
    lines = re.findall(r"Lines\[\d\] := (.+);", branch[0 if not printer.strip() else 1])
    out = []
    for expr in lines:
        parts = []
        for piece in re.split(r"\s*\+\s*", expr):
            if piece.startswith("'"):
                parts.append(piece[1:-1].replace("''", "'"))
            elif piece.startswith("TomlString"):
                inner = re.search(r"TomlString\((?:Trim\()?(\w+)(?:\.Values\[(\d)\])?\)?\)", piece)
                assert inner is not None, piece
                value = (scanner.strip() or "wedge") if inner.group(1) == "Scanner" else values[int(inner.group(2))]
                parts.append(toml_string(value.strip()))
            else:
                raise AssertionError(f"unexpected piece {piece!r}")
        out.append("".join(parts))
    return "\n".join(out) + "\n"


@pytest.mark.parametrize(("scanner", "scale", "printer", "station", "expect"), [
    ("serial:COM3?baud=9600", "serial:COM4?baud=9600", "tcp:192.168.1.50:9100?lang=zpl", "HZ-01",
     {"scanner": "serial:COM3?baud=9600", "printer": "tcp:192.168.1.50:9100?lang=zpl", "demo": False}),
    ("", "serial:COM4", 'serial:COM5?baud=19200&lang=tspl', 'B "7"', {"scanner": "wedge", "station": 'B "7"'}),
    ("", "", "", "BENCH-1", {"demo": True}),
])
def test_the_setup_page_writes_a_station_toml_that_loads(tmp_path: Path, scanner: str, scale: str, printer: str,
                                                         station: str, expect: dict[str, object]) -> None:
    code = "\n".join(_sections(ISS.read_text("utf-8"))["Code"])
    text = _written_config(code, scanner, scale, printer, station)
    tomllib.loads(text)
    (tmp_path / "station.toml").write_text(text, "utf-8")
    config = load_config(tmp_path)
    for key, value in expect.items():
        assert getattr(config, key) == value


SERVER = ROOT / "installer" / "server"


def _unit(path: Path) -> dict[str, dict[str, str]]:
    import configparser

    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment, method-assign]  # systemd keys are case-sensitive
    parser.read_string(path.read_text("utf-8"))
    return {section: dict(parser[section]) for section in parser.sections()}


@pytest.mark.parametrize("unit", ["packbench-server.service", "packbench-server-backup.service"])
def test_the_server_units_run_real_commands(unit: str) -> None:
    from main import main

    service = _unit(SERVER / unit)["Service"]
    assert service["User"] == "packbench" and service["UMask"] == "0077"
    command = service["ExecStart"]
    if command.startswith("/bin/sh -c "):
        command = shlex.split(command.removeprefix("/bin/sh -c "))[0].removeprefix("exec ")
        command = re.sub(r"\$\([^)]*\)", "NOW", command)
    argv = shlex.split(command)
    assert argv[0] == "/opt/packbench/bin/packbench"
    with pytest.raises(SystemExit) as done:
        main([*argv[1:], "--help"])  # every option before --help parses
    assert done.value.code == 0


def test_the_backup_timer_and_nginx_match_the_server() -> None:
    from server.limits import BODY_LIMITS  # the server's own per-route body limits

    assert _unit(SERVER / "packbench-server-backup.timer")["Timer"]["OnCalendar"]
    nginx = (SERVER / "nginx-packbench.conf").read_text("utf-8")
    size = re.search(r"client_max_body_size (\d+)m;", nginx)
    assert size is not None and int(size.group(1)) << 20 >= max(limit for _, limit in BODY_LIMITS)
    assert "proxy_pass http://127.0.0.1:8700;" in nginx and "X-Forwarded-Proto" in nginx
