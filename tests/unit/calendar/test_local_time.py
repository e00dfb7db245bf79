"""A local time in a zone to a UTC instant: the gap and repeated-hour rules.

Expected instants are written out by hand from the zones' published rules.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from espf.calendar.local_time import from_ms, instants_of, local_at, resolve_local, to_ms
from espf.calendar.zones import load_zone

from .helpers import utc_ms

CASES = [
    # zone, local wall time, expected UTC instant, why
    ("Europe/Prague", datetime(2026, 3, 29, 2, 30), utc_ms(2026, 3, 29, 1, 0), "gap: 03:00 CEST"),
    ("Europe/Prague", datetime(2026, 3, 29, 2, 0), utc_ms(2026, 3, 29, 1, 0), "gap start"),
    ("Europe/Prague", datetime(2026, 3, 29, 1, 59), utc_ms(2026, 3, 29, 0, 59), "before gap"),
    ("Europe/Prague", datetime(2026, 3, 29, 3, 0), utc_ms(2026, 3, 29, 1, 0), "after gap"),
    ("Europe/Prague", datetime(2026, 10, 25, 2, 30), utc_ms(2026, 10, 25, 0, 30), "first pass"),
    ("Europe/Prague", datetime(2026, 10, 25, 3, 0), utc_ms(2026, 10, 25, 2, 0), "after repeat"),
    ("America/New_York", datetime(2026, 3, 8, 2, 30), utc_ms(2026, 3, 8, 7, 0), "gap: 03:00 EDT"),
    ("America/New_York", datetime(2026, 11, 1, 1, 30), utc_ms(2026, 11, 1, 5, 30), "1st: EDT"),
    # Southern hemisphere: DST ends in April and starts in October.
    ("Australia/Sydney", datetime(2026, 4, 5, 2, 30), utc_ms(2026, 4, 4, 15, 30), "1st: AEDT"),
    ("Australia/Sydney", datetime(2026, 10, 4, 2, 30), utc_ms(2026, 10, 3, 16, 0), "gap: AEDT"),
    # Half-hour offsets with DST: +10:30 and +09:30.
    ("Australia/Adelaide", datetime(2026, 4, 5, 2, 30), utc_ms(2026, 4, 4, 16, 0), "1st: ACDT"),
    ("Australia/Adelaide", datetime(2026, 10, 4, 2, 30), utc_ms(2026, 10, 3, 16, 30), "gap"),
    ("Australia/Adelaide", datetime(2026, 10, 4, 3, 0), utc_ms(2026, 10, 3, 16, 30), "gap end"),
    # Lord Howe moves its clocks by half an hour: gap 02:00-02:30, repeat 01:30-02:00.
    ("Australia/Lord_Howe", datetime(2026, 10, 4, 2, 15), utc_ms(2026, 10, 3, 15, 30), "gap"),
    ("Australia/Lord_Howe", datetime(2026, 4, 5, 1, 45), utc_ms(2026, 4, 4, 14, 45), "1st"),
    ("Asia/Kolkata", datetime(2026, 3, 29, 2, 30), utc_ms(2026, 3, 28, 21, 0), "no DST"),
]


@pytest.mark.parametrize(("zone", "wall", "expected", "why"), CASES)
def test_resolve_local(zone: str, wall: datetime, expected: int, why: str) -> None:
    assert resolve_local(wall, load_zone(zone)) == expected, why


def test_a_time_in_the_gap_has_no_instant_and_a_repeated_time_has_two() -> None:
    prague = load_zone("Europe/Prague")
    assert instants_of(datetime(2026, 3, 29, 2, 30), prague) == ()
    assert instants_of(datetime(2026, 10, 25, 2, 30), prague) == (
        utc_ms(2026, 10, 25, 0, 30),
        utc_ms(2026, 10, 25, 1, 30),
    )
    assert instants_of(datetime(2026, 7, 1, 12, 0), prague) == (utc_ms(2026, 7, 1, 10, 0),)


def test_local_at_marks_the_second_pass() -> None:
    prague = load_zone("Europe/Prague")
    first = local_at(utc_ms(2026, 10, 25, 0, 30), prague)
    second = local_at(utc_ms(2026, 10, 25, 1, 30), prague)
    assert (first.hour, first.minute, first.fold) == (2, 30, 0)
    assert (second.hour, second.minute, second.fold) == (2, 30, 1)


@pytest.mark.parametrize("ms", [0, 1, 999, 1_614_556_800_123, 253_402_300_799_999])
def test_milliseconds_round_trip_exactly(ms: int) -> None:
    assert to_ms(from_ms(ms)) == ms
