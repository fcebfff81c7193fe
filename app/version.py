"""Which PackBench this is: the version (also pyproject's, read from here) and the build.

A frozen build (`make dist`) carries `packbench_build.json` beside its modules, written at build time
with the commit and date it was built from; a source checkout says so. `--version`, the self-test and
the server's recommended-version check all read this one place.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

VERSION = "0.2.0"
BUILD_FILE = "packbench_build.json"


def build_info() -> dict[str, str]:
    """{"commit", "built_at"} of a frozen build; {"build": "source"} when running from a checkout."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is None:
        return {"build": "source"}
    try:
        data = json.loads((Path(bundle) / BUILD_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return {"build": "frozen, build file missing"}
    return {str(k): str(v) for k, v in data.items()}


def version_text() -> str:
    info = build_info()
    if "commit" in info:
        return f"PackBench {VERSION} (build {info['commit']}, {info.get('built_at', '?')})"
    return f"PackBench {VERSION} ({info.get('build', 'source')})"


def version_tuple(text: str) -> tuple[int, ...]:
    """`"0.10.1"` → (0, 10, 1) for comparing versions; a part that is not a number counts as 0."""
    return tuple(int(part) if part.isdigit() else 0 for part in text.strip().lstrip("v").split("."))
