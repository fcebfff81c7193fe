"""Console accounts: who may log in, with which role, to which warehouses (docs/architecture.md §11.5).

Passwords are hashed with argon2id (argon2-cffi's defaults, rehashed on login when they change).
A login answers the same way, after the same work, whether the name is unknown, disabled, locked
or the password wrong: an unknown name is checked against a dummy hash so its answer takes as
long. Failures are counted per user; `MAX_FAILURES` in a row lock the account for
`LOCKOUT_MINUTES` (a correct password during the lockout is refused too, and not counted).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.clock import Clock, iso, parse_iso
from app.errors import BadValue
from app.i18n import N_
from server.auth import check_warehouse
from server.db import ServerDb
from server.models import ConsoleUser

ROLES = (N_("viewer"), N_("supervisor"), N_("admin"))
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # argon2 hashes anything, but a megabyte "password" is an attack, not a password
MAX_FAILURES = 5
LOCKOUT_MINUTES = 15

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("packbench: a name that does not exist")


class AccountError(BadValue):
    """A refused account change; the message (a msgid and its values) says why, in the CLI's language."""


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    warehouses: tuple[str, ...]
    lang: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def may_act(self) -> bool:
        """Acknowledge and resolve cases: supervisors and admins; viewers only read."""
        return self.role in ("supervisor", "admin")

    def sees(self, warehouse: str) -> bool:
        return warehouse in self.warehouses


def as_user(row: ConsoleUser) -> User:
    return User(int(row.id), str(row.name), str(row.role), tuple(str(row.warehouses).split()), str(row.lang))


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(N_("the password must have at least {count} characters"), count=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        raise AccountError(N_("the password must have at most {count} characters"), count=MAX_PASSWORD)
    return password


def _check(name: str, role: str, warehouses: list[str]) -> None:
    if not NAME_RE.fullmatch(name):
        raise AccountError(N_("user name {name!r}: use letters, digits, '_', '.', '@', '-' (at most 64)"), name=name)
    if role not in ROLES:
        raise AccountError(N_("role {role!r}: use one of {roles}"), role=role, roles=", ".join(ROLES))
    if not warehouses:
        raise AccountError(N_("name at least one --warehouse"))
    for warehouse in warehouses:
        check_warehouse(warehouse)


def add_user(sdb: ServerDb, name: str, role: str, warehouses: list[str], password: str, clock: Clock) -> User:
    _check(name, role, warehouses)
    hashed = _hasher.hash(check_password(password))
    now = iso(clock.now())
    with sdb.connection(), sdb.write():
        if ConsoleUser.select().where(ConsoleUser.name == name).exists():
            raise AccountError(N_("user {name} exists already (use `user passwd` to change the password)"), name=name)
        row = ConsoleUser.create(name=name, role=role, warehouses=" ".join(dict.fromkeys(warehouses)),
                                 password_hash=hashed, created_at=now, updated_at=now)
    return as_user(row)


def _existing(name: str) -> ConsoleUser:
    row: ConsoleUser | None = ConsoleUser.get_or_none(ConsoleUser.name == name)
    if row is None:
        raise AccountError(N_("no user {name!r}"), name=name)
    return row


def set_password(sdb: ServerDb, name: str, password: str, clock: Clock) -> None:
    """A new password also lifts a lockout and ends every session of the user."""
    from server.console.sessions import end_sessions

    hashed = _hasher.hash(check_password(password))
    with sdb.connection(), sdb.write():
        row = _existing(name)
        ConsoleUser.update(password_hash=hashed, failed_logins=0, locked_until=None,
                           updated_at=iso(clock.now())).where(ConsoleUser.id == row.id).execute()
        end_sessions(int(row.id))


def disable_user(sdb: ServerDb, name: str, clock: Clock) -> None:
    from server.console.sessions import end_sessions

    with sdb.connection(), sdb.write():
        row = _existing(name)
        now = iso(clock.now())
        ConsoleUser.update(disabled_at=row.disabled_at or now, updated_at=now).where(
            ConsoleUser.id == row.id).execute()
        end_sessions(int(row.id))


def list_users(sdb: ServerDb) -> list[ConsoleUser]:
    with sdb.connection():
        return list(ConsoleUser.select().order_by(ConsoleUser.name))


def set_language(sdb: ServerDb, user: User, lang: str, clock: Clock) -> None:
    with sdb.connection(), sdb.write():
        ConsoleUser.update(lang=lang, updated_at=iso(clock.now())).where(ConsoleUser.id == user.id).execute()


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    reason: str  # for the audit log only; the person at the form is told one thing for every failure


def _verify(hashed: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(hashed, password))
    except (VerificationError, InvalidHashError):
        return False


def _locked(row: ConsoleUser, now: datetime) -> bool:
    return row.locked_until is not None and parse_iso(str(row.locked_until)) > now


def login(sdb: ServerDb, name: str, password: str, clock: Clock) -> LoginResult:
    """Check a name and password; count a failure against the user and lock after `MAX_FAILURES`."""
    password = password[:MAX_PASSWORD + 1]
    with sdb.connection():
        row = ConsoleUser.get_or_none(ConsoleUser.name == name[:64])
    if row is None:
        _verify(_DUMMY_HASH, password)  # the same work as for a real name
        return LoginResult(None, "unknown user")
    good = _verify(str(row.password_hash), password)
    now = clock.now()
    with sdb.connection(), sdb.write():
        row = ConsoleUser.get_by_id(row.id)  # again, inside the write: concurrent failures all count
        if row.disabled_at is not None:
            return LoginResult(None, "disabled")
        if _locked(row, now):
            return LoginResult(None, "locked")
        if not good:
            failures = int(row.failed_logins) + 1
            locked = iso(now + timedelta(minutes=LOCKOUT_MINUTES)) if failures >= MAX_FAILURES else None
            ConsoleUser.update(failed_logins=0 if locked else failures, locked_until=locked,
                               updated_at=iso(now)).where(ConsoleUser.id == row.id).execute()
            return LoginResult(None, f"wrong password ({failures} in a row)" + (", locked" if locked else ""))
        changes: dict[str, object] = {"failed_logins": 0, "locked_until": None}
        if _hasher.check_needs_rehash(str(row.password_hash)):
            changes["password_hash"] = _hasher.hash(password)
        ConsoleUser.update(**changes).where(ConsoleUser.id == row.id).execute()
    return LoginResult(as_user(row), "ok")
