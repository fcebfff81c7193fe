"""What the pack flow tells the packer: one named outcome per input, with its level and words.

The words are English msgids of the one gettext catalog (`app.i18n`, docs/i18n.md); `Outcome.text(lang)`
translates and fills them. An outcome also carries the language of the person at the bench when it
happened (`Outcome.language`: the logged-in operator's, else the station's), which is what the
screen and the headless line show it in (`Outcome.message`). The names are stable: they are what the
headless mode prints as `event` and what the store keeps in `scan_event.outcome`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, NamedTuple

from app.i18n import ENGLISH, N_, plain, render


class Level(Enum):
    OK = "ok"  # green
    WARN = "warn"  # amber: needs attention, nothing is wrong yet
    ERROR = "error"  # red


class Message(NamedTuple):
    level: Level
    text: str  # English msgid; placeholders are filled from the outcome's fields and detail


MESSAGES: dict[str, Message] = {
    "login": Message(Level.OK, N_("Hello {operator}")),
    "logout": Message(Level.OK, N_("{operator} logged out")),
    "login_required": Message(Level.ERROR, N_("Scan your badge first")),
    "finish_order_first": Message(Level.ERROR, N_("Finish or abort order {order_id} first")),
    "order_opened": Message(Level.OK, N_("Order {order_id}: scan {remaining} item(s)")),
    "order_resumed": Message(Level.WARN, N_("Order {order_id} is open: {remaining} item(s) to go")),
    "order_not_found": Message(Level.ERROR, N_("No order {code}")),
    "order_cancelled": Message(Level.ERROR, N_("Order {order_id} is CANCELLED — do not pack")),
    "order_refunded": Message(Level.ERROR, N_("Order {order_id} is REFUNDED — do not pack")),
    "order_on_hold": Message(Level.ERROR, N_("Order {order_id} is ON HOLD")),
    "order_not_payable": Message(Level.ERROR, N_("Order {order_id} is not paid")),
    "order_already_shipped": Message(
        Level.WARN, N_("Order {order_id} already shipped ({tracking_no}) — scan REPRINT for its label")),
    "order_blocked": Message(
        Level.ERROR, N_("Order {order_id} HELD: {reasons} — supervisor badge to pack it anyway")),
    "order_in_progress": Message(Level.ERROR, N_("Order {order_id} is still open: finish or abort it")),
    "order_empty": Message(Level.ERROR, N_("Order {order_id} has no lines")),
    "item_ok": Message(Level.OK, N_("{name} ({scanned}/{expected})")),
    "items_complete": Message(Level.OK, N_("All items scanned — put the parcel on the scale")),
    "wrong_item": Message(Level.ERROR, N_("WRONG ITEM: {name} is not in this order")),
    "over_quantity": Message(Level.ERROR, N_("TOO MANY: {name} only {expected} needed")),
    "unknown_code": Message(Level.ERROR, N_("Unknown code {code}")),
    "bad_scan": Message(Level.ERROR, N_("Bad scan: {reason}")),
    "scan_order_first": Message(Level.ERROR, N_("Scan an order first")),
    "waybill_bound": Message(Level.OK, N_("Waybill {tracking_no} bound to {order_id}")),
    "waybill_in_use": Message(Level.ERROR, N_("Waybill {tracking_no} is already used")),
    "weight_ok": Message(Level.OK, N_("{actual_g} g OK (expected {expected_g} g)")),
    "weight_mismatch": Message(
        Level.ERROR, N_("WEIGHT {actual_g} g, expected {expected_g} g ±{allowed_g} — check the parcel")),
    "weight_unusual": Message(
        Level.ERROR, N_("WEIGHT {actual_g} g is unusual for these items (usually {history_mean_g} g)")),
    "no_waybill": Message(
        Level.ERROR, N_("No waybill number left for {carrier} — import waybills or scan a pre-printed waybill; "
                        "lift the parcel and put it back to weigh again")),
    "label_queued": Message(Level.OK, N_("Printing label {tracking_no} ({waybill})")),
    "label_printed": Message(Level.OK, N_("Done — label {tracking_no} printed")),
    "print_failed": Message(Level.ERROR, N_("Printer: {reason} — label will print when fixed")),
    "print_uncertain": Message(Level.ERROR, N_("Printer: {reason} — if no label came out, scan REPRINT")),
    "reprint_queued": Message(Level.WARN, N_("Reprint {reprint_no} of {tracking_no}")),
    "nothing_to_reprint": Message(Level.ERROR, N_("Nothing to reprint")),
    "label_enlarged": Message(Level.OK, N_("Label {tracking_no} shown large — scan any code to close it")),
    "label_preview_closed": Message(Level.OK, N_("Label preview closed")),
    "nothing_to_preview": Message(Level.WARN, N_("No label printed yet — nothing to enlarge")),
    "aborted": Message(Level.WARN, N_("Order {order_id} aborted")),
    "nothing_to_abort": Message(Level.WARN, N_("Nothing to abort")),
    "supervisor_required": Message(Level.WARN, N_("Supervisor: scan your badge to {action}")),
    "supervisor_called": Message(Level.WARN, N_("Supervisor called to station {station} (case #{case})")),
    "supervisor_called_again": Message(
        Level.WARN, N_("Supervisor called again to station {station}: {calls} calls (case #{case})")),
    "not_a_supervisor": Message(Level.ERROR, N_("{operator} is not a supervisor")),
    "override_accepted": Message(Level.WARN, N_("{supervisor} approved: {action}")),
    "short_shipped": Message(Level.WARN, N_("Short-ship of {order_id} approved")),
    "command_not_now": Message(Level.ERROR, N_("{command} is not possible now")),
    "weight_ignored": Message(Level.OK, ""),
}


def message_text(table: dict[str, Message], event: str, lang: str, values: dict[str, Any]) -> str:
    """The event's words in `lang`, filled from `values` (an event with no words shows nothing)."""
    msgid = table[event].text
    return render(msgid, lang, values) if msgid else ""


@dataclass(frozen=True)
class Outcome:
    event: str
    state: str
    code: str | None = None
    order_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    language: str = ENGLISH  # of the person at the bench: the logged-in operator's, else the station's

    @property
    def level(self) -> Level:
        return MESSAGES[self.event].level

    def text(self, lang: str | None = None) -> str:
        """The words in `lang` (default: the outcome's own language)."""
        return message_text(MESSAGES, self.event, lang or self.language,
                            {"code": self.code, "order_id": self.order_id, **self.detail})

    @property
    def message(self) -> str:
        """What the person at the bench reads: the words in the outcome's language."""
        return self.text(self.language)

    def as_json(self) -> dict[str, Any]:
        return {
            "event": self.event, "level": self.level.value, "code": self.code, "order_id": self.order_id,
            "state": self.state, "message": self.message, **{k: plain(v) for k, v in self.detail.items()},
        }
