"""Per-operator language: after a badge login the bench speaks that operator's language, after the
logout the station's again; event codes never change with the language; the CLI refuses a bad value
in one line (exit 2); the audit chain and its row digests still verify after a change."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.barcodes import Command, command_barcode
from app.clock import FakeClock
from app.errors import ExitCode
from app.operators import OperatorError, add_operator, set_language
from app.pack.flow import FlowConfig, PackFlow
from app.store import Store
from app.store.models import AuditEntry, Operator
from main import main
from tests.helpers import scan
from tests.test_cli import run_pack
from tests.test_errors import one_line, packbench
from tests.test_pack_exit_codes import WHOLE_ORDER

CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
PACKER_ZH, PACKER_EN = "B-1001", "B-1002"  # 王芳, Alex Chen (demo operators)
ORDER = "TB2026112500001"


def test_outcomes_follow_the_logged_in_operator_then_the_station(demo_store: Store, clock: FakeClock) -> None:
    set_language(demo_store, clock, "Alex Chen", "en")
    flow = PackFlow(demo_store, clock, FlowConfig(station="T-1", language="zh_CN"))
    assert flow.language == "zh_CN"
    hello = scan(flow, PACKER_EN)
    assert hello.event == "login" and hello.language == "en" and hello.message == "Hello Alex Chen"
    opened = scan(flow, ORDER)
    assert opened.language == "en" and opened.message == f"Order {ORDER}: scan 3 item(s)"
    assert scan(flow, command_barcode(Command.ABORT)).message == f"Order {ORDER} aborted"
    bye = scan(flow, PACKER_EN)  # the same badge again logs out: the station's language from here on
    assert bye.event == "logout" and bye.language == "zh_CN" and bye.message == "Alex Chen 已退出"
    assert scan(flow, PACKER_ZH).message == "王芳，你好"  # no language of her own: the station's
    assert flow.language == "zh_CN"


def words(line: dict[str, object]) -> str:
    """A JSON line's message without the product's name (a name is in whatever language it was given)."""
    return str(line["message"]).replace(str(line.get("name", "")), "") if line.get("name") else str(line["message"])


@pytest.fixture
def two_stations(tmp_path: Path) -> tuple[Path, Path]:
    """Two seeded Chinese stations; at the second the headless line's operator works in English."""
    dirs = (tmp_path / "zh", tmp_path / "en")
    for d in dirs:
        assert main(["--data-dir", str(d), "demo", "seed"]) == 0
    assert main(["--data-dir", str(dirs[1]), "operator", "set-language", "line-1", "en"]) == 0
    return dirs


def test_headless_messages_follow_the_operator_and_events_do_not(two_stations: tuple[Path, Path]) -> None:
    runs = [run_pack(d, WHOLE_ORDER, weights="0.712kg\n") for d in two_stations]
    (zh_code, zh_out, _), (en_code, en_out, _) = runs
    assert zh_code == en_code == ExitCode.OK
    assert [o["event"] for o in zh_out] == [o["event"] for o in en_out]
    assert [o["event"] for o in en_out][:2] == ["login", "order_opened"]
    assert all(CJK.search(words(o)) for o in zh_out if o["message"])
    assert not any(CJK.search(words(o)) for o in en_out), [o["message"] for o in en_out]
    assert en_out[0]["message"] == "Hello line-1" and zh_out[0]["message"] == "line-1，你好"
    queued = next(o for o in en_out if o["event"] == "label_queued")
    assert queued["waybill"] == "pool" and "(local number pool)" in str(queued["message"])  # the code stays a code


@pytest.mark.parametrize("argv, says", [
    (["operator", "add", "Bo", "--role", "packer", "--badge", "B-3101", "--language", "fr"],
     "language must be one of zh_CN, en (or station), not 'fr'"),
    (["operator", "add", "Bo", "--role", "packer", "--badge", "B-3101", "--language", "EN"],
     "language must be one of zh_CN, en (or station), not 'EN'"),
    (["operator", "set-language", "王芳", "chinese"], "language must be one of zh_CN, en (or station), not 'chinese'"),
    (["operator", "set-language", "王芳", " "], "give a language: zh_CN, en or station"),
    # `--language "$X"` with X unset is no choice of the station's language: said, not taken for one.
    (["operator", "add", "Bo", "--role", "packer", "--badge", "B-3101", "--language", ""],
     "give a language: zh_CN, en or station"),
    (["operator", "set-language", "nobody", "en"], "no operator named or badged 'nobody'"),
])
def test_a_bad_language_or_operator_is_one_line_and_exit_2(tmp_path: Path, argv: list[str], says: str) -> None:
    data = tmp_path / "station"
    assert main(["--data-dir", str(data), "demo", "seed"]) == 0
    proc = packbench("--data-dir", data, *argv)
    assert proc.returncode == ExitCode.INPUT
    assert says in one_line(proc)


def test_language_is_stored_audited_and_the_chain_still_verifies(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "station"
    args = ["--data-dir", str(data)]
    assert main([*args, "operator", "add", "Bo", "--role", "packer", "--badge", "B-3101", "--language", "en"]) == 0
    assert "language en" in capsys.readouterr().out
    assert main([*args, "operator", "set-language", "B-3101", "zh_CN"]) == 0  # by badge
    assert main([*args, "operator", "set-language", "Bo", "station"]) == 0  # back to the station's
    assert main([*args, "operator", "list"]) == 0
    assert "Bo\tpacker\tB-3101\tactive\tstation" in capsys.readouterr().out
    assert main([*args, "audit", "verify"]) == 0  # row digests of the operator row still match


def test_add_operator_keeps_the_language_and_records_it(store: Store, clock: FakeClock) -> None:
    op = add_operator(store, clock, "Bo", "packer", "B-3101", language="en")
    assert Operator.get_by_id(op.id).language == "en"
    facts = [e.kind for e in AuditEntry.select().order_by(AuditEntry.seq)]
    assert "operator.added" in facts
    set_language(store, clock, "Bo", "station")
    assert Operator.get_by_id(op.id).language == ""
    assert [e.kind for e in AuditEntry.select().order_by(AuditEntry.seq)][-1] == "operator.language"
    with pytest.raises(OperatorError):
        add_operator(store, clock, "Cy", "packer", "B-3102", language="de")
    assert Operator.get_or_none(Operator.name == "Cy") is None
