"""The keyboard-wedge rule (app.wedge), Qt-free: characters and timestamps in, scans or typing out."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from app.config import ConfigError, load_config
from app.wedge import (
    JITTER_MS,
    STALL_MS,
    TYPING_GAP_MS,
    TYPING_MEAN_MS,
    Burst,
    BurstClassifier,
    SetAside,
    WedgeConfigError,
    WedgeSettings,
)

EAN = "6901234560011"
SF = "SF1400000000001"


def feed(clf: BurstClassifier, text: str, gaps: list[int], start: int = 1_000,
         suffix: bool = True) -> tuple[list[Burst], int]:
    """Type `text` with `gaps[i]` ms before character i+1 (and the last gap before the suffix)."""
    ended: list[Burst] = []
    ts = start
    for i, ch in enumerate(text):
        if i:
            ts += gaps[i - 1]
        burst = clf.key(ch, ts)
        if burst is not None:
            ended.append(burst)
    if suffix:
        ts += gaps[len(text) - 1]
        burst = clf.suffix(ts)
        if burst is not None:
            ended.append(burst)
    return ended, ts


def jitter(rng: random.Random, n: int, low: int = 10, high: int = 80) -> list[int]:
    return [rng.randint(low, high) for _ in range(n)]


def test_a_scanner_burst_ended_by_its_suffix_is_a_scan() -> None:
    clf = BurstClassifier()
    ended, _ = feed(clf, EAN, [10] * len(EAN))
    assert [(b.code, b.suffixed) for b in ended] == [(EAN, True)]
    assert not clf.open


def test_jittered_scans_under_load_are_all_scans() -> None:
    """200 codes of 8–20 characters, each key 10–80 ms after the last (seeded): every one a scan,
    from a classifier that starts at 30 ms and one that first learned an idle 10 ms scanner."""
    rng = random.Random(12)
    for warm in (False, True):
        clf = BurstClassifier()
        if warm:
            for _ in range(20):
                feed(clf, EAN, [10] * len(EAN))
            assert clf.pace_ms < 12
        codes = ["".join(rng.choice("0123456789ABCDEFGHJK") for _ in range(rng.randint(8, 20))) for _ in range(200)]
        got: list[str | None] = []
        ts = 1_000
        for code in codes:
            ended, ts = feed(clf, code, jitter(rng, len(code)), start=ts + 800)
            got.extend(b.code for b in ended)
        assert got == codes


def test_a_person_typing_a_code_and_enter_is_typing() -> None:
    """People: 100–350 ms a key, and a fast typist's 70–200 ms with many quick pairs. Never a scan."""
    rng = random.Random(7)
    for low, high in ((100, 350), (70, 200)):
        clf = BurstClassifier()
        ts = 0
        for _ in range(200):
            text = "".join(rng.choice("0123456789B-") for _ in range(rng.randint(4, 14)))
            ended, ts = feed(clf, text, jitter(rng, len(text), low, high), start=ts + rng.randint(500, 3_000))
            assert all(b.code is None for b in ended), ended
            assert clf.pace_ms == 30  # typing teaches nothing about the scanner


def test_typing_keys_each_stand_alone_so_a_field_shows_them_at_once() -> None:
    clf = BurstClassifier()
    assert clf.key("a", 1_000) is None
    ended = clf.key("b", 1_000 + TYPING_GAP_MS + 1)
    assert ended == Burst("a", None, False, 1_000)
    assert clf.pending == "b"


def test_too_short_a_burst_is_typing_however_fast() -> None:
    ended, _ = feed(BurstClassifier(), "ab", [10, 10])
    assert [b.code for b in ended] == [None] and ended[0].typed == "ab"


def test_a_suffix_long_after_the_last_key_is_not_the_scanners() -> None:
    clf = BurstClassifier()
    feed(clf, EAN, [10] * len(EAN), suffix=False)
    assert clf.suffix(1_000 + 12 * 10 + STALL_MS + 1) is None
    assert clf.open  # the caller ends it: a person's Enter


def test_one_stall_mid_scan_does_not_cut_the_code_in_two() -> None:
    gaps = [12] * len(SF)
    gaps[6] = STALL_MS - 50  # the machine held one key back
    ended, _ = feed(BurstClassifier(), SF, gaps)
    assert [b.code for b in ended] == [SF]


def test_a_configured_prefix_is_stripped_and_vouches_for_a_slower_scanner() -> None:
    clf = BurstClassifier(WedgeSettings(prefix="\x02"))
    slow = [85] * (len(EAN) + 1)  # slower than the unprefixed limit, still faster than people type
    assert clf.mean_ms < 85 < TYPING_MEAN_MS
    ended, _ = feed(clf, "\x02" + EAN, slow)
    assert [b.code for b in ended] == [EAN]
    ended, _ = feed(BurstClassifier(), EAN, slow[1:])
    assert [b.code for b in ended] == [None]  # the same timing without the prefix: typing


def test_a_prefix_alone_is_not_a_code() -> None:
    ended, _ = feed(BurstClassifier(WedgeSettings(prefix="##", min_length=4)), "##123", [10] * 5)
    assert [b.code for b in ended] == [None]


def test_a_character_suffix() -> None:
    clf = BurstClassifier(WedgeSettings(suffix="#"))
    assert clf.is_suffix_char("#") and not clf.is_suffix_char("\r")
    assert clf.settings.suffix_keys == frozenset()
    ended, _ = feed(clf, EAN, [10] * len(EAN))
    assert [b.code for b in ended] == [EAN]


def test_without_a_suffix_silence_ends_the_scan_where_only_a_scan_is_meant() -> None:
    clf = BurstClassifier()
    feed(clf, EAN, jitter(random.Random(3), len(EAN)), suffix=False)
    burst = clf.silence(scan_target=True)
    assert burst is not None and burst.code == EAN and not burst.suffixed
    feed(clf, EAN, [10] * len(EAN), suffix=False)
    burst = clf.silence(scan_target=False)  # a text field has the focus: someone may be typing there
    assert burst is not None and burst.code is None and burst.typed == EAN
    assert clf.learned == 0  # a guess without a suffix teaches nothing


def test_a_scanner_configured_without_suffix_scans_into_fields_too_and_teaches_its_pace() -> None:
    clf = BurstClassifier(WedgeSettings(suffix="none"))
    assert clf.settings.suffix_keys == frozenset()
    feed(clf, EAN, [20] * len(EAN), suffix=False)
    burst = clf.silence(scan_target=False)
    assert burst is not None and burst.code == EAN and clf.learned == 1


def test_back_to_back_codes_without_suffix_split_at_the_pause() -> None:
    clf = BurstClassifier(WedgeSettings(suffix="none"))
    feed(clf, EAN, [10] * len(EAN), suffix=False)
    ended, _ = feed(clf, SF, [10] * len(SF), start=1_000 + 12 * 10 + STALL_MS + 1, suffix=False)
    last = clf.silence(scan_target=False)
    assert [b.code for b in ended] == [EAN] and last is not None and last.code == SF


def test_a_slow_scanner_is_learned_and_its_limits_widen() -> None:
    """A Bluetooth scanner at 40–50 ms a key with the odd 110 ms gap: accepted from the start, and
    once learned, its pace widens the join gap so load on top of it does not cut its codes."""
    rng = random.Random(5)
    clf = BurstClassifier()
    before = (clf.join_ms, clf.mean_ms)
    for _ in range(30):
        gaps = [rng.randint(40, 50) for _ in EAN]
        gaps[rng.randrange(len(gaps))] = 110
        ended, _ = feed(clf, EAN, gaps)
        assert [b.code for b in ended] == [EAN]
    assert 40 <= clf.pace_ms <= 50 and clf.learned == 30
    assert before == (JITTER_MS + 10, 75) and clf.join_ms == TYPING_GAP_MS and clf.mean_ms == TYPING_MEAN_MS


def test_a_released_head_is_reported_with_the_scan_that_completed_it() -> None:
    clf = BurstClassifier()
    for i, ch in enumerate("SF14"):
        clf.key(ch, 1_000 + 10 * i)
    assert clf.release() == "SF14" and clf.pending == ""
    ended, _ = feed(clf, SF[4:], [10] * len(SF), start=1_040)
    assert [(b.code, b.released) for b in ended] == [(SF, "SF14")]


def test_input_method_text_joins_the_sequence() -> None:
    clf = BurstClassifier()
    clf.key("B", 1_000)
    clf.key("-", 1_010)
    clf.commit("1001")
    burst = clf.suffix(1_020)
    assert burst is not None and burst.code == "B-1001"


@pytest.mark.parametrize(("settings", "message"), [
    ({"gap_ms": 0}, "wedge_gap_ms must be at least 1"),
    ({"min_length": 0}, "wedge_min_length must be at least 1"),
    ({"suffix": "cr"}, "wedge_suffix must be one of auto, enter, tab, none or one character"),
    ({"suffix": "#", "prefix": "#"}, "is also in wedge_prefix"),
])
def test_bad_settings_are_refused_in_one_line(settings: dict[str, object], message: str) -> None:
    with pytest.raises(WedgeConfigError, match=message):
        WedgeSettings(**settings)  # type: ignore[arg-type]


def test_station_toml_keys(tmp_path: Path) -> None:
    (tmp_path / "station.toml").write_text('wedge_prefix = "\\u0002"\nwedge_suffix = "tab"\nwedge_gap_ms = 20\n')
    assert load_config(tmp_path).wedge_settings() == WedgeSettings(gap_ms=20, prefix="\x02", suffix="tab")
    (tmp_path / "station.toml").write_text('wedge_suffix = "crlf"\n')
    with pytest.raises(ConfigError, match=r"station\.toml: wedge_suffix must be one of"):
        load_config(tmp_path)


def test_set_aside_text_waits_then_expires() -> None:
    aside = SetAside(expire_s=30)
    aside.add("69", now=100.0)
    aside.add("01", now=110.0)
    assert aside.text == "6901" and aside.expired(now=139.0) is None
    assert aside.expired(now=140.0) == "6901" and aside.text == ""


def test_set_aside_text_taken_back_by_the_scan_it_began_or_accepted() -> None:
    aside = SetAside()
    aside.add("xy", now=0.0)
    aside.add("SF14", now=1.0)
    aside.retract("SF14")
    aside.retract("nothing like it")
    assert aside.text == "xy"
    assert aside.take() == "xy" and aside.text == "" and aside.expired(now=1e9) is None


def test_set_aside_text_stands_aside_for_the_same_code_scanned() -> None:
    aside = SetAside()
    aside.add("6901234560011", now=0.0)
    assert not aside.scanned("6901234560028") and aside.text == "6901234560011"
    assert aside.scanned("6901234560011") and aside.text == ""
