"""Order-health reports written on schedule, kept, listed in the console and sent to channels.

The server's scheduled job (`server.alerts.schedule`, on the one worker holding its lease) calls
`publish_due` for every warehouse: once a week has ended (Monday, in the server's time zone) the
weekly report of that week is written, once a month has ended the monthly one — each exactly once,
kept as a PDF under `DATA_DIR/reports/<warehouse>/` with a `health_report` row (size, SHA-256,
pages). A run that missed a period (the server was down) catches up with the last complete one,
not with every period it missed.

When `report_channels` in server.toml names alert channels, each new report is raised as an alert
to them through the alert deliveries (retries, and the console's Alerts list): e-mail attaches the
PDF, DingTalk, WeCom and webhooks post the console link to it.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from app.clock import Clock, iso
from app.documents.words import BILINGUAL_WORDS
from app.i18n import N_, Phrase
from server.alerts.channels import ATTACHMENT, Message
from server.alerts.store import raise_alert
from server.config import ServerConfig
from server.db import ServerDb
from server.health.report import SUBJECT, TITLES, Period, period, write_report

KINDS = ("weekly", "monthly")
SOURCE = "report"
REPORTS_DIR = "reports"
ANNOUNCED = N_("{report} of {warehouse} for {first_day} to {last_day}, {pages} pages:")


@dataclass(frozen=True)
class Published:
    id: int
    warehouse: str
    kind: str
    period: str
    first_day: str
    last_day: str
    file: str  # relative to the server data dir
    bytes: int
    sha256: str
    pages: int
    created_at: str
    sent_to: str


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "warehouse"


def report_path(config: ServerConfig, relative: str) -> Path:
    return Path(config.data_dir).resolve() / relative


def publish_due(sdb: ServerDb, config: ServerConfig, clock: Clock, warehouse: str) -> list[Published]:
    """Write the reports of `warehouse` whose period has ended and that are not written yet."""
    today = clock.now().astimezone(config.zone).date()
    made = []
    for kind in KINDS:
        span = period(kind, None, today)
        if find(sdb, warehouse, kind, span.label) is None:
            made.append(publish(sdb, config, clock, warehouse, span))
    return made


def publish(sdb: ServerDb, config: ServerConfig, clock: Clock, warehouse: str, span: Period) -> Published:
    """Write one report, record it, and raise it to the report channels."""
    relative = f"{REPORTS_DIR}/{_safe(warehouse)}/{span.kind}-{span.label}.pdf"
    target = report_path(config, relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        pages = write_report(sdb, warehouse, span, partial, config.zone)
        data = partial.read_bytes()
        os.replace(partial, target)  # a report file appears whole or not at all
    finally:
        partial.unlink(missing_ok=True)
    now = iso(clock.now())
    digest = hashlib.sha256(data).hexdigest()
    with sdb.connection(), sdb.write():
        sdb.execute('INSERT INTO "health_report" ("warehouse", "kind", "period", "first_day", "last_day", "file", '
                    '"bytes", "sha256", "pages", "created_at") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) '
                    'ON CONFLICT DO NOTHING', (warehouse, span.kind, span.label, span.first.isoformat(),
                                               span.last.isoformat(), relative, len(data), digest, pages, now))
        row = _select(sdb, 'WHERE "warehouse" = ? AND "kind" = ? AND "period" = ?', (warehouse, span.kind, span.label))
        assert row is not None
        targets = config.report_targets
        if targets and not row.sent_to:
            link = f"{config.public_url or 'http://127.0.0.1:8700'}/console/health/reports/{row.id}"
            raise_alert(sdb, clock, targets, key=f"report|{warehouse}|{span.kind}|{span.label}", warehouse=warehouse,
                        source=SOURCE, value=1.0, threshold=0.0, message=message(row, link, target), link=link)
            sdb.execute('UPDATE "health_report" SET "sent_to" = ? WHERE "id" = ?',
                        (", ".join(c.name for c in targets), row.id))
    published = find(sdb, warehouse, span.kind, span.label)
    assert published is not None
    return published


def message(report: Published, link: str, path: Path) -> Message:
    title = Phrase(TITLES[report.kind])
    words = Phrase(SUBJECT, {"warehouse": report.warehouse, "report": title, "period": report.period})
    announced = Phrase(ANNOUNCED, {"report": title, "warehouse": report.warehouse, "first_day": report.first_day,
                                   "last_day": report.last_day, "pages": report.pages})
    said = BILINGUAL_WORDS(announced, sep="\n\n")  # Chinese then English: one text for every reader
    return Message(
        subject=BILINGUAL_WORDS(words, sep=" / "), words=words, text=f"{said}\n\n{link}",
        data={"source": SOURCE, "warehouse": report.warehouse, "kind": report.kind, "period": report.period,
              "report_id": report.id, "sha256": report.sha256, ATTACHMENT: str(path)})


_COLUMNS = ('"id", "warehouse", "kind", "period", "first_day", "last_day", "file", "bytes", "sha256", "pages", '
            '"created_at", "sent_to"')


def _select(sdb: ServerDb, where: str, params: tuple[object, ...]) -> Published | None:
    row = sdb.execute(f'SELECT {_COLUMNS} FROM "health_report" {where}', params).fetchone()
    return None if row is None else _published(row)


def _published(row: tuple[object, ...]) -> Published:
    return Published(int(str(row[0])), str(row[1]), str(row[2]), str(row[3]), str(row[4]), str(row[5]), str(row[6]),
                     int(str(row[7])), str(row[8]), int(str(row[9])), str(row[10]), str(row[11]))


def find(sdb: ServerDb, warehouse: str, kind: str, label: str) -> Published | None:
    with sdb.connection():
        return _select(sdb, 'WHERE "warehouse" = ? AND "kind" = ? AND "period" = ?', (warehouse, kind, label))


def get(sdb: ServerDb, report_id: int, warehouses: tuple[str, ...]) -> Published | None:
    """A report of one of `warehouses`, else None (another warehouse's report is not found)."""
    with sdb.connection():
        found = _select(sdb, 'WHERE "id" = ?', (report_id,))
    return found if found is not None and found.warehouse in warehouses else None


def listed(sdb: ServerDb, warehouse: str, limit: int = 24) -> list[Published]:
    """The warehouse's reports, newest period first."""
    with sdb.connection():
        rows = sdb.execute(f'SELECT {_COLUMNS} FROM "health_report" WHERE "warehouse" = ? '
                           'ORDER BY "last_day" DESC, "kind" DESC LIMIT ?', (warehouse, limit)).fetchall()
    return [_published(r) for r in rows]


def read_pdf(config: ServerConfig, report: Published) -> bytes | None:
    """The report's bytes, or None when the file is gone or no longer matches its recorded SHA-256."""
    try:
        data = report_path(config, report.file).read_bytes()
    except OSError:
        return None
    return data if hashlib.sha256(data).hexdigest() == report.sha256 else None
