"""Where the scan path's time goes, from a py-spy profile of `bench.scan_latency`.

    pip install --target /tmp/pyspy py-spy          # outside the venv; py-spy is a standalone binary
    /tmp/pyspy/bin/py-spy record --rate 250 --format raw -o bench/out/scan_latency.pyspy.txt -- \\
        .venv/bin/python -m bench.scan_latency --inline 600 --runtime 0 --pty 1 --no-json
    .venv/bin/python -m bench._profile bench/out/scan_latency.pyspy.txt

Only samples inside `bench.scan_latency.pack` (packing orders) count. Each sample goes to the first
category that matches its stack, in the order below; py-spy samples wall time of the running thread.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable

Pred = Callable[[list[str]], bool]

CATEGORIES: list[tuple[str, Pred]] = [
    ("COMMIT (the WAL fsync of synchronous=FULL)", lambda fs: any(f.startswith("Database.commit (peewee") for f in fs)),
    ("peewee renders SQL text (Context.sql / __sql__)",
     lambda fs: any(f.startswith(("Context.sql (peewee", "Context.parse (peewee")) for f in fs)),
    ("sqlite3 runs the statements",
     lambda fs: any(f.startswith(("SqliteDatabase.execute_sql", "Database.execute_sql")) for f in fs)),
    ("peewee turns rows into model objects", lambda fs: any("CursorWrapper" in f for f in fs)),
    ("passport: Ed25519 signature and encoding", lambda fs: any(f.startswith("mint_passport") for f in fs)),
    ("json, hashlib, uuid", lambda fs: any(f.split(" (")[-1].startswith(("json/", "hashlib", "uuid")) for f in fs)),
    ("peewee builds query objects (select/where/insert)", lambda fs: "peewee.py" in fs[-1]),
]


def summarize(path: str, root: str = "pack (") -> tuple[int, Counter[str]]:
    total, counts = 0, Counter[str]()
    with open(path) as f:
        for line in f:
            stack, _, n_text = line.rstrip("\n").rpartition(" ")
            frames = stack.split(";")
            if not any(fr.startswith(root) for fr in frames):
                continue
            n = int(n_text)
            total += n
            name = next((name for name, pred in CATEGORIES if pred(frames)), "other Python (flow, runtime, labels…)")
            counts[name] += n
    return total, counts


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if not args:
        print(__doc__)
        return 2
    total, counts = summarize(args[0])
    print(f"{total} samples while packing orders")
    for name, n in counts.most_common():
        print(f"  {100 * n / max(total, 1):5.1f} %  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
