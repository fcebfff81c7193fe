"""The CLI's own lines follow the environment's locale, as gettext programs do (docs/i18n.md, "The CLI"):
Chinese under LANG=zh_CN.UTF-8, English under LC_ALL=C or no locale; the same exit code either way."""

from __future__ import annotations

import errno
import io

import pytest

from app.errors import ExitCode, InputError, report
from app.i18n import N_, Phrase, environment_language


@pytest.mark.parametrize(("env", "expected"), [
    ({}, "en"),
    ({"LANG": "zh_CN.UTF-8"}, "zh_CN"),
    ({"LANG": "zh_TW.Big5"}, "zh_CN"),
    ({"LANG": "en_US.UTF-8"}, "en"),
    ({"LANG": "de_DE@euro"}, "en"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({"LANG": "POSIX"}, "en"),
    ({"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}, "en"),  # a script or service: stable English
    ({"LC_ALL": "", "LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh_CN"),  # empty is unset
    ({"LC_MESSAGES": "C", "LANG": "zh_CN.UTF-8"}, "en"),
    ({"LC_ALL": "zh_CN.UTF-8", "LC_MESSAGES": "C"}, "zh_CN"),
    ({"LANGUAGE": "zh_CN:en", "LANG": "en_US.UTF-8"}, "zh_CN"),  # LANGUAGE first…
    ({"LANGUAGE": "fr:en", "LANG": "zh_CN.UTF-8"}, "en"),  # …its first entry we have a catalog for
    ({"LANGUAGE": "fr", "LANG": "zh_CN.UTF-8"}, "en"),  # none: the msgids, as gettext shows them
    ({"LANGUAGE": "zh_CN", "LC_ALL": "C"}, "en"),  # …but never under the C locale
    ({"LANGUAGE": "zh_CN"}, "en"),  # no locale set is the C locale
])
def test_the_language_is_read_as_gettext_reads_it(env: dict[str, str], expected: str) -> None:
    assert environment_language(env) == expected


def set_locale(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    """The process's locale variables are `env` only."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_the_process_environment_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    set_locale(monkeypatch, LANG="zh_CN.UTF-8")
    assert environment_language() == "zh_CN"
    set_locale(monkeypatch, LANG="zh_CN.UTF-8", LC_ALL="C")
    assert environment_language() == "en"


def _reported(exc: BaseException, lang: str | None = None) -> tuple[str, int]:
    stream = io.StringIO()
    code = report(exc, stream=stream, lang=lang)
    return stream.getvalue(), code


def test_the_reporter_words_an_error_in_the_environments_language(monkeypatch: pytest.MonkeyPatch) -> None:
    error = InputError(N_("{path}: the folder {folder} does not exist"), path="/missing/x.pdf", folder="/missing")
    assert str(error) == "/missing/x.pdf: the folder /missing does not exist"  # logs keep English
    set_locale(monkeypatch, LANG="zh_CN.UTF-8")
    assert _reported(error) == ("packbench: /missing/x.pdf：文件夹 /missing 不存在\n", ExitCode.INPUT)
    set_locale(monkeypatch, LANG="zh_CN.UTF-8", LC_ALL="C")
    assert _reported(error) == ("packbench: /missing/x.pdf: the folder /missing does not exist\n", ExitCode.INPUT)


def test_ctrl_c_and_a_path_the_system_refused_are_worded_too() -> None:
    assert _reported(KeyboardInterrupt(), "zh_CN") == ("packbench: 已中断\n", ExitCode.INTERRUPTED)
    assert _reported(KeyboardInterrupt(), "en") == ("packbench: interrupted\n", ExitCode.INTERRUPTED)
    missing = FileNotFoundError(errno.ENOENT, "No such file or directory", "/x/y.csv")
    assert _reported(missing, "zh_CN")[0] == "packbench: /x/y.csv：没有那个文件或目录\n"
    odd = OSError(errno.EXDEV, "Invalid cross-device link", "/x")  # not in our table: the system's words
    assert _reported(odd, "zh_CN")[0] == "packbench: /x：Invalid cross-device link\n"


def test_a_phrase_and_a_line_not_in_the_catalog() -> None:
    assert InputError(Phrase(N_("interrupted"))).text("zh_CN") == "已中断"
    assert InputError("a line no catalog holds {x}").text("zh_CN") == "a line no catalog holds {x}"
