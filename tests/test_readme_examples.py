"""The README's examples are true: its headless `pack` example runs as written on a fresh demo store."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text("utf-8")


def console_example() -> tuple[str, list[dict[str, object]]]:
    """The command (with its continuation lines) and the JSON lines the README shows it printing."""
    block = re.search(r"```console\n(.*?)```", README, re.DOTALL)
    assert block is not None
    lines = block.group(1).splitlines()
    assert lines[0].startswith("$ ")
    command = [lines[0][2:]]
    rest = lines[1:]
    while command[-1].endswith("\\"):
        command.append(rest.pop(0))
    shown = [json.loads(line.replace(", ...}", "}").replace("{..., ", "{").replace(", ..., ", ", "))
             for line in rest if line.startswith("{")]
    return "\n".join(command), shown


def run_shell(script: str, home: Path) -> subprocess.CompletedProcess[str]:
    shim = home / "bin"
    shim.mkdir(exist_ok=True)
    station = f"{shlex.quote(sys.executable)} {shlex.quote(str(ROOT / 'main.py'))}"  # this checkout's code
    (shim / "packbench").write_text(f'#!/bin/sh\nexec {station} "$@"\n')
    (shim / "packbench").chmod(0o755)
    env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / "data"),
           "PATH": f"{shim}:{os.environ['PATH']}", "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=home, env=env, capture_output=True,
                          text=True, timeout=120)


def test_readme_pack_example_runs_against_a_fresh_demo_store(tmp_path: Path) -> None:
    command, shown = console_example()
    assert "--operator line-1" in command
    seeded = run_shell("packbench demo seed", tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    proc = run_shell(command, tmp_path)
    assert proc.returncode == 0, proc.stderr
    printed = [json.loads(line) for line in proc.stdout.splitlines()]
    # Every line the README shows appears, in order, with the fields it shows.
    remaining = iter(printed)
    for expected in shown:
        assert any(all(got.get(k) == v for k, v in expected.items()) for got in remaining), expected
    assert printed[-1]["event"] == "label_printed"
    assert (tmp_path / "labels.txt").exists()
