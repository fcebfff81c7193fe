"""Operators, their badges and their language. Logging in and out at the bench is a badge scan (see the
pack flow); after an operator's login the bench speaks that operator's language, if one is set, else
the station's (`station.toml` `language`)."""

from __future__ import annotations

import peewee as pw

from app.audit import record_fact
from app.barcodes import BarcodeError, Kind, interpret
from app.clock import Clock, iso
from app.errors import InputError
from app.i18n import LANGUAGES
from app.store import Store
from app.store.models import Operator

ROLES = ("packer", "supervisor", "admin", "line")
FOLLOW_STATION = "station"  # what `operator set-language` takes to clear an operator's own language


class OperatorError(InputError, ValueError):
    pass


def operator_language(text: str | None) -> str:
    """An operator's language setting from what a person typed: a catalog language, or "" (none given,
    or FOLLOW_STATION) for the station's."""
    value = (text or "").strip()
    if value in ("", FOLLOW_STATION):
        return ""
    if value not in LANGUAGES:
        raise OperatorError(f"language must be one of {', '.join(LANGUAGES)} (or {FOLLOW_STATION}), not {value!r}")
    return value


def add_operator(store: Store, clock: Clock, name: str, role: str, badge: str, actor: str = "admin",
                 language: str | None = None) -> Operator:
    name, badge = name.strip(), badge.strip()
    own_language = operator_language(language)
    if role not in ROLES:
        raise OperatorError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not name:
        raise OperatorError("an operator needs a name")
    try:
        parsed = interpret(badge)
    except BarcodeError as exc:
        raise OperatorError(f"badge {badge!r} cannot be scanned reliably: {exc}") from exc
    if parsed.kind is not Kind.ORDER:
        # A badge that reads as a product, waybill or command code would be taken for one at the bench.
        raise OperatorError(f"badge {badge!r} reads as a {parsed.kind.value} code; choose another")
    now = clock.now()
    try:
        with store.atomic():
            operator = Operator.create(name=name, role=role, badge=badge, created_at=iso(now), language=own_language)
            record_fact("operator.added", actor, now, {"name": name, "role": role, "language": own_language})
    except pw.IntegrityError as exc:
        raise OperatorError(f"an operator named {name!r} or with badge {badge!r} already exists") from exc
    return operator  # type: ignore[no-any-return]


def set_language(store: Store, clock: Clock, who: str, language: str, actor: str = "admin") -> Operator:
    """Set the language of the operator named `who` (or wearing badge `who`); it applies from their next
    login. An audit fact records the change."""
    if not language.strip():
        raise OperatorError(f"give a language: {', '.join(LANGUAGES)} or {FOLLOW_STATION}")
    own_language = operator_language(language)
    now = clock.now()
    with store.atomic():
        operator = Operator.get_or_none((Operator.name == who.strip()) | (Operator.badge == who.strip()))
        if operator is None:
            raise OperatorError(f"no operator named or badged {who!r}; see `packbench operator list`")
        Operator.update(language=own_language).where(Operator.id == operator.id).execute()
        record_fact("operator.language", actor, now, {"name": operator.name, "language": own_language})
        operator.language = own_language
    return operator  # type: ignore[no-any-return]
