"""Every fact a station sends is one the server takes: the server refuses a kind it does not know
("unknown kind"), and the refused event stays in the station's rejected list for good."""

from __future__ import annotations

import ast
from pathlib import Path

from server.projections import KNOWN_KINDS

APP = Path(__file__).resolve().parents[2] / "app"


def synced_kinds() -> set[str]:
    """The kinds `app/` records with a literal name and without `sync=False` (an f-string's kinds,
    exception.<state> and print.<state>, are the server's projected and stored ones by name)."""
    kinds: set[str] = set()
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "record_fact"):
                continue
            kind = node.args[0] if node.args else None
            local = any(k.arg == "sync" and isinstance(k.value, ast.Constant) and k.value.value is False
                        for k in node.keywords)
            if isinstance(kind, ast.Constant) and isinstance(kind.value, str) and not local:
                kinds.add(kind.value)
    return kinds


def test_every_fact_kind_a_station_syncs_is_one_the_server_knows() -> None:
    kinds = synced_kinds()
    assert {"scan", "handover.closed", "operator.added"} <= kinds  # the walk found the station's facts
    assert kinds - KNOWN_KINDS == set()
