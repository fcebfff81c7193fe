"""Console sessions, kept in the database so that every server worker knows them (docs/architecture.md §11.5).

The cookie holds a random token; the table holds its SHA-256, the user, the session's CSRF token,
and two clocks: a session ends `IDLE` after its last request, or `LIFETIME` after login, whichever
comes first. `seen_at` is written at most once a minute, so reading pages does not write on every
request. Logging out, a new password, or disabling the user deletes the rows.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from app.clock import Clock, iso, parse_iso
from server.console.accounts import User, as_user
from server.db import ServerDb
from server.models import ConsoleSession, ConsoleUser

COOKIE = "pb_session"
IDLE = timedelta(hours=2)
LIFETIME = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    token_hash: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def start_session(sdb: ServerDb, user: User, clock: Clock) -> tuple[str, Session]:
    """A new session for `user`; returns the cookie value (shown once) and the session."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = clock.now()
    with sdb.connection(), sdb.write():
        ConsoleSession.delete().where(ConsoleSession.expires_at < iso(now)).execute()  # sweep old ones
        ConsoleSession.create(token_hash=_hash(token), user=user.id, csrf=csrf, created_at=iso(now),
                              seen_at=iso(now), expires_at=iso(now + LIFETIME))
    return token, Session(user, csrf, _hash(token))


def find_session(sdb: ServerDb, token: str | None, clock: Clock) -> Session | None:
    """The live session of a cookie value, or None (unknown, expired, idle, or its user disabled)."""
    if not token or len(token) > 128:
        return None
    now = clock.now()
    with sdb.connection():
        row = (ConsoleSession.select(ConsoleSession, ConsoleUser).join(ConsoleUser)
               .where(ConsoleSession.token_hash == _hash(token)).first())
        if row is None or row.user.disabled_at is not None:
            return None
        seen = parse_iso(str(row.seen_at))
        if parse_iso(str(row.expires_at)) <= now or seen + IDLE <= now:
            return None
        if now - seen >= TOUCH_EVERY:
            with sdb.write():
                ConsoleSession.update(seen_at=iso(now)).where(ConsoleSession.token_hash == row.token_hash).execute()
        return Session(as_user(row.user), str(row.csrf), str(row.token_hash))


def end_session(sdb: ServerDb, session: Session) -> None:
    with sdb.connection(), sdb.write():
        ConsoleSession.delete().where(ConsoleSession.token_hash == session.token_hash).execute()


def end_sessions(user_id: int) -> None:
    """Inside the caller's write transaction."""
    ConsoleSession.delete().where(ConsoleSession.user == user_id).execute()


def csrf_matches(session: Session, offered: str | None) -> bool:
    return bool(offered) and secrets.compare_digest(session.csrf.encode(), str(offered).encode("utf-8", "replace"))
