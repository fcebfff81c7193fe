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

The message is words decided now and worded when shown (docs/i18n.md): an error is raised with a
msgid marked `N_` and its values (`InputError(N_("no order {order}"), order=oid)`) or a `Phrase`.
`str(err)` is its English line, for logs and the JSON a server answers with; the reporter words
it in the CLI's language (`app.i18n.environment_language`: the locale of the environment).
"""

from __future__ import annotations

import errno
import logging
import sys
from collections.abc import Callable
from enum import IntEnum
from pathlib import Path
from typing import Any, ClassVar, TextIO

from app.i18n import ENGLISH, N_, Phrase, Words, environment_language, localize, render

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
    """A failure to tell the person in one line; `exit_code` is what the command exits with.

    `message` is a msgid filled from `values`, or words worded later (a `Phrase`). A string that
    no catalog holds (a line not yet moved into the catalog, a library's own text) is shown as it is."""

    exit_code: ClassVar[int] = ExitCode.FAILED

    def __init__(self, message: str | Words = "", /, **values: Any) -> None:
        self.words: Words = message if isinstance(message, Words) else Phrase(message, values)
        super().__init__(self.words.plain())

    @property
    def user_message(self) -> str:
        """The English line (logs, a server's JSON answer)."""
        return self.text(ENGLISH)

    def text(self, lang: str) -> str:
        """The one line in `lang`."""
        return one_line(self.words.text(lang)) or type(self).__name__


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


# The C library's words for the errors a path given by a person meets (strerror is English under
# Python, whose messages locale stays C); any other errno keeps strerror's text.
OS_ERRORS = {
    errno.ENOENT: N_("No such file or directory"),
    errno.EACCES: N_("Permission denied"),
    errno.EPERM: N_("Operation not permitted"),
    errno.EISDIR: N_("Is a directory"),
    errno.ENOTDIR: N_("Not a directory"),
    errno.EEXIST: N_("File exists"),
    errno.ENOSPC: N_("No space left on device"),
    errno.EROFS: N_("Read-only file system"),
    errno.ENAMETOOLONG: N_("File name too long"),
    # and a device's link: a printer's socket or port (drivers/printers)
    errno.ECONNREFUSED: N_("Connection refused"),
    errno.ECONNRESET: N_("Connection reset by peer"),
    errno.ETIMEDOUT: N_("Connection timed out"),
    errno.EHOSTUNREACH: N_("No route to host"),
    errno.ENETUNREACH: N_("Network is unreachable"),
    errno.EPIPE: N_("Broken pipe"),
    errno.EBUSY: N_("Device or resource busy"),
    errno.ENODEV: N_("No such device"),
    errno.EIO: N_("Input/output error"),
}
TIMED_OUT = N_("timed out")  # a socket's timeout, which has no errno


def words_of(exc: BaseException) -> Words | str:
    """An exception's message as words for another message: a PackBenchError's, or the Phrase a
    ValueError was raised with (a parser's or a validator's `ValueError(Phrase(…))`), else its text."""
    if isinstance(exc, PackBenchError):
        return exc.words
    first = exc.args[0] if exc.args else None
    return first if isinstance(first, Words) else str(exc)


def os_problem(exc: OSError) -> Words | str:
    """What the system said of a path, as words for a message (its own text for a rare errno)."""
    if exc.errno in OS_ERRORS:
        return Phrase(OS_ERRORS[exc.errno])
    return Phrase(TIMED_OUT) if isinstance(exc, TimeoutError) else exc.strerror or str(exc)


def os_words(exc: OSError) -> Words | str:
    """An OSError as words for a person: the path it names, if any, and what the system said of it."""
    problem = os_problem(exc)
    return Phrase(N_("{path}: {problem}"), {"path": exc.filename, "problem": problem}) if exc.filename else problem


def describe(exc: BaseException, lang: str = ENGLISH) -> tuple[str, int, bool]:
    """The one line a person is shown for `exc` in `lang`, its exit code, and whether it was
    expected (False: a bug, whose traceback belongs in the log)."""
    if isinstance(exc, KeyboardInterrupt):
        return render(N_("interrupted"), lang, {}), ExitCode.INTERRUPTED, True
    if isinstance(exc, PackBenchError):
        return exc.text(lang), exc.exit_code, True
    if isinstance(exc, OSError):  # a path the person gave: missing, unreadable, a folder, disk full
        return one_line(str(localize(os_words(exc), lang))), ExitCode.FAILED, True
    if type(exc) is ValueError:
        # Checks not yet moved onto the root raise plain ValueErrors for bad values: shown as input
        # errors; the traceback is still logged in case it was a bug.
        return one_line(str(localize(words_of(exc), lang))) or render(N_("bad value"), lang, {}), ExitCode.INPUT, False
    unexpected = render(N_("unexpected error {kind}: {detail}"), lang, {"kind": type(exc).__name__, "detail": exc})
    return one_line(unexpected), ExitCode.FAILED, False


def report(exc: BaseException, data_dir: Path | None = None, stream: TextIO | None = None,
           show: Callable[[str], object] | None = None, lang: str | None = None) -> int:
    """Print `packbench: <message>` on one line (and `show` it, for a dialog); return the exit code.
    The line is in `lang`, by default the environment's (`environment_language`)."""
    lang = lang or environment_language()
    message, code, expected = describe(exc, lang)
    if not expected:
        try:
            where = render(N_("details in {path}"), lang, {"path": _log_traceback(exc, data_dir)})
        except OSError as log_failure:
            where = render(N_("no log written: {problem}"), lang, {"problem": log_failure})
        if code != ExitCode.INPUT:
            message = render(N_("{message} ({where})"), lang, {"message": message, "where": where})
    print(f"packbench: {message}", file=stream or sys.stderr, flush=True)
    if show is not None:
        show(message)
    return int(code)
