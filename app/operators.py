"""Operators, their badges and their language. Logging in and out at the bench is a badge scan (see the
pack flow); after an operator's login the bench speaks that operator's language, if one is set, else
the station's (`station.toml` `language`)."""

from __future__ import annotations

import peewee as pw

from app.audit import record_fact
from app.barcodes import BarcodeError, Kind, interpret
from app.clock import Clock, iso
from app.errors import InputError
from app.i18n import LANGUAGES, N_
from app.store import Store
from app.store.models import Operator
from app.terms import BARCODE_KINDS, named

ROLES = ("packer", "supervisor", "admin", "line")
FOLLOW_STATION = "station"  # what `operator set-language` takes to clear an operator's own language


class OperatorError(InputError, ValueError):
    pass


def operator_language(text: str | None) -> str:
    """An operator's language setting from what a person typed: a catalog language, or "" (no option
    given, or FOLLOW_STATION) for the station's. A blank one is refused: `--language "$LANG_OF_X"` with
    the variable unset must not pass for a choice."""
    if text is None:
        return ""
    value = text.strip()
    if not value:
        raise OperatorError(N_("give a language: {languages} or {station}"), languages=", ".join(LANGUAGES),
                            station=FOLLOW_STATION)
    if value == FOLLOW_STATION:
        return ""
    if value not in LANGUAGES:
        raise OperatorError(N_("language must be one of {languages} (or {station}), not {given!r}"),
                            languages=", ".join(LANGUAGES), station=FOLLOW_STATION, given=value)
    return value


def add_operator(store: Store, clock: Clock, name: str, role: str, badge: str, actor: str = "admin",
                 language: str | None = None) -> Operator:
    name, badge = name.strip(), badge.strip()
    own_language = operator_language(language)
    if role not in ROLES:
        raise OperatorError(N_("role must be one of {roles}, not {given!r}"), roles=", ".join(ROLES), given=role)
    if not name:
        raise OperatorError(N_("an operator needs a name"))
    try:
        parsed = interpret(badge)
    except BarcodeError as exc:
        raise OperatorError(N_("badge {badge!r} cannot be scanned reliably: {reason}"), badge=badge,
                            reason=exc.reason) from exc
    if parsed.kind is not Kind.ORDER:
        # A badge that reads as a product, waybill or command code would be taken for one at the bench.
        raise OperatorError(N_("badge {badge!r} reads as {kind}; choose another"), badge=badge,
                            kind=named(BARCODE_KINDS, parsed.kind.value))
    now = clock.now()
    try:
        with store.atomic():
            operator = Operator.create(name=name, role=role, badge=badge, created_at=iso(now), language=own_language)
            record_fact("operator.added", actor, now, {"name": name, "role": role, "language": own_language})
    except pw.IntegrityError as exc:
        raise OperatorError(N_("an operator named {name!r} or with badge {badge!r} already exists"), name=name,
                            badge=badge) from exc
    return operator  # type: ignore[no-any-return]


def set_language(store: Store, clock: Clock, who: str, language: str, actor: str = "admin") -> Operator:
    """Set the language of the operator named `who` (or wearing badge `who`); it applies from their next
    login. An audit fact records the change."""
    own_language = operator_language(language)
    now = clock.now()
    with store.atomic():
        operator = Operator.get_or_none((Operator.name == who.strip()) | (Operator.badge == who.strip()))
        if operator is None:
            raise OperatorError(N_("no operator named or badged {who!r}; see `packbench operator list`"), who=who)
        Operator.update(language=own_language).where(Operator.id == operator.id).execute()
        record_fact("operator.language", actor, now, {"name": operator.name, "language": own_language})
        operator.language = own_language
    return operator  # type: ignore[no-any-return]
