"""`make run`'s first step: are the system libraries Qt's xcb platform plugin loads present?

Without this, a fresh desktop Linux shows Qt's own message — "xcb-cursor0 or libxcb-cursor0 is
needed" — even when the library actually missing is libxcb-icccm4 or libxcb-keysyms1, and the
station window never opens. Here the plugin's real dependencies are resolved (``ldd`` on PySide6's
``libqxcb.so``: it follows libQt6XcbQpa's own needs too), and every missing one is named with the
one ``apt-get install`` line that brings it, and exits 1.

With ``--install`` (``make run INSTALL_QT_LIBS=yes``: the consent, given once by whoever sets up the
bench) and run as root, it runs that ``apt-get install`` itself — after an ``apt-get update`` when
the package lists are too old to know a package — checks again, and lets ``make run`` go on once
nothing is missing. Without root it says how to run it as root and installs nothing.

Its lines are in the shell's language (app.i18n.environment_language, as every CLI line): the person
setting up a Chinese desktop reads Chinese; the commands, library and package names stay as typed.

It checks only when Qt would use xcb: Linux, a DISPLAY or WAYLAND_DISPLAY session (not needed with
``--install``: ``sudo`` drops DISPLAY), and QT_QPA_PLATFORM unset or ``xcb`` (offscreen tests and
explicit other platforms are left alone).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from app.i18n import N_, environment_language, render

# soname → Debian/Ubuntu package, for everything PySide6 6.11's libqxcb.so and libQt6XcbQpa.so.6
# list as NEEDED (readelf -d) outside Qt itself and the C/C++ runtime.
DEBIAN_PACKAGES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
}

SUDO_INSTALL = "sudo .venv/bin/python qt_platform_check.py --install"
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)

MissingLookup = Callable[[Path], list[str]]


def xcb_plugin() -> Path | None:
    """PySide6's libqxcb.so, found without importing Qt (importing it is what fails)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    plugin = Path(next(iter(spec.submodule_search_locations))) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.exists() else None


def missing_by_ldd(plugin: Path) -> list[str]:
    """Sonames the dynamic loader cannot find for `plugin`, each once, in ldd's order."""
    result = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, timeout=30, check=False)
    return list(dict.fromkeys(_NOT_FOUND.findall(result.stdout)))


def uses_xcb(env: Mapping[str, str], platform: str, session_needed: bool = True) -> bool:
    if not platform.startswith("linux"):
        return False
    if session_needed and not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        return False
    return env.get("QT_QPA_PLATFORM", "").split(":")[0] in ("", "xcb")


def packages_for(missing: list[str]) -> list[str]:
    return sorted({DEBIAN_PACKAGES[name] for name in missing if name in DEBIAN_PACKAGES})


def say(env: Mapping[str, str], msgid: str, **values: str) -> str:
    """One line in the language of the shell `env` describes."""
    return render(msgid, environment_language(env), values)


def advice(missing: list[str], env: Mapping[str, str]) -> str:
    """What to tell the person at the bench: the exact command, and any library we cannot map."""
    packages = packages_for(missing)
    unknown = [name for name in missing if name not in DEBIAN_PACKAGES]
    lines = [say(env, N_("The station window needs system libraries that are missing: {libraries}."),
                 libraries=", ".join(missing))]
    if packages:
        lines.append(say(env, N_("Install them with:  {command}"),
                         command=f"sudo apt-get install -y {' '.join(packages)}"))
        lines.append(say(env, N_("(or let PackBench run it:  {command})"), command=SUDO_INSTALL))
    if unknown:
        lines.append(say(env, N_("Install the package that provides: {libraries}"), libraries=", ".join(unknown)))
    lines.append(say(env, N_("Then run `make run` again (or use QT_QPA_PLATFORM=offscreen for a window-less test).")))
    return "\n".join(lines)


def check(env: Mapping[str, str], platform: str, plugin: Path | None,
          lookup: MissingLookup = missing_by_ldd) -> str | None:
    """The advice to print, or None when the window can open (or xcb is not going to be used)."""
    if plugin is None or not uses_xcb(env, platform):
        return None
    missing = lookup(plugin)
    return advice(missing, env) if missing else None


def install(missing: list[str], env: Mapping[str, str]) -> str | None:
    """Run apt-get for the packages of `missing`; None when it succeeded, else the one line why not."""
    packages = packages_for(missing)
    if not packages:
        return say(env, N_("no package is known for these libraries: install them by hand"))
    apt_get = shutil.which("apt-get", path=env.get("PATH"))
    if apt_get is None:
        return say(env, N_("apt-get is not on this system: install {packages} with its package manager"),
                   packages=" ".join(packages))
    quiet = {**env, "DEBIAN_FRONTEND": "noninteractive"}  # no question may wait on a terminal nobody reads
    if _apt(apt_get, ["install", "-y", *packages], quiet) == 0:
        return None
    # Stale package lists are the usual reason a package is "not found" on a fresh install.
    if _apt(apt_get, ["update"], quiet) == 0 and _apt(apt_get, ["install", "-y", *packages], quiet) == 0:
        return None
    return say(env, N_("{command} failed (its output is above)"), command=f"apt-get install -y {' '.join(packages)}")


def _apt(apt_get: str, args: list[str], env: Mapping[str, str]) -> int:
    print(f"qt_platform_check: apt-get {' '.join(args)}", file=sys.stderr, flush=True)
    return subprocess.run([apt_get, *args], env=dict(env), check=False, timeout=1800).returncode


def install_missing(env: Mapping[str, str], platform: str, plugin: Path | None, lookup: MissingLookup,
                    is_root: bool) -> int:
    """`--install`: as root, install what is missing and check again; exit status for make."""
    if plugin is None or not uses_xcb(env, platform, session_needed=False):
        return 0
    missing = lookup(plugin)
    if not missing:
        return 0
    if not is_root:
        print(advice(missing, env), file=sys.stderr)
        print(say(env, N_("--install needs root: {command}"), command=SUDO_INSTALL), file=sys.stderr)
        return 1
    failure = install(missing, env)
    still = lookup(plugin)
    if failure is not None or still:
        print(advice(still or missing, env), file=sys.stderr)
        failure = failure or say(env, N_("installed, but still missing: {libraries}"), libraries=", ".join(still))
        print(f"qt_platform_check: {failure}", file=sys.stderr)
        return 1
    installed = say(env, N_("installed {packages}"), packages=" ".join(packages_for(missing)))
    print(f"qt_platform_check: {installed}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None, env: Mapping[str, str] = os.environ, platform: str = sys.platform,
         lookup: MissingLookup = missing_by_ldd, is_root: bool | None = None) -> int:
    parser = argparse.ArgumentParser(description=say(env, N_("Check (and with --install, as root, install) the "
                                                             "system libraries Qt's xcb platform plugin needs.")))
    parser.add_argument("--install", action="store_true",
                        help=say(env, N_("run apt-get install for what is missing (needs root; the consent flag)")))
    args = parser.parse_args(argv)
    plugin = xcb_plugin()
    if args.install:
        root = getattr(os, "geteuid", lambda: -1)() == 0 if is_root is None else is_root  # no euid on Windows
        return install_missing(env, platform, plugin, lookup, root)
    message = check(env, platform, plugin, lookup)
    if message is None:
        return 0
    print(message, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
