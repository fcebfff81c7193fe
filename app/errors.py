"""One error root and one reporter (docs/architecture.md §8).

Every failure a person or a remote client can cause is a `PackBenchError`: it carries the process
exit code and a one-line message for the person. Families share a code:

    1  FAILED       anything else that stopped the command (store, network, server)
    2  INPUT        something given was unusable: an option, a file, a config value, an unknown id
    3  INTEGRITY    the audit chain (or an evidence pack's) is broken
    4  FORGED       a passport failed its signature check
    5  REFUSED      `handover` refused parcels (intercepted or unknown)
    6  UNFINISHED   `pack` left an order it touched unlabelled or unprinted
    7  DEVICE       a printer, scanner, scale or camera could not be used
    130 INTERRUPTED Ctrl-C

`report(exc)` is what every command's failure goes through, the server's and the GUI's start-up
too: `packbench: <message>` on one line on stderr and the exit code. Anything that is not a
PackBenchError is a bug: its traceback goes to the log file, the person still sees one line.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from enum import IntEnum
from pathlib import Path
from typing import ClassVar, TextIO

# Bugs go to the log file only: a handler of its own, not propagated, so no console handler (the
# server's) prints the traceback the person must not see.
crash_log = logging.getLogger("packbench.unexpected")
crash_log.propagate = False


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    INPUT = 2
    INTEGRITY = 3
    FORGED = 4
    REFUSED = 5
    UNFINISHED = 6
    DEVICE = 7
    INTERRUPTED = 130


class PackBenchError(Exception):
    """A failure to tell the person in one line; `exit_code` is what the command exits with."""

    exit_code: ClassVar[int] = ExitCode.FAILED

    @property
    def user_message(self) -> str:
        return one_line(str(self)) or type(self).__name__


class InputError(PackBenchError):
    """Something the person gave cannot be used: an option, a file's content, a config value."""

    exit_code = ExitCode.INPUT


class BadValue(InputError, ValueError):
    """A value given is out of range or malformed; still a ValueError for callers that catch those."""


class NotFoundError(InputError):
    """An id or name the person gave names nothing."""


class IntegrityError(PackBenchError):
    exit_code = ExitCode.INTEGRITY


class ForgedError(PackBenchError):
    exit_code = ExitCode.FORGED


class DeviceError(PackBenchError):
    exit_code = ExitCode.DEVICE


def one_line(text: str) -> str:
    return "; ".join(part.strip() for part in text.strip().splitlines() if part.strip())


def log_folder(data_dir: Path | None) -> Path:
    """Where tracebacks go: the data dir's packbench.log when the data dir exists, else the platform's
    log dir (never a folder the person named but that is not there)."""
    if data_dir is not None and Path(data_dir).is_dir():
        return Path(data_dir)
    import platformdirs

    return platformdirs.user_log_path("PackBench", "PackBench", ensure_exists=True)


def _log_traceback(exc: BaseException, data_dir: Path | None) -> Path:
    from app.logfile import LOG_FILENAME, file_handler

    folder = log_folder(data_dir)
    handler = file_handler(folder)
    crash_log.addHandler(handler)
    try:
        crash_log.error("unexpected error", exc_info=exc)
    finally:
        crash_log.removeHandler(handler)
        handler.close()
    return folder / LOG_FILENAME


def describe(exc: BaseException) -> tuple[str, int, bool]:
    """The one line a person is shown for `exc`, its exit code, and whether it was expected (False:
    a bug, whose traceback belongs in the log)."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", ExitCode.INTERRUPTED, True
    if isinstance(exc, PackBenchError):
        return exc.user_message, exc.exit_code, True
    if isinstance(exc, OSError):  # a path the person gave: missing, unreadable, a folder, disk full
        where = f"{exc.filename}: " if exc.filename else ""
        return one_line(f"{where}{exc.strerror or exc}"), ExitCode.FAILED, True
    if type(exc) is ValueError:
        # Checks not yet moved onto the root raise plain ValueErrors for bad values: shown as input
        # errors; the traceback is still logged in case it was a bug.
        return one_line(str(exc)) or "bad value", ExitCode.INPUT, False
    return one_line(f"unexpected error {type(exc).__name__}: {exc}"), ExitCode.FAILED, False


def report(exc: BaseException, data_dir: Path | None = None, stream: TextIO | None = None,
           show: Callable[[str], object] | None = None) -> int:
    """Print `packbench: <message>` on one line (and `show` it, for a dialog); return the exit code."""
    message, code, expected = describe(exc)
    if not expected:
        try:
            where = f"details in {_log_traceback(exc, data_dir)}"
        except OSError as log_failure:
            where = f"no log written: {log_failure}"
        if code != ExitCode.INPUT:
            message += f" ({where})"
    print(f"packbench: {message}", file=stream or sys.stderr, flush=True)
    if show is not None:
        show(message)
    return int(code)
