"""The names a person reads for the station's codes: commands, barcode kinds, roles and routes,
case severities and states, where a parcel's number came from.

A code stays a code wherever a machine reads it (JSON, the store, audit facts); a person reads its
name from the one catalog (`app.i18n`). `Named` carries both: formatted into a message it is the
name in the message's language, outside one (`app.i18n.plain`) it is the code, so a headless
line's JSON keeps its codes whatever the language. Each table maps a code to its English msgid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.i18n import C_, N_, translator


@dataclass(frozen=True)
class Named:
    """A code (kept in JSON and facts) and the msgid of its name (shown in messages)."""

    code: str
    msgid: str

    def text(self, lang: str) -> str:
        return translator(lang).gettext(self.msgid)

    def plain(self) -> str:
        return self.code

    def __str__(self) -> str:
        return self.code


def named(table: Mapping[str, str], code: str) -> Named:
    """`code` with its name from `table`; a code the table does not know is its own name."""
    return Named(code, table.get(code, code))


# The command sheet's codes, as a packer calls them.
COMMANDS: dict[str, str] = {
    "ABORT": N_("Abort order"),
    "REPRINT": N_("Reprint label"),
    "CALL_SUPERVISOR": N_("Call supervisor"),
    "LOGOUT": N_("Log out"),
    "SHORT_SHIP": N_("Short-ship"),
    "ACCEPT_WEIGHT": N_("Accept weight"),
    "VOID_LABEL": N_("Void label"),
    "SWITCH_CARRIER": N_("Switch carrier"),
    "CONFIRM": N_("Confirm"),
    "PREVIEW": N_("Enlarge label"),
    "scan": N_("Scanning an item"),  # any scan while the flow waits for a supervisor badge
}

# What a scanned code was read as (app.barcodes.Kind values), in a sentence "… is <kind>".
BARCODE_KINDS: dict[str, str] = {
    "command": N_("a command code"),
    "badge": N_("a badge"),
    "gs1": N_("a GS1 product code"),
    "gtin": N_("a product barcode"),
    "tracking": N_("a waybill number"),
    "order": N_("an order code"),
}

# Operators' roles; a case's route names the role that works it.
ROLES: dict[str, str] = {
    "packer": N_("Packer"),
    "supervisor": N_("Supervisor"),
    "admin": N_("Administrator"),
    "line": N_("Automated line"),
}

SEVERITIES: dict[str, str] = {
    "info": N_("Info"),
    "warning": N_("Warning"),
    "critical": N_("Critical"),
}

# States, not actions ("Open" is also the console's link, the verb), hence the context (a literal: the
# extractor reads it); lower case, as they read inside a sentence ("case 3 is resolved").
CASE_STATES: dict[str, str] = {
    "open": C_("case state", "open"),
    "acknowledged": C_("case state", "acknowledged"),
    "resolved": C_("case state", "resolved"),
}

# An order's status (app.store.states.OrderStatus); the msgids are the codes, as the console words them.
ORDER_STATUSES: dict[str, str] = {
    "new": N_("new"),
    "paid": N_("paid"),
    "on_hold": N_("on_hold"),
    "cancelled": N_("cancelled"),
    "refunded": N_("refunded"),
    "packed": N_("packed"),
    "shipped": N_("shipped"),
}

# The shops' platforms (an order's `platform`, set by its import profile); a platform not listed here
# is shown as its code.
PLATFORMS: dict[str, str] = {
    "taobao": N_("Taobao"),
    "tmall": N_("Tmall"),
    "pdd": N_("Pinduoduo"),
    "jd": N_("JD.com"),
    "douyin": N_("Douyin"),
    "kuaishou": N_("Kuaishou"),
    "xiaohongshu": N_("Xiaohongshu"),
    "youzan": N_("Youzan"),
    "shopify": N_("Shopify"),
}

# Where a parcel's tracking number came from (app.pack.lookup.choose_waybill).
WAYBILL_SOURCES: dict[str, str] = {
    "preprinted": N_("pre-printed waybill"),
    "ewaybill": N_("carrier e-waybill"),
    "pool": N_("local number pool"),
}

# The tags of the shipped rules (assets/rules/default.toml) and the built-in cases; a tag a site's own
# rule file adds is shown as its code.
CASE_TAGS: dict[str, str] = {
    "address_risk": N_("Address risk"),
    "stock_gap": N_("Stock gap"),
    "payment_anomaly": N_("Payment anomaly"),
    "logistics_anomaly": N_("Logistics anomaly"),
    "pack_mismatch": N_("Pack mismatch"),
    "weight_mismatch": N_("Weight mismatch"),
    "not_handed_over": N_("Not handed over"),
    "intercept": N_("Intercept"),
    "compliance": N_("Compliance"),
    "supervisor_call": N_("Supervisor call"),
    "import_attention": N_("Import needs attention"),
    "tracking_abort": N_("Tracking stopped"),
    "tracking_stalled": N_("Tracking stalled"),
}
