"""The CLI's own lines follow the environment's locale, as gettext programs do (docs/i18n.md, "The CLI"):
Chinese under LANG=zh_CN.UTF-8, English under LC_ALL=C or no locale; the same exit code either way."""

from __future__ import annotations

import errno
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.errors import ExitCode, InputError, describe, report
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


def test_a_cells_parse_error_that_escapes_is_still_worded() -> None:
    from app.importers.source import to_whole

    with pytest.raises(ValueError) as caught:
        to_whole("-3")
    assert str(caught.value) == "must not be negative: '-3'"
    assert describe(caught.value, "zh_CN") == ("不能为负数：'-3'", ExitCode.INPUT, False)  # traceback logged


def test_a_phrase_and_a_line_not_in_the_catalog() -> None:
    assert InputError(Phrase(N_("interrupted"))).text("zh_CN") == "已中断"
    assert InputError("a line no catalog holds {x}").text("zh_CN") == "a line no catalog holds {x}"


ROOT = Path(__file__).resolve().parents[1]
HAN = re.compile(r"[\u4e00-\u9fff]")


def packbench(locale: dict[str, str], *argv: str | Path) -> subprocess.CompletedProcess[str]:
    """`packbench ARGV` as a person runs it, under exactly the locale variables `locale`."""
    env = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")}
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, argv)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL, env={**env, **locale})


CHINESE = {"LANG": "zh_CN.UTF-8"}
SCRIPTED = {"LANG": "zh_CN.UTF-8", "LC_ALL": "C"}  # an administrator's locale, a service's override


def reported(proc: subprocess.CompletedProcess[str]) -> str:
    """The reporter's one line: the last on stderr, no traceback."""
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("packbench: ") and sum(x.startswith("packbench: ") for x in lines) == 1
    return lines[-1]


def both(*argv: str | Path) -> tuple[str, str, int]:
    """The line in Chinese and in English, and the exit code they share."""
    zh, en = packbench(CHINESE, *argv), packbench(SCRIPTED, *argv)
    assert zh.returncode == en.returncode != 0
    chinese, english = reported(zh), reported(en)
    assert HAN.search(chinese), chinese
    assert not HAN.search(english), english
    return chinese, english, zh.returncode


def test_a_bad_station_toml_is_one_line_in_the_locales_language(tmp_path: Path) -> None:
    (tmp_path / "station.toml").write_text('carriers = "SF"\n', "utf-8")
    chinese, english, code = both("pack", "--scans", "-", "--data-dir", tmp_path)
    assert code == ExitCode.INPUT
    assert chinese == f'packbench: {tmp_path / "station.toml"}：carriers 应为至少含 1 项的字符串列表，而不是 "SF"'
    assert english == f'packbench: {tmp_path / "station.toml"}: carriers must be a list of strings with at least 1 ' \
                      'item, not "SF"'


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from main import main

    data = tmp_path_factory.mktemp("language") / "station"
    assert main(["--data-dir", str(data), "demo", "seed"]) == 0
    return data


def in_both(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[str, str]:
    """`main(argv)` under LANG=zh_CN.UTF-8 and under LC_ALL=C: the reporter's line of each; one line, no
    traceback, the same exit code, Chinese words in one and none in the other."""
    from main import main

    lines, codes = [], []
    for locale in (CHINESE, SCRIPTED):
        set_locale(monkeypatch, **locale)
        codes.append(main([str(arg) for arg in argv]))
        err = capsys.readouterr().err
        assert "Traceback" not in err and err.count("packbench: ") == 1, err
        lines.append(err.strip().splitlines()[-1])
    assert codes[0] == codes[1] == ExitCode.INPUT
    assert HAN.search(lines[0]) and not HAN.search(lines[1]), lines
    return lines[0], lines[1]


def test_a_missing_import_file(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                               seeded: Path, tmp_path: Path) -> None:
    chinese, english = in_both(monkeypatch, capsys, "import-orders", tmp_path / "nope.csv", "--data-dir", seeded)
    assert chinese == "packbench: nope.csv：无法读取文件：没有那个文件或目录"
    assert english == "packbench: nope.csv: cannot read the file: No such file or directory"


def test_an_unknown_order(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], seeded: Path) -> None:
    chinese, english = in_both(monkeypatch, capsys, "order", "show", "NOPE-1", "--data-dir", seeded)
    assert chinese == "packbench: 本地库中没有订单 'NOPE-1'"
    assert english == "packbench: no order 'NOPE-1' in this store"


def test_an_unknown_import_format(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                  seeded: Path, tmp_path: Path) -> None:
    (tmp_path / "o.csv").write_text("order_id,sku\n1,2\n", "utf-8")
    chinese, english = in_both(monkeypatch, capsys, "import-orders", tmp_path / "o.csv", "--format", "shopfy",
                               "--data-dir", seeded)
    assert chinese.startswith("packbench: 未知格式 'shopfy'：请使用 canonical, ")
    assert english.startswith("packbench: unknown format 'shopfy': use one of canonical, ")


def test_a_bad_row_names_file_row_and_column_in_chinese(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str], seeded: Path,
                                                        tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("sku,name,weight_g\nA-1,,10\n", "utf-8")
    chinese, english = in_both(monkeypatch, capsys, "import-products", tmp_path / "p.csv", "--data-dir", seeded)
    assert chinese == "packbench: p.csv 第 2 行，'name' 列：name 为空"
    assert english == "packbench: p.csv row 2, column 'name': name is empty"


def test_ctrl_c_during_an_import(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                  seeded: Path, tmp_path: Path) -> None:
    """Ctrl-C while the import runs (tests/test_errors.py sends a real SIGINT to a real process)."""
    import app.importers

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(app.importers, "import_orders", interrupted)
    (tmp_path / "o.csv").write_text("order_id,sku\n1,2\n", "utf-8")
    from main import main

    for locale, line in ((CHINESE, "packbench: 已中断"), (SCRIPTED, "packbench: interrupted")):
        set_locale(monkeypatch, **locale)
        assert main(["import-orders", str(tmp_path / "o.csv"), "--data-dir", str(seeded)]) == ExitCode.INTERRUPTED
        err = capsys.readouterr().err
        assert "Traceback" not in err and err.strip() == line


def test_help_is_in_the_locales_language(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from main import main

    shown = {}
    for name, locale in (("zh", CHINESE), ("en", SCRIPTED)):
        set_locale(monkeypatch, **locale)
        with pytest.raises(SystemExit) as done:
            main(["import-orders", "--help"])
        assert done.value.code == 0
        shown[name] = capsys.readouterr().out
    assert "导入订单导出文件（全部行或都不导入）" in shown["zh"] and "--format FORMAT" in shown["zh"]
    assert "import an order export (all rows or none)" in shown["en"] and "导入" not in shown["en"]


def test_operator_list_words_the_state_and_keeps_the_codes(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str], seeded: Path) -> None:
    from main import main

    rows = {}
    for name, locale in (("zh", CHINESE), ("C", SCRIPTED)):
        set_locale(monkeypatch, **locale)
        assert main(["--data-dir", str(seeded), "operator", "list"]) == 0
        rows[name] = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    wang = {"zh": next(r for r in rows["zh"] if r[0] == "王芳"), "C": next(r for r in rows["C"] if r[0] == "王芳")}
    assert wang["zh"][3] == "正常" and wang["C"][3] == "active"
    assert wang["zh"][1] == wang["C"][1] == "packer"  # role and language stay the codes `operator add` takes


def test_the_headless_lines_device_states_in_the_locales_language(tmp_path: Path) -> None:
    # They were English codes and a driver's raw detail ("scanner: disconnected end of input"), and two
    # devices' threads could write into one line ("scanner: connected filescale: connected sim").
    scans = tmp_path / "scans.txt"
    scans.write_text("B-1001\n", "utf-8")
    root = Path(__file__).resolve().parents[1]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}, **CHINESE}

    def packbench(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(root / "main.py"), "--data-dir", str(tmp_path / "bench"), *argv],
                              cwd=root, env=env, capture_output=True, text=True, timeout=60)

    assert packbench("demo", "seed").returncode == 0
    done = packbench("pack", "--scans", str(scans))
    assert done.returncode == 0, done.stderr
    assert sorted(done.stderr.splitlines()) == ["扫描枪：已连接（file）", "扫描枪：未连接（输入已结束）",
                                                "电子秤：已连接（sim）"]
