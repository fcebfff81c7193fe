"""Ctrl-C in the terminal closes the station window cleanly: exit 130, no traceback, store closed —
also when it comes during start-up, before the window was shown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READY = b"Ctrl-C here closes it"


def _station_env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    for name in ("PACKBENCH_SELFTEST", "LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        env.pop(name, None)
    return env


def _start_demo_station(tmp_path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(ROOT / "main.py"), "gui", "--demo", "--data-dir",
                             str(tmp_path / "s")],
                            cwd=ROOT, env=_station_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _assert_closed_cleanly(tmp_path: Path, returncode: int, err: str) -> None:
    assert returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    # Closed through the normal path: the data-dir lock is released, so the next start succeeds at once.
    again = subprocess.run([sys.executable, str(ROOT / "main.py"), "--data-dir", str(tmp_path / "s"),
                            "operator", "list"], cwd=ROOT, env=_station_env(tmp_path), capture_output=True, timeout=60)
    assert again.returncode == 0, again.stderr
    assert b"not closed cleanly" not in again.stderr


def test_sigint_closes_the_demo_station_without_a_traceback(tmp_path: Path) -> None:
    proc = _start_demo_station(tmp_path)
    try:
        assert proc.stderr is not None
        seen = b""
        while READY not in seen:  # the handler is installed before this line is printed
            line = proc.stderr.readline()
            assert line, f"station ended before its window opened: {seen!r}"
            seen += line
        proc.send_signal(signal.SIGINT)
        _, rest = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    _assert_closed_cleanly(tmp_path, proc.returncode, (seen + rest).decode(errors="replace"))
    # As every command ends on Ctrl-C: it closed with no line of its own.
    assert rest.decode().rstrip().endswith("packbench: interrupted"), rest


def test_sigint_during_start_up_closes_the_station_before_its_window_shows(tmp_path: Path) -> None:
    """The station.toml is a pipe: start-up waits in reading it, in the middle of building the station
    (after Qt started, before the store opened), until the test has sent Ctrl-C and only then the config."""
    data_dir = tmp_path / "s"
    data_dir.mkdir(mode=0o700)
    config = data_dir / "station.toml"
    os.mkfifo(config)
    proc = _start_demo_station(tmp_path)
    try:
        with config.open("w") as pipe:  # opens once the station opened it for reading
            proc.send_signal(signal.SIGINT)
            pipe.write('station = "bench-1"\n')
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = err.decode(errors="replace")
    assert READY not in err and "interrupted while starting" in text, text
    config.unlink()  # a pipe no command after this one could read
    _assert_closed_cleanly(tmp_path, proc.returncode, text)
