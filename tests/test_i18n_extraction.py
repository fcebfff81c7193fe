"""Every message id the sources translate is one Babel's extractor can see (docs/i18n.md).

On Python 3.11 Babel does not look inside f-strings, nor at a marked id nested in another
translation call's arguments: such an id never reaches the catalog, so its text would silently stay
English on a Chinese page, and tests/test_i18n.py (which checks what was extracted) cannot notice.
"""

from __future__ import annotations

import ast
import io
from pathlib import Path

from babel.messages.frontend import parse_mapping_cfg
from babel.util import pathmatch

ROOT = Path(__file__).resolve().parents[1]
CALLS = {"_", "N_", "C_", "gettext", "ngettext"}


def _extracted_python_files() -> list[Path]:
    method_map, _ = parse_mapping_cfg(io.StringIO((ROOT / "babel.cfg").read_text(encoding="utf-8")))
    patterns = [pattern for pattern, method in method_map if method == "python"]
    return sorted(path for path in ROOT.rglob("*.py") if ".venv" not in path.parts
                  and any(pathmatch(pattern, path.relative_to(ROOT).as_posix()) for pattern in patterns))


def _is_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in CALLS


def _marks_an_id(node: ast.AST) -> bool:
    """A translation call with a literal id (`_(name)` of a variable marks nothing: its id is marked elsewhere)."""
    return _is_call(node) and bool(node.args) and isinstance(node.args[0], ast.Constant)  # type: ignore[attr-defined]


def hidden_calls(source: str) -> list[str]:
    """Translation calls the extractor would not see: inside an f-string, or inside another call's arguments."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr) or _is_call(node):
            inner = [*node.values] if isinstance(node, ast.JoinedStr) else [*node.args, *node.keywords]  # type: ignore[attr-defined]
            for part in inner:
                found += [f"line {sub.lineno}: {ast.unparse(sub)}" for sub in ast.walk(part) if _marks_an_id(sub)]
    return found


def test_the_extractor_sees_every_translated_id() -> None:
    files = _extracted_python_files()
    assert any(path.match("app/evidence/sections/*.py") for path in files)  # the mapping reaches the PDFs
    hidden = [f"{path.relative_to(ROOT)} {call}" for path in files for call in hidden_calls(path.read_text("utf-8"))]
    assert not hidden, "move these calls out of the f-string / enclosing call:\n" + "\n".join(hidden)


def test_the_check_finds_what_babel_misses() -> None:
    assert hidden_calls('x = f"{_(\'Total\')}: {n}"') == ["line 1: _('Total')"]
    assert hidden_calls('x = _(Phrase(N_("Verdict: {v}")), sep="\\n")') == ["line 1: N_('Verdict: {v}')"]
    assert hidden_calls('total = _("Total")\nx = f"{total}: {n}"') == []
    assert hidden_calls('x = f"{_(label)}"') == []  # a variable: its id is marked where it is written


def unmarked_messages(source: str) -> list[str]:
    """Errors raised with a template and its values (`InputError("no order {order!r}", order=…)`) whose
    template is not marked `N_`: the extractor never sees it, so it would stay English."""
    found = []
    for node in ast.walk(ast.parse(source)):
        call = node.exc if isinstance(node, ast.Raise) else None
        if isinstance(call, ast.Call) and call.keywords and call.args and isinstance(call.args[-1], ast.Constant) \
                and isinstance(call.args[-1].value, str) and "{" in call.args[-1].value:
            found.append(f"line {node.lineno}: {call.args[-1].value!r}")
    return found


def test_every_error_template_is_marked_and_every_marking_file_is_extracted() -> None:
    extracted = set(_extracted_python_files())
    sources = [path for folder in ("app", "server", "sync", "drivers", "protocol", "ui") for path in
               (ROOT / folder).rglob("*.py")] + [ROOT / name for name in ("main.py", "wiring.py", "doctor.py")]
    unmarked = [f"{path.relative_to(ROOT)} {hit}" for path in sources
                for hit in unmarked_messages(path.read_text("utf-8"))]
    assert not unmarked, "mark these templates with N_():\n" + "\n".join(unmarked)
    outside = [str(path.relative_to(ROOT)) for path in sources if path not in extracted
               and any(_marks_an_id(node) for node in ast.walk(ast.parse(path.read_text("utf-8"))))]
    assert not outside, f"add these files to babel.cfg, or their ids never reach the catalog: {outside}"


def test_the_check_finds_an_unmarked_template() -> None:
    assert unmarked_messages('raise InputError("no order {order!r}", order=o)') == ["line 1: 'no order {order!r}'"]
    assert unmarked_messages('raise InputError(N_("no order {order!r}"), order=o)') == []
    assert unmarked_messages('raise InputError(f"no order {o!r}")') == []  # not converted yet: shown as it is
