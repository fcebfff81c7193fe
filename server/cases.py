"""Exception cases of every station in one queue on the server, kept in step both ways (docs/architecture.md §11.3).

Station → server: a station's `exception.opened / bumped / acknowledged / resolved` events are projected into
`server_case` (keyed by station and the station's case id) by the event applier, in the batch's
transaction. A transition the server already has (or a later one) changes nothing, so the echo of a
console change coming back from the station is harmless.

Server → station: `transition` (the console's acknowledge / resolve) changes the row and gives it
the next position of the "case" stream; the owning station pulls its changed cases
(`server.pulls.cases_page`) and applies them through `app.cases.transition` with the console user
as actor — which records the fact on the station and pushes it back (see above).

Server-only rules (`run_server_rules`) raise cases no single station can see, with station_id "":
a parcel handed over whose carrier trail has been silent for `STALLED_HOURS` across all stations.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.cases import SUPERVISOR_CALL, TITLE_WORDS, case_title
from app.clock import Clock, iso
from app.errors import BadValue
from app.i18n import N_, Phrase
from app.store.states import CaseState
from app.stored_words import dump_words, load_words
from app.terms import CASE_STATES, named
from protocol import SupervisorCallOut
from server.db import ServerDb, take_positions
from server.models import ServerCase

log = logging.getLogger("server.cases")

STATES = tuple(CaseState)
ORDER: dict[str, int] = {state: index for index, state in enumerate(STATES)}
STALLED_HOURS = 48
STALLED_TAG = "tracking_stalled"
COLUMNS = ("id", "warehouse", "station_id", "station_case", "dedupe_key", "tag", "rule_id", "severity", "route",
           "order_id", "tracking_no", "title", "state", "opened_at", "updated_at", "acked_by", "acked_at",
           "resolved_by", "resolved_at", "note", "title_words")
MAX_WORDS = 4000  # characters of a title's phrase kept; a longer one is not a title's, and the text shows
STALLED_TITLE = N_("Tracking stalled {hours} h after handover: {tracking_no} (station {station})")


class CaseError(BadValue):
    """A refused change of a case: a msgid and its values, worded in the console user's language."""


@dataclass(frozen=True)
class Case:
    id: int
    warehouse: str
    station_id: str
    station_case: int | None
    dedupe_key: str
    tag: str
    rule_id: str
    severity: str
    route: str
    order_id: str | None
    tracking_no: str | None
    title: str
    state: str
    opened_at: str
    updated_at: str
    acked_by: str | None
    acked_at: str | None
    resolved_by: str | None
    resolved_at: str | None
    note: str
    title_words: str = ""

    def worded_title(self, lang: str) -> str:
        return title_of(self.title, self.title_words).text(lang)


def title_of(title: str, title_words: str) -> Phrase:
    """A server case's title to word in the reader's language (docs/i18n.md): from its words (the
    `title_words` column), else as the station stored it."""
    try:
        words = json.loads(title_words) if title_words else None
    except ValueError:
        words = None
    return case_title(title, words)


def _words(payload: dict[str, Any]) -> str:
    """The title's phrase of an exception.opened fact, as JSON to keep ('' if it has none we can read)."""
    words = payload.get(TITLE_WORDS)
    if load_words(words) is None:
        return ""
    text = json.dumps(words, ensure_ascii=False)
    return text if len(text) <= MAX_WORDS else ""


def _text(payload: dict[str, Any], key: str, limit: int = 200) -> str:
    value = payload.get(key)
    return str(value)[:limit] if value is not None else ""


# ----- station → server (a projection, inside the event applier's transaction) -----
def project_opened(station_id: str, warehouse: str, payload: dict[str, Any], at: str) -> None:
    case_id = payload.get("case")
    if not isinstance(case_id, int) or isinstance(case_id, bool):
        return
    if ServerCase.select().where((ServerCase.station_id == station_id) & (ServerCase.station_case == case_id)).exists():
        return
    ServerCase.create(warehouse=warehouse, station_id=station_id, station_case=case_id,
                      dedupe_key=_text(payload, "key", 500), tag=_text(payload, "tag"),
                      rule_id=_text(payload, "rule_id"), severity=_text(payload, "severity", 20) or "warning",
                      route=_text(payload, "route", 40), order_id=_text(payload, "order_id", 64) or None,
                      tracking_no=_text(payload, "tracking_no", 64) or None,
                      title=_text(payload, "title", 500) or _text(payload, "tag"), title_words=_words(payload),
                      state=CaseState.OPEN, opened_at=at, updated_at=at)


def project_bumped(station_id: str, payload: dict[str, Any], at: str) -> None:
    """A supervisor called again on a live call (`app.cases.call_supervisor`): the case moves up in time."""
    case_id = payload.get("case")
    if not isinstance(case_id, int) or isinstance(case_id, bool):
        return
    ServerCase.update(updated_at=at).where((ServerCase.station_id == station_id) & (ServerCase.station_case == case_id)
                                           & (ServerCase.state != CaseState.RESOLVED)).execute()


def project_transition(station_id: str, state: str, payload: dict[str, Any], at: str) -> None:
    case_id = payload.get("case")
    if not isinstance(case_id, int) or isinstance(case_id, bool):
        return
    row = ServerCase.get_or_none((ServerCase.station_id == station_id) & (ServerCase.station_case == case_id))
    if row is None or ORDER[str(row.state)] >= ORDER[state]:
        return  # unknown (opened before the server kept cases), or already there: the console's echo
    actor = _text(payload, "actor", 64)
    who = {"acked_by": actor, "acked_at": at} if state == CaseState.ACKNOWLEDGED \
        else {"resolved_by": actor, "resolved_at": at}
    ServerCase.update(state=state, note=_text(payload, "note", 2000), updated_at=at, **who).where(
        ServerCase.id == row.id).execute()


# ----- the console -----
def get(sdb: ServerDb, case_id: int, warehouses: tuple[str, ...]) -> Case | None:
    """A case of one of `warehouses`, else None (another warehouse's case is not found)."""
    with sdb.connection():
        row = sdb.execute(f'SELECT {", ".join(chr(34) + c + chr(34) for c in COLUMNS)} FROM "server_case" '
                          'WHERE "id" = ?', (case_id,)).fetchone()
    if row is None or row[1] not in warehouses:
        return None
    return Case(*row)


def transition(sdb: ServerDb, clock: Clock, case: Case, state: str, user: str, note: str) -> None:
    """Acknowledge or resolve from the console; the owning station pulls the change."""
    if state not in (CaseState.ACKNOWLEDGED, CaseState.RESOLVED):
        raise CaseError(N_("unknown case state {state!r}"), state=state)
    if state == CaseState.RESOLVED and not note.strip():
        raise CaseError(N_("resolving a case needs a note"))
    now = iso(clock.now())
    with sdb.connection(), sdb.write():
        current = sdb.execute(f'SELECT "state" FROM "server_case" WHERE "id" = ?{sdb.for_update()}',
                              (case.id,)).fetchone()
        if current is None or ORDER[str(current[0])] >= ORDER[state]:
            if current is None:
                raise CaseError(N_("the case is gone"))
            raise CaseError(N_("the case is {current}; it cannot become {state}"),
                            current=named(CASE_STATES, str(current[0])), state=named(CASE_STATES, state))
        pos = take_positions(sdb, "case", 1)
        who = ('"acked_by" = ?, "acked_at" = ?' if state == CaseState.ACKNOWLEDGED
               else '"resolved_by" = ?, "resolved_at" = ?')
        sdb.execute(f'UPDATE "server_case" SET "state" = ?, {who}, "note" = ?, "updated_at" = ?, "pos" = ? '
                    'WHERE "id" = ?', (state, f"console:{user}", now, note.strip()[:2000] or case.note, now, pos,
                                       case.id))


@dataclass(frozen=True)
class Filters:
    tag: str = ""
    severity: str = ""
    route: str = ""
    station: str = ""
    min_age_hours: float = 0.0
    include_resolved: bool = False


def queue(sdb: ServerDb, warehouse: str, filters: Filters, now: datetime, limit: int = 500) -> list[Case]:
    sql = f'SELECT {", ".join(chr(34) + c + chr(34) for c in COLUMNS)} FROM "server_case" WHERE "warehouse" = ?'
    params: list[object] = [warehouse]
    if not filters.include_resolved:
        sql += ' AND "state" IN (\'open\', \'acknowledged\')'
    for column, value in (("tag", filters.tag), ("severity", filters.severity), ("route", filters.route),
                          ("station_id", filters.station)):
        if value:
            sql += f' AND "{column}" = ?'
            params.append(value)
    if filters.min_age_hours > 0:
        sql += ' AND "opened_at" <= ?'
        params.append(iso(now - timedelta(hours=filters.min_age_hours)))
    sql += ' ORDER BY "opened_at", "id" LIMIT ?'
    params.append(limit)
    with sdb.connection():
        return [Case(*row) for row in sdb.execute(sql, params)]


def live_calls(sdb: ServerDb, warehouse: str, except_station: str, limit: int = 200) -> list[SupervisorCallOut]:
    """The warehouse's live supervisor calls at stations other than `except_station`, oldest first:
    what every station's triage screen counts besides its own."""
    with sdb.connection():
        rows = sdb.execute(
            'SELECT COALESCE(s."name", c."station_id"), c."order_id", c."state", c."opened_at", c."updated_at" '
            'FROM "server_case" c LEFT JOIN "station" s ON s."station_id" = c."station_id" '
            'WHERE c."warehouse" = ? AND c."tag" = ? AND c."state" IN (\'open\', \'acknowledged\') '
            'AND c."station_id" != ? ORDER BY c."opened_at", c."id" LIMIT ?',
            (warehouse, SUPERVISOR_CALL, except_station, limit)).fetchall()
    return [SupervisorCallOut.model_validate({"station": name, "order_id": order_id, "state": state,
                                              "opened_at": opened, "updated_at": updated})
            for name, order_id, state, opened, updated in rows]


def weekly_heatmap(sdb: ServerDb, warehouse: str, now: datetime, top: int = 5) -> tuple[list[str], list[str],
                                                                                        dict[tuple[str, str], int]]:
    """The week's top tags (rows) by station (columns): counts of cases opened in the last 7 days."""
    since = iso(now - timedelta(days=7))
    with sdb.connection():
        counts = {(str(tag), str(station)): int(n) for tag, station, n in sdb.execute(
            'SELECT "tag", "station_id", COUNT(*) FROM "server_case" WHERE "warehouse" = ? AND "opened_at" >= ? '
            'GROUP BY "tag", "station_id"', (warehouse, since))}
    totals: dict[str, int] = {}
    for (tag, _), n in counts.items():
        totals[tag] = totals.get(tag, 0) + n
    tags = sorted(totals, key=lambda t: (-totals[t], t))[:top]
    stations = sorted({station for tag, station in counts if tag in tags})
    return tags, stations, {key: n for key, n in counts.items() if key[0] in tags}


def run_server_rules(sdb: ServerDb, clock: Clock, warehouse: str) -> int:
    """Open a server case for each handed-over parcel whose carrier trail is silent for STALLED_HOURS
    (no event at all, or none since) — something no single station can judge. Returns cases opened."""
    now = clock.now()
    cutoff = iso(now - timedelta(hours=STALLED_HOURS))
    opened = 0
    with sdb.connection(), sdb.write():
        stalled = sdb.execute(
            'SELECT p."tracking_no", p."order_id", p."station_id", '
            '(SELECT MAX(e."time") FROM "tracking_event" e WHERE e."tracking_no" = p."tracking_no") '
            'FROM "parcel" p WHERE p."warehouse" = ? AND p."voided_at" IS NULL AND p."handed_over_at" IS NOT NULL '
            'AND p."handed_over_at" <= ? AND p."handed_over_at" >= ?',
            (warehouse, cutoff, iso(now - timedelta(days=30)))).fetchall()
        for tracking_no, order_id, station_id, last in stalled:
            if last is not None and str(last) >= cutoff:  # UTC ISO text sorts as time
                continue
            key = f"server:{STALLED_TAG}:{tracking_no}"
            live = sdb.execute('SELECT 1 FROM "server_case" WHERE "dedupe_key" = ? AND "state" != \'resolved\'',
                               (key,)).fetchone()
            if live:
                continue
            stamp = iso(now)
            title = Phrase(STALLED_TITLE, {"hours": STALLED_HOURS, "tracking_no": tracking_no,
                                           "station": station_id})
            sdb.execute('INSERT INTO "server_case" ("warehouse", "station_id", "station_case", "dedupe_key", "tag", '
                        '"rule_id", "severity", "route", "order_id", "tracking_no", "title", "title_words", "state", '
                        '"opened_at", "updated_at", "note") VALUES (?, \'\', NULL, ?, ?, ?, \'warning\', '
                        "'supervisor', ?, ?, ?, ?, 'open', ?, ?, '')",
                        (warehouse, key, STALLED_TAG, "server.tracking_stalled", order_id, tracking_no, title.plain(),
                         json.dumps(dump_words(title), ensure_ascii=False), stamp, stamp))
            opened += 1
    return opened
