"""Occurrences across daylight-saving changes, with exact expected instants.

Zones: Europe/Prague and America/New_York (north), Australia/Sydney (south),
Australia/Adelaide (half-hour offset with DST), Asia/Kolkata (half-hour
offset, no DST), Australia/Lord_Howe (clocks move by half an hour) and
America/Santiago (the clocks jump at midnight).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from itertools import islice, pairwise

import pytest

from espf.calendar.occurrences import make_recurrence, occurrences_after
from espf.calendar.zones import _known_zone_names

from .helpers import local_ms, utc_ms

HOUR = 3_600_000


def instants(rule: str, zone: str, after_ms: int, count: int) -> list[int]:
    recurrence = make_recurrence(rule, zone)
    return [o.instant_ms for o in islice(occurrences_after(recurrence, after_ms), count)]


@pytest.mark.parametrize(
    ("zone", "rule", "after", "expected"),
    [
        # Spring forward: 02:30 does not exist; it fires once, when the clocks jump.
        (
            "Europe/Prague",
            "daily at 02:30",
            utc_ms(2026, 3, 27, 12),
            [utc_ms(2026, 3, 28, 1, 30), utc_ms(2026, 3, 29, 1, 0), utc_ms(2026, 3, 30, 0, 30)],
        ),
        # Fall back: 02:30 happens twice; it fires on the first (CEST) pass only.
        (
            "Europe/Prague",
            "daily at 02:30",
            utc_ms(2026, 10, 23, 12),
            [utc_ms(2026, 10, 24, 0, 30), utc_ms(2026, 10, 25, 0, 30), utc_ms(2026, 10, 26, 1, 30)],
        ),
        (
            "America/New_York",
            "daily at 02:30",
            utc_ms(2026, 3, 7, 0),
            [utc_ms(2026, 3, 7, 7, 30), utc_ms(2026, 3, 8, 7, 0), utc_ms(2026, 3, 9, 6, 30)],
        ),
        # New York repeats 01:00-02:00.
        (
            "America/New_York",
            "daily at 01:30",
            utc_ms(2026, 10, 31, 0),
            [utc_ms(2026, 10, 31, 5, 30), utc_ms(2026, 11, 1, 5, 30), utc_ms(2026, 11, 2, 6, 30)],
        ),
        # Southern hemisphere: DST ends on the first Sunday of April ...
        (
            "Australia/Sydney",
            "daily at 02:30",
            utc_ms(2026, 4, 3, 0),
            [utc_ms(2026, 4, 3, 15, 30), utc_ms(2026, 4, 4, 15, 30), utc_ms(2026, 4, 5, 16, 30)],
        ),
        # ... and starts on the first Sunday of October.
        (
            "Australia/Sydney",
            "daily at 02:30",
            utc_ms(2026, 10, 2, 0),
            [utc_ms(2026, 10, 2, 16, 30), utc_ms(2026, 10, 3, 16, 0), utc_ms(2026, 10, 4, 15, 30)],
        ),
        (
            "Australia/Adelaide",
            "daily at 02:30",
            utc_ms(2026, 4, 3, 0),
            [utc_ms(2026, 4, 3, 16, 0), utc_ms(2026, 4, 4, 16, 0), utc_ms(2026, 4, 5, 17, 0)],
        ),
        (
            "Australia/Adelaide",
            "daily at 02:30",
            utc_ms(2026, 10, 2, 0),
            [utc_ms(2026, 10, 2, 17, 0), utc_ms(2026, 10, 3, 16, 30), utc_ms(2026, 10, 4, 16, 0)],
        ),
        (
            "Asia/Kolkata",
            "daily at 02:30",
            utc_ms(2026, 3, 27, 12),
            [utc_ms(2026, 3, 27, 21, 0), utc_ms(2026, 3, 28, 21, 0), utc_ms(2026, 3, 29, 21, 0)],
        ),
        # Lord Howe skips 02:00-02:30: 02:15 fires at 02:30 (+11:00).
        (
            "Australia/Lord_Howe",
            "daily at 02:15",
            utc_ms(2026, 10, 2, 0),
            [utc_ms(2026, 10, 2, 15, 45), utc_ms(2026, 10, 3, 15, 30), utc_ms(2026, 10, 4, 15, 15)],
        ),
        # Santiago skips midnight: the day still gets its 00:00 occurrence, at 01:00.
        (
            "America/Santiago",
            "daily at 00:00",
            utc_ms(2026, 9, 4, 12),
            [utc_ms(2026, 9, 5, 4, 0), utc_ms(2026, 9, 6, 4, 0), utc_ms(2026, 9, 7, 3, 0)],
        ),
        # Wall times that a gap moves onto one instant fire once there.
        (
            "Europe/Prague",
            "0,30 2,3 * * *",
            utc_ms(2026, 3, 28, 12),
            [utc_ms(2026, 3, 29, 1, 0), utc_ms(2026, 3, 29, 1, 30), utc_ms(2026, 3, 30, 0, 0)],
        ),
    ],
)
def test_fixed_time_rules_at_dst_changes(
    zone: str, rule: str, after: int, expected: list[int]
) -> None:
    assert instants(rule, zone, after, len(expected)) == expected


def test_a_shifted_occurrence_shows_the_time_it_was_asked_for_and_the_time_it_fired() -> None:
    recurrence = make_recurrence("daily at 02:30", "Europe/Prague")
    shifted = next(occurrences_after(recurrence, utc_ms(2026, 3, 28, 12)))
    assert shifted.wall == datetime(2026, 3, 29, 2, 30)
    assert shifted.local.replace(tzinfo=None) == datetime(2026, 3, 29, 3, 0)
    assert shifted.shifted
    normal = next(occurrences_after(recurrence, shifted.instant_ms))
    assert not normal.shifted


@pytest.mark.parametrize(
    ("zone", "after", "expected"),
    [
        # Fall back: the repeated hour is a real hour, so :15 fires in both passes.
        (
            "Europe/Prague",
            utc_ms(2026, 10, 24, 23, 0),
            [
                utc_ms(2026, 10, 24, 23, 15),
                utc_ms(2026, 10, 25, 0, 15),
                utc_ms(2026, 10, 25, 1, 15),
            ],
        ),
        # Spring forward: 02:15 never happens; 01:15 and 03:15 are an hour apart.
        (
            "Europe/Prague",
            utc_ms(2026, 3, 28, 23, 30),
            [utc_ms(2026, 3, 29, 0, 15), utc_ms(2026, 3, 29, 1, 15), utc_ms(2026, 3, 29, 2, 15)],
        ),
        (
            "America/New_York",
            utc_ms(2026, 11, 1, 4, 30),
            [utc_ms(2026, 11, 1, 5, 15), utc_ms(2026, 11, 1, 6, 15), utc_ms(2026, 11, 1, 7, 15)],
        ),
        # :15 in Kolkata is :45 UTC.
        (
            "Asia/Kolkata",
            utc_ms(2026, 1, 1, 0, 0),
            [utc_ms(2026, 1, 1, 0, 45), utc_ms(2026, 1, 1, 1, 45), utc_ms(2026, 1, 1, 2, 45)],
        ),
        # Started inside the first pass, after its :15: the second pass's :15 is next.
        (
            "Europe/Prague",
            utc_ms(2026, 10, 25, 0, 30),
            [utc_ms(2026, 10, 25, 1, 15), utc_ms(2026, 10, 25, 2, 15)],
        ),
    ],
)
def test_hourly_rules_follow_the_clock(zone: str, after: int, expected: list[int]) -> None:
    assert instants("hourly at :15", zone, after, len(expected)) == expected


def test_an_hourly_rule_fires_once_in_every_real_hour_of_a_fall_back_day() -> None:
    # 25 hours from local midnight to midnight; 25 occurrences.
    start, end = local_ms("Europe/Prague", 2026, 10, 25), local_ms("Europe/Prague", 2026, 10, 26)
    assert (end - start) // HOUR == 25
    got = [ms for ms in instants("0 * * * *", "Europe/Prague", start - 1, 30) if ms < end]
    assert got == list(range(start, end, HOUR))


def test_a_rule_with_named_hours_fires_once_in_a_repeated_hour() -> None:
    # "*/30 2 * * *" names hour 2: its wall times fire on the first pass only.
    after = utc_ms(2026, 10, 24, 23, 0)
    got = instants("*/30 2 * * *", "Europe/Prague", after, 3)
    assert got == [utc_ms(2026, 10, 25, 0, 0), utc_ms(2026, 10, 25, 0, 30), utc_ms(2026, 10, 26, 1)]


@pytest.mark.parametrize("zone", ["Europe/Prague", "America/New_York", "Australia/Adelaide"])
def test_every_n_minutes_is_elapsed_time_across_both_changes(zone: str) -> None:
    for day in (date(2026, 3, 1), date(2026, 9, 1)):
        # A window of 250 days around each change of the year.
        after = local_ms(zone, day.year, day.month, day.day)
        got = instants("every 30 minutes", zone, after, 24 * 2 * 250)
        assert {b - a for a, b in pairwise(got)} == {30 * 60_000}
        assert all(ms % (30 * 60_000) == 0 for ms in got)  # anchored on the epoch


def test_every_n_minutes_shows_both_passes_of_a_repeated_hour_in_local_time() -> None:
    recurrence = make_recurrence("every 30 minutes", "Europe/Prague")
    got = list(islice(occurrences_after(recurrence, utc_ms(2026, 10, 24, 23, 50)), 5))
    assert [(o.local.strftime("%H:%M"), o.local.fold) for o in got] == [
        ("02:00", 0),
        ("02:30", 0),
        ("02:00", 1),
        ("02:30", 1),
        ("03:00", 0),
    ]


def all_zones() -> list[str]:
    return sorted(_known_zone_names())


def test_daily_0230_fires_exactly_once_on_every_day_of_the_year_in_every_zone() -> None:
    problems: list[tuple[str, object]] = []
    for zone_name in all_zones():
        recurrence = make_recurrence("daily at 02:30", zone_name)
        zone = recurrence.zone
        end = local_ms(zone_name, 2027, 1, 1)
        days = []
        for occurrence in occurrences_after(recurrence, local_ms(zone_name, 2026, 1, 1) - 1):
            if occurrence.instant_ms >= end:
                break
            days.append(occurrence.local.date())
            local = occurrence.local.replace(tzinfo=None)
            if occurrence.shifted:
                # Only a gap moves it: to the very instant the clocks jumped.
                before = datetime.fromtimestamp((occurrence.instant_ms - 1) / 1000, zone)
                if before.utcoffset() == occurrence.local.utcoffset() or local < occurrence.wall:
                    problems.append((zone_name, occurrence))
            elif local.time() != time(2, 30) or occurrence.local.fold:
                problems.append((zone_name, occurrence))
        first = date(2026, 1, 1)
        if days != [first + timedelta(days=n) for n in range(365)]:
            problems.append((zone_name, f"{len(days)} occurrences, {len(set(days))} days"))
    assert problems == []


@pytest.mark.parametrize(
    "zone", ["Europe/Prague", "Australia/Sydney", "Australia/Adelaide", "America/New_York"]
)
def test_monthly_on_day_1_at_midnight_across_a_year(zone: str) -> None:
    got = instants("monthly on day 1 at 00:00", zone, local_ms(zone, 2026, 1, 1) - 1, 13)
    assert got == [local_ms(zone, 2026 + month // 12, month % 12 + 1, 1) for month in range(13)]


def test_monthly_on_day_1_exact_instants_in_prague() -> None:
    got = instants("monthly on day 1 at 00:00", "Europe/Prague", utc_ms(2026, 1, 1), 12)
    # The month starts at 23:00 UTC the day before in winter, 22:00 in summer.
    assert got[0] == utc_ms(2026, 1, 31, 23)  # February 1st, CET
    assert got[2] == utc_ms(2026, 3, 31, 22)  # April 1st, CEST
    assert got[9] == utc_ms(2026, 10, 31, 23)  # November 1st, CET again
    assert got[11] == utc_ms(2026, 12, 31, 23)  # January 1st 2027


def test_monthly_on_the_last_day_covers_february_in_leap_and_common_years() -> None:
    got = instants("monthly on the last day at 12:00", "UTC", utc_ms(2027, 1, 31, 13), 14)
    assert got[0] == utc_ms(2027, 2, 28, 12)
    assert got[12] == utc_ms(2028, 2, 29, 12)
