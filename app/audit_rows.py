"""Verifying the domain rows the audit entries cover (store migration 6 on).

Each entry lists the covered rows its transaction wrote with a digest of each row's image. The last
entry that wrote a row holds what the row must still be: verification recomputes the image of every
such row from the file and compares. An edited row, a deleted row, a row an entry deleted that is
back, and a row that no entry wrote (inserted outside PackBench after the migration) are problems,
each named by table and row id. Rows and entries from before the migration are counted, not judged.

A verdict is words (`app.i18n.Phrase`, docs/i18n.md): the evidence pack words it in its language,
the console in the user's; `str()` of one is its English, for the CLI and logs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from app.audit import ChainReport, verify_chain
from app.i18n import N_, Phrase
from app.store import row_capture
from app.store.migration_0006 import COVERED_COLUMNS, MIGRATION_6_VERSION, last_uncovered_id_key
from app.store.models import Meta, database_proxy

ROW_PROBLEM = N_("{table} row {row}: {what}")
BEFORE_MIGRATION = Phrase(N_("not covering rows (before migration {version})"), {"version": MIGRATION_6_VERSION})


@dataclass(frozen=True)
class RowProblem:
    table: str  # the table's name, a code
    row_id: int
    what: Phrase
    seq: int | None = None  # the entry that last wrote the row

    @property
    def words(self) -> Phrase:
        return Phrase(ROW_PROBLEM, {"table": self.table, "row": self.row_id, "what": self.what})

    def line(self) -> str:
        return self.words.plain()


@dataclass(frozen=True)
class RowCheck:
    """What verification says about one row: `ok`, or why not."""

    table: str
    row_id: int
    state: str  # verified | edited | deleted | uncovered | before_migration
    seq: int | None = None

    @property
    def ok(self) -> bool:
        return self.state in ("verified", "before_migration")


@dataclass
class RowsReport:
    checked: int = 0  # covered rows compared with their entry
    before_migration: int = 0  # rows older than migration 6, which no entry covers
    problems: list[RowProblem] = field(default_factory=list)
    uncovered_skipped: bool = False  # the chain is broken: rows past the break were not judged

    @property
    def ok(self) -> bool:
        return not self.problems


class _Coverage:
    """The last (entry, digest) of every covered row, as the good part of the chain says."""

    def __init__(self, only: set[tuple[str, int]] | None = None) -> None:
        self.only = only
        self.rows: dict[tuple[str, int], tuple[int, str]] = {}

    def __call__(self, seq: int, covers: str) -> None:
        for line in covers.split("\n"):
            table, rid, digest = line.split(" ")
            key = (table, int(rid))
            if self.only is None or key in self.only:
                self.rows[key] = (seq, digest)


def _watermark(table: str) -> int:
    row = Meta.get_or_none(Meta.key == last_uncovered_id_key(table))
    return int(row.value) if row else 0


def _judge(table: str, rid: int, image: str | None, expected: tuple[int, str] | None, watermark: int) -> RowCheck:
    if expected is None:
        if image is None:
            return RowCheck(table, rid, "missing")
        return RowCheck(table, rid, "before_migration" if rid <= watermark else "uncovered")
    seq, digest = expected
    if row_capture.row_digest(image) == digest:
        return RowCheck(table, rid, "verified", seq)
    if image is None:
        return RowCheck(table, rid, "deleted", seq)
    return RowCheck(table, rid, "reinserted" if digest == row_capture.DELETED else "edited", seq)


_WHAT = {
    "edited": N_("edited after audit entry {seq} wrote it"),
    "deleted": N_("deleted (audit entry {seq} wrote it)"),
    "reinserted": N_("present although audit entry {seq} deleted it"),
    "uncovered": N_("not written by any audit entry (inserted outside PackBench)"),
    "missing": N_("missing, and no audit entry wrote it"),
}


def _problem(check: RowCheck) -> RowProblem:
    return RowProblem(check.table, check.row_id, Phrase(_WHAT[check.state], {"seq": check.seq}), check.seq)


def verify_store() -> tuple[ChainReport, RowsReport]:
    """The chain, then every covered table against what the chain says its rows must be."""
    coverage = _Coverage()
    chain = verify_chain(coverage)
    report = RowsReport(uncovered_skipped=not chain.ok)
    by_table: dict[str, dict[int, tuple[int, str]]] = {table: {} for table in COVERED_COLUMNS}
    for (table, rid), expected in coverage.rows.items():
        by_table.setdefault(table, {})[rid] = expected
    for table in COVERED_COLUMNS:
        watermark = _watermark(table)
        pending = by_table[table]
        cursor = database_proxy.execute_sql(f'SELECT "id", {row_capture.image_sql(table)} FROM "{table}"')
        for rid, image in cursor:
            check = _judge(table, rid, image, pending.pop(rid, None), watermark)
            _count(report, check, chain.ok)
        for rid, expected in sorted(pending.items()):
            _count(report, _judge(table, rid, None, expected, watermark), chain.ok)
    return chain, report


def _count(report: RowsReport, check: RowCheck, judge_uncovered: bool) -> None:
    if check.state == "before_migration":
        report.before_migration += 1
    elif check.state == "uncovered" and not judge_uncovered:
        pass  # past a break in the chain, coverage is unknown
    else:
        report.checked += check.state != "uncovered"
        if not check.ok:
            report.problems.append(_problem(check))


def verify_rows(refs: Iterable[tuple[str, int]]) -> tuple[ChainReport, dict[tuple[str, int], RowCheck]]:
    """Verify exactly these rows (an evidence pack's): one chain walk, one read per table."""
    wanted = {(table, int(rid)) for table, rid in refs if table in COVERED_COLUMNS}
    coverage = _Coverage(wanted)
    chain = verify_chain(coverage)
    checks: dict[tuple[str, int], RowCheck] = {}
    for table in sorted({t for t, _ in wanted}):
        ids = sorted(rid for t, rid in wanted if t == table)
        watermark = _watermark(table)
        images: dict[int, str] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            images.update(database_proxy.execute_sql(
                f'SELECT "id", {row_capture.image_sql(table)} FROM "{table}" WHERE "id" IN ({marks})', chunk))
        for rid in ids:
            checks[(table, rid)] = _judge(table, rid, images.get(rid), coverage.rows.get((table, rid)), watermark)
    return chain, checks


def describe(check: RowCheck) -> Phrase:
    """One row's verdict in words, worded where it is read (an evidence pack)."""
    if check.state == "verified":
        return Phrase(N_("verified"))
    if check.state == "before_migration":
        return BEFORE_MIGRATION
    return _problem(check).what
