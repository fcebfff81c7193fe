"""How well the keyboard-wedge rule (app.wedge) tells scanners from people, by timing profile.

    .venv/bin/python -m bench.wedge_rule            # 20,000 codes and texts per profile (~10 s)
    .venv/bin/python -m bench.wedge_rule --quick    # 2,000

Each scanner profile reads codes of 8–20 characters ended by Enter, keys `low`–`high` ms apart
(seeded), the heavy one with one stall of 200–400 ms inside each code; each person types texts of
4–14 characters and Enter at their pace. Every sequence goes through the same classifier the
station runs, as the pack screen feeds it (no text field has the focus, so a pause also ends a
sequence). Counted per profile: whole scans, set aside as "typed?" (shown, not lost), wrong scans
(a scan that is not the code: a truncated or merged code) and, for people, texts taken for a scan.
"""

from __future__ import annotations

import random

from app.wedge import BurstClassifier
from bench import _fixtures as fx

SCANNERS = {  # name: (low, high, stall)
    "scanner, idle PC (7–16 ms)": (7, 16, False),
    "scanner, loaded PC (10–80 ms)": (10, 80, False),
    "scanner, loaded + one 200–400 ms stall": (10, 80, True),
    "Bluetooth scanner (35–50 ms)": (35, 50, False),
    "Bluetooth scanner, loaded (35–110 ms)": (35, 110, False),
}
PEOPLE = {
    "person (100–350 ms)": (100, 350),
    "fast typist (70–200 ms)": (70, 200),
    "very fast typist (60–160 ms)": (60, 160),
}
ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def run(clf: BurstClassifier, text: str, gaps: list[int], start: int) -> tuple[list[str], str]:
    """(scans, text set aside) for `text` typed with `gaps`, then Enter, then a pause."""
    scans: list[str] = []
    aside = ""
    ts = start

    def take(burst: object) -> None:
        nonlocal aside
        if burst is None:
            return
        code = burst.code  # type: ignore[attr-defined]
        if code is None:
            aside += burst.typed  # type: ignore[attr-defined]
        else:
            scans.append(code)

    for i, ch in enumerate(text):
        if i:
            ts += gaps[i - 1]
        take(clf.key(ch, ts))
    ended = clf.suffix(ts + gaps[-1])
    take(ended)
    if ended is None:
        take(clf.silence(scan_target=True))
    return scans, aside


def scanner_profile(rng: random.Random, n: int, low: int, high: int, stall: bool) -> dict[str, int]:
    clf = BurstClassifier()
    counts = {"whole": 0, "set_aside": 0, "wrong": 0}
    ts = 0
    for _ in range(n):
        code = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(8, 20)))
        gaps = [rng.randint(low, high) for _ in code]
        if stall:
            gaps[rng.randrange(len(code) - 1)] = rng.randint(200, 400)
        ts += sum(gaps) + rng.randint(600, 3_000)
        scans, aside = run(clf, code, gaps, ts)
        if scans == [code] and not aside:
            counts["whole"] += 1
        elif not scans and aside == code:
            counts["set_aside"] += 1
        else:
            counts["wrong"] += 1
    return counts


def person_profile(rng: random.Random, n: int, low: int, high: int) -> dict[str, int]:
    clf = BurstClassifier()
    counts = {"typing": 0, "taken_for_scan": 0}
    ts = 0
    for _ in range(n):
        text = "".join(rng.choice("0123456789B-") for _ in range(rng.randint(4, 14)))
        gaps = [rng.randint(low, high) for _ in text]
        ts += sum(gaps) + rng.randint(1_000, 5_000)
        scans, _ = run(clf, text, gaps, ts)
        counts["taken_for_scan" if scans else "typing"] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = fx.base_parser(__doc__ or "")
    args = parser.parse_args(argv)
    n = 2_000 if args.quick else 20_000
    rng = random.Random(12)
    report: dict[str, object] = {"n": n, "machine": fx.machine(), "scanners": {}, "people": {}}
    rows = []
    for name, (low, high, stall) in SCANNERS.items():
        counts = scanner_profile(rng, n, low, high, stall)
        report["scanners"][name] = counts  # type: ignore[index]
        rows.append((name, f"{counts['whole'] / n:.2%}", f"{counts['set_aside'] / n:.2%}", str(counts["wrong"]), ""))
    for name, (low, high) in PEOPLE.items():
        counts = person_profile(rng, n, low, high)
        report["people"][name] = counts  # type: ignore[index]
        rows.append((name, "", "", "", f"{counts['taken_for_scan'] / n:.3%}"))
    fx.print_table(("profile", "whole scans", "set aside (shown)", "wrong scans", "taken for a scan"), rows)
    load = ", ".join(f"{x:.2f}" for x in report["machine"]["loadavg_at_start"])  # type: ignore[index]
    print(f"\n{n:,} codes or texts per profile; lost: 0 by construction (every sequence is a scan or shown); "
          f"load average at start {load} on {report['machine']['cpus']} CPUs")  # type: ignore[index]
    if not args.no_json:
        print(f"wrote {fx.write_json('wedge_rule', report)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
