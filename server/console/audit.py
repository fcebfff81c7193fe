"""The server's audit log: every console action and every account change, who, when, from where.

Written in the transaction of the change it records where there is one (`record` inside the
caller's write), else on its own (`record_now`). Read by the console's admin pages and by
`packbench server user list --audit`.
"""

from __future__ import annotations

from app.clock import Clock, iso
from server.db import ServerDb
from server.models import ServerAudit

MAX_DETAIL = 2000


def record(clock: Clock, actor: str, action: str, *, warehouse: str = "", target: str = "", detail: str = "",
           address: str = "") -> None:
    """Inside the caller's connection and write transaction."""
    ServerAudit.create(at=iso(clock.now()), actor=actor[:64], action=action, warehouse=warehouse[:64],
                       target=target[:200], detail=detail[:MAX_DETAIL], address=address[:64])


def record_now(sdb: ServerDb, clock: Clock, actor: str, action: str, **fields: str) -> None:
    with sdb.connection(), sdb.write():
        record(clock, actor, action, **fields)


def recent(sdb: ServerDb, warehouses: tuple[str, ...] | None, limit: int = 200) -> list[ServerAudit]:
    """Newest first; `warehouses` limits to those (and to entries of no warehouse), None = all."""
    with sdb.connection():
        query = ServerAudit.select()
        if warehouses is not None:
            query = query.where(ServerAudit.warehouse.in_(list(warehouses)) | (ServerAudit.warehouse == ""))
        return list(query.order_by(ServerAudit.id.desc()).limit(limit))
