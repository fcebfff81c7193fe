"""Operators and their badges. Logging in and out at the bench is a badge scan (see the pack flow)."""

from __future__ import annotations

import peewee as pw

from app.audit import record_fact
from app.barcodes import BarcodeError, Kind, interpret
from app.clock import Clock, iso
from app.errors import InputError
from app.store import Store
from app.store.models import Operator

ROLES = ("packer", "supervisor", "admin", "line")


class OperatorError(InputError, ValueError):
    pass


def add_operator(store: Store, clock: Clock, name: str, role: str, badge: str, actor: str = "admin") -> Operator:
    name, badge = name.strip(), badge.strip()
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
            operator = Operator.create(name=name, role=role, badge=badge, created_at=iso(now))
            record_fact("operator.added", actor, now, {"name": name, "role": role})
    except pw.IntegrityError as exc:
        raise OperatorError(f"an operator named {name!r} or with badge {badge!r} already exists") from exc
    return operator  # type: ignore[no-any-return]
