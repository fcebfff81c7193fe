"""A case's detail as a person reads it: one line per fact, its name in the reader's language.

A case keeps its detail as JSON (`exception_case.detail`): what the rule saw (`facts`, by the rule
language's field paths, which the SOPs name: codes), the orders a per-SKU case collects, a supervisor
call's count, an intercept's states. The triage screen shows it under the case's title; `CaseDetail`
words each key by its name from the catalog and a coded value (a trigger, a yes/no) by its name too,
and leaves values that are data (numbers, times, order and tracking numbers) and field paths as
they are. A key it does not know (a newer station's) shows as its code. The title's words
(`app.cases.TITLE_WORDS`) and the fingerprint that keeps a resolved case from reopening are
bookkeeping: not shown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.i18n import ENGLISH, LIST_SEPARATOR, N_, render, translator
from app.terms import ORDER_STATUSES

HIDDEN = frozenset({"title_words", "fingerprint"})  # app.cases.TITLE_WORDS; the engine's dedupe fingerprint
FACTS = "facts"
LINE = N_("{name}: {value}")

NAMES: dict[str, str] = {
    "trigger": N_("Raised on"),
    "rules_version": N_("Rules version"),
    "rules_source": N_("Rules from"),
    "orders": N_("Orders"),
    "lines": N_("Order lines"),
    "station": N_("Station"),
    "calls": N_("Calls"),
    "last_called_at": N_("Last called at"),
    "called_by": N_("Called by"),
    "packed_at": N_("Packed at"),
    "age_hours": N_("Hours since packing"),
    "carrier": N_("Carrier"),
    "open_batch": N_("Open handover batch"),
    "status": N_("Platform status"),
    "local_status": N_("Status at this station"),
    "tracking_no": N_("Tracking number"),
    "handed_over": N_("Handed over"),
    "being_packed": N_("Being packed"),
    "server_updated_at": N_("Updated on the server at"),
    "message": N_("Carrier's message"),
    "time": N_("Time"),
}

# Values that are codes with names: app.rules.loader.TRIGGERS, a rule's source, order statuses.
VALUES: dict[str, dict[str, str]] = {
    "trigger": {"import": N_("import"), "order_change": N_("order change"), "tracking": N_("tracking update"),
                "timer": N_("timer")},
    "rules_source": {"defaults": N_("shipped rules"), "server": N_("server rules")},
    "status": ORDER_STATUSES,
    "local_status": ORDER_STATUSES,
}
YES, NO = N_("yes"), N_("no")


@dataclass(frozen=True)
class CaseDetail:
    """A case's detail JSON, worded when it is shown (an `app.i18n.Words`)."""

    detail: str

    def text(self, lang: str) -> str:
        try:
            data = json.loads(self.detail or "{}")
        except ValueError:
            return self.detail
        if not isinstance(data, dict):
            return self.detail
        lines: list[str] = []
        for key, value in data.items():
            if key in HIDDEN:
                continue
            if key == FACTS and isinstance(value, dict):  # field paths are the rule language's codes
                lines += [f"{path} = {_plain(fact)}" for path, fact in value.items()]
                continue
            name = translator(lang).gettext(NAMES.get(str(key), str(key)))
            lines.append(render(LINE, lang, {"name": name, "value": _value(str(key), value, lang)}))
        return "\n".join(lines)

    def plain(self) -> str:
        return self.text(ENGLISH)


def _value(key: str, value: Any, lang: str) -> str:
    gettext = translator(lang).gettext
    if isinstance(value, bool):
        return gettext(YES if value else NO)
    if isinstance(value, list):
        return gettext(LIST_SEPARATOR).join(_plain(v) for v in value)
    if isinstance(value, str) and value in VALUES.get(key, {}):
        return gettext(VALUES[key][value])
    return _plain(value)


def _plain(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
