"""`packbench server stations` and `packbench server station revoke ID` (see `server.stations`)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from app.cli import cli_text
from app.clock import SystemClock, iso
from app.i18n import N_, Phrase
from server.config import ServerConfig
from server.migrations import migrated


def cmd_stations(args: argparse.Namespace, config: ServerConfig) -> int:
    from server.stations import list_stations

    with migrated(config.database) as sdb:
        rows = list_stations(sdb)
    if args.json:
        print(json.dumps([asdict(row) for row in rows], ensure_ascii=False))
        return 0
    if not rows:
        print(cli_text(N_("no stations enrolled; `packbench server station-token --warehouse W` makes a token")))
    for r in rows:
        lag = "-" if r.outbox_lag_s is None else f"{r.outbox_lag_s:.0f}s"
        if r.revoked_at:
            state = cli_text(N_("REVOKED {at} ({reason})"), at=r.revoked_at,
                             reason=r.revoked_reason or Phrase(N_("no reason given")))
        else:
            state = cli_text(N_("active"))
        facts = (cli_text(N_("enrolled {at}"), at=r.enrolled_at),
                 cli_text(N_("last seen {at}"), at=r.last_seen_at or "-"),
                 cli_text(N_("outbox lag {lag}"), lag=lag), cli_text(N_("key {key}"), key=r.key_id), state)
        print("\t".join((r.station_id, r.name, r.warehouse, *facts)))
    return 0


def cmd_station_revoke(args: argparse.Namespace, config: ServerConfig) -> int:
    from server.stations import revoke

    with migrated(config.database) as sdb:
        at = revoke(sdb, args.station_id, args.reason, SystemClock())
    print(cli_text(N_("station {station} revoked at {at}: its next request is refused (403) and its passport key "
                      "vouches for nothing issued from now on; enroll it again with a new token to bring it back"),
                   station=args.station_id, at=iso(at)))
    return 0
