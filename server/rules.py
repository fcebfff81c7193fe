"""Exception rule sets distributed by the server (docs/architecture.md §9.1): versioned TOML text in `rule_set`.

`packbench server rules set FILE` stores a new version after the stations' own parser accepted it
(syntax, fields, types, RE2 patterns), so a bad file is refused here with its line and column
instead of at every station; stations still check what they pull (an older station may know fewer
fields) and keep their rules when they refuse. Uploading the current version's text again changes nothing.
`GET /api/v1/rules` serves the newest version, or version 0 with empty text when none was uploaded.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from app.clock import Clock, iso
from app.errors import InputError, os_problem
from app.i18n import N_
from app.rules import RuleBook, RuleFileError
from protocol import RuleSetOut
from server.db import ServerDb
from server.models import RuleSet

EMPTY = RuleSetOut(version=0, sha256=hashlib.sha256(b"").hexdigest(), created_at=None, content="")


class RulesError(InputError, ValueError):
    pass


def current_rules(sdb: ServerDb) -> RuleSetOut:
    with sdb.connection():
        row = RuleSet.select().order_by(RuleSet.version.desc()).first()
    if row is None:
        return EMPTY
    return RuleSetOut(version=row.version, sha256=row.sha256, created_at=row.created_at, content=row.content)


def set_rules(sdb: ServerDb, path: Path, clock: Clock) -> tuple[int, bool]:
    """Store the file as the next version: (version, whether it is new)."""
    try:
        content = Path(path).read_bytes().decode("utf-8-sig")
        RuleBook().prepare(content, source=Path(path).name, version=1)  # the server numbers versions itself
    except OSError as exc:
        raise RulesError(N_("{path}: cannot read ({problem})"), path=path, problem=os_problem(exc)) from exc
    except UnicodeDecodeError as exc:
        raise RulesError(N_("{path}: not UTF-8 text ({problem})"), path=path, problem=exc.reason) from exc
    except RuleFileError as exc:
        raise RulesError(N_("{path}: {problem}"), path=path, problem=exc.words) from exc
    digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
    with sdb.connection(), sdb.write():
        head = RuleSet.select().order_by(RuleSet.version.desc()).first()
        if head is not None and head.sha256 == digest:
            return head.version, False
        version = (head.version if head else 0) + 1
        RuleSet.create(version=version, content=content, sha256=digest, created_at=iso(clock.now()),
                       source=Path(path).name)
    return version, True
