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
import traceback
from enum import IntEnum
from pathlib import Path
from typing import ClassVar, TextIO

log = logging.getLogger("packbench")

LOG_FILENAME = "packbench.log"


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


def log_file(data_dir: Path | None) -> Path:
    """Where tracebacks go: the data dir's log when the data dir exists, else the platform's log dir
    (never a folder the person named but that is not there)."""
    if data_dir is not None and Path(data_dir).is_dir():
        return Path(data_dir) / LOG_FILENAME
    import platformdirs

    return platformdirs.user_log_path("PackBench", "PackBench", ensure_exists=True) / LOG_FILENAME


def describe(exc: BaseException, data_dir: Path | None = None) -> tuple[str, int]:
    """The one line a person is shown for `exc`, and the exit code; a bug's traceback is logged."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", ExitCode.INTERRUPTED
    if isinstance(exc, PackBenchError):
        return exc.user_message, exc.exit_code
    if isinstance(exc, OSError):  # a path the person gave: missing, unreadable, a folder, disk full
        detail = exc.strerror or str(exc)
        where = f"{exc.filename}: " if exc.filename else ""
        return one_line(f"{where}{detail}"), ExitCode.FAILED
    path = log_file(data_dir)
    try:
        with path.open("a", encoding="utf-8") as f:
            f.write("".join(traceback.format_exception(exc)))
    except OSError:
        log.exception("could not write %s", path)
    return one_line(f"unexpected error {type(exc).__name__}: {exc} (details in {path})"), ExitCode.FAILED


def report(exc: BaseException, data_dir: Path | None = None, stream: TextIO | None = None) -> int:
    """Print `packbench: <message>` on one line and return the exit code."""
    message, code = describe(exc, data_dir)
    print(f"packbench: {message}", file=stream or sys.stderr, flush=True)
    return int(code)
