"""Every `docs/architecture.md §N` the code, tests and docs cite names a section that exists, and the
old references to a design document outside the repository do not come back."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE = ROOT / "docs" / "architecture.md"
SKIPPED_DIRS = {".venv", ".git", "__pycache__", "node_modules", "dist", "build", "out", ".mypy_cache",
                ".ruff_cache", ".pytest_cache"}
TEXT_SUFFIXES = {".py", ".md", ".toml", ".html", ".txt", ".cfg", ".iss", ".spec", ".po", ".sh", ".ini"}

HEADING = re.compile(r"^#{2,4} §(\d+(?:\.\d+)*) \S", re.MULTILINE)
# "architecture.md §3.3" and the sections listed after it: "architecture.md §3.3, §13"
REFERENCE = re.compile(r"architecture\.md ((?:§\d+(?:\.\d+)*)(?:(?:, | and )§\d+(?:\.\d+)*)*)")
SECTION = re.compile(r"§(\d+(?:\.\d+)*)")
OLD_DESIGN = "design " + "§"  # spelled apart so this file does not match itself


def sections() -> list[str]:
    return HEADING.findall(ARCHITECTURE.read_text(encoding="utf-8"))


def project_files() -> list[Path]:
    found = []
    for path in ROOT.rglob("*"):
        if any(part in SKIPPED_DIRS for part in path.relative_to(ROOT).parts):
            continue
        if path.is_file() and (path.suffix in TEXT_SUFFIXES or path.name == "Makefile"):
            found.append(path)
    return found


def references(text: str) -> list[str]:
    return [number for match in REFERENCE.finditer(text) for number in SECTION.findall(match.group(1))]


def test_sections_are_numbered_once_and_in_order() -> None:
    numbers = sections()
    assert len(numbers) == len(set(numbers)), "a section number is used twice"
    keys = [tuple(int(part) for part in number.split(".")) for number in numbers]
    assert keys == sorted(keys), "sections are out of order"
    for key in keys:  # §3.4 needs §3: a sub-section never hangs off a section that is not there
        assert key[:-1] in set(keys) | {()}, f"§{'.'.join(map(str, key))} has no parent section"


def test_every_reference_names_a_section_that_exists() -> None:
    known = set(sections())
    missing = []
    cited = 0
    for path in project_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for number in references(text):
            cited += 1
            if number not in known:
                missing.append(f"{path.relative_to(ROOT)}: §{number}")
    assert not missing, "references to sections docs/architecture.md does not have:\n" + "\n".join(missing)
    assert cited > 50  # the scan found the code's references (a broken pattern would find none)


def test_no_reference_to_the_old_design_document() -> None:
    offenders = []
    for path in project_files():
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if OLD_DESIGN in line:
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "cite docs/architecture.md §N instead:\n" + "\n".join(offenders)


def test_the_reference_pattern_reads_lists_and_rejects_unknown_sections() -> None:
    assert references("see docs/architecture.md §3.3, §13 and more") == ["3.3", "13"]
    assert references("(docs/architecture.md §6.4, §6.5 and §9.4)") == ["6.4", "6.5", "9.4"]
    assert "99" not in set(sections())  # so a reference to §99 would be reported
