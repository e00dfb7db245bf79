"""Bounds, preview and the search for the latest occurrence."""

from __future__ import annotations

from datetime import datetime

import pytest

from espf.calendar.occurrences import (
    MAX_PREVIEW,
    latest_occurrence,
    make_recurrence,
    next_occurrence,
    occurrences_after,
    preview,
)
from espf.errors import BadRequest

from .helpers import utc_ms

DAY = 86_400_000


def test_next_occurrence_is_strictly_after() -> None:
    recurrence = make_recurrence("daily at 00:00", "UTC")
    for after, expected in [
        (utc_ms(2026, 5, 1) - 1, utc_ms(2026, 5, 1)),
        (utc_ms(2026, 5, 1), utc_ms(2026, 5, 2)),
    ]:
        found = next_occurrence(recurrence, after)
        assert found is not None and found.instant_ms == expected


def test_start_is_inclusive_and_end_exclusive() -> None:
    start, end = utc_ms(2026, 1, 1), utc_ms(2027, 1, 1)
    recurrence = make_recurrence("monthly on day 1 at 00:00", "UTC", start, end)
    got = [o.instant_ms for o in occurrences_after(recurrence, 0)]
    assert got[0] == start
    assert len(got) == 12
    assert next_occurrence(recurrence, got[-1]) is None


def test_interval_rules_are_anchored_on_the_start() -> None:
    start = utc_ms(2026, 1, 1, 0, 7)
    recurrence = make_recurrence("every 10 minutes", "Asia/Kolkata", start_ms=start)
    got = preview(recurrence, 0, 3)
    assert [o.instant_ms for o in got] == [start, start + 600_000, start + 1_200_000]
    assert got[0].local.strftime("%Y-%m-%d %H:%M %z") == "2026-01-01 05:37 +0530"


def test_end_must_be_after_start() -> None:
    for end in (utc_ms(2026, 1, 1), utc_ms(2025, 12, 31)):
        with pytest.raises(BadRequest) as caught:
            make_recurrence("daily at 00:00", "UTC", utc_ms(2026, 1, 1), end)
        assert caught.value.code == "invalid_schedule_bounds"
        assert "end" in caught.value.message and "after its start" in caught.value.message


def test_bounds_without_an_occurrence_between_them_are_refused() -> None:
    with pytest.raises(BadRequest) as caught:
        make_recurrence("monthly on day 1 at 00:00", "UTC", utc_ms(2026, 1, 2), utc_ms(2026, 2, 1))
    assert "no occurrence between the start and the end" in caught.value.message


def test_unknown_zone_and_bad_rule_are_refused_by_make_recurrence() -> None:
    with pytest.raises(BadRequest, match="unknown time zone 'Europe/Atlantis'"):
        make_recurrence("daily at 00:00", "Europe/Atlantis")
    with pytest.raises(BadRequest, match="never fires"):
        make_recurrence("30 2 30 2 *", "Europe/Prague")


def test_preview_gives_utc_and_local_times() -> None:
    recurrence = make_recurrence("daily at 02:30", "Europe/Prague")
    got = preview(recurrence, utc_ms(2026, 3, 28, 12), 2)
    assert [(o.instant_ms, o.local.isoformat(), o.wall) for o in got] == [
        (utc_ms(2026, 3, 29, 1), "2026-03-29T03:00:00+02:00", datetime(2026, 3, 29, 2, 30)),
        (utc_ms(2026, 3, 30, 0, 30), "2026-03-30T02:30:00+02:00", datetime(2026, 3, 30, 2, 30)),
    ]


@pytest.mark.parametrize("count", [0, -1, MAX_PREVIEW + 1])
def test_preview_count_is_checked(count: int) -> None:
    recurrence = make_recurrence("daily at 02:30", "UTC")
    with pytest.raises(BadRequest, match=f"count must be from 1 to {MAX_PREVIEW}"):
        preview(recurrence, 0, count)


def test_preview_stops_at_the_end() -> None:
    recurrence = make_recurrence("daily at 00:00", "UTC", utc_ms(2026, 1, 1), utc_ms(2026, 1, 4))
    assert len(preview(recurrence, 0, 10)) == 3


@pytest.mark.parametrize(
    ("rule", "at", "after", "expected"),
    [
        ("every 1 minute", utc_ms(2026, 6, 1, 12, 0) + 30_000, 0, utc_ms(2026, 6, 1, 12, 0)),
        ("monthly on day 1 at 00:00", utc_ms(2026, 6, 15), 0, utc_ms(2026, 6, 1)),
        ("0 0 29 2 *", utc_ms(2026, 6, 15), 0, utc_ms(2024, 2, 29)),  # years back
        ("daily at 00:00", utc_ms(2026, 6, 15), utc_ms(2026, 6, 15) - 1, utc_ms(2026, 6, 15)),
        ("daily at 00:00", utc_ms(2026, 6, 15, 12), utc_ms(2026, 6, 15), None),  # none after
    ],
)
def test_latest_occurrence(rule: str, at: int, after: int, expected: int | None) -> None:
    found = latest_occurrence(make_recurrence(rule, "UTC"), at, after)
    assert (found.instant_ms if found else None) == expected


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("0 9 * * 1#2", [utc_ms(2026, 1, 12, 9), utc_ms(2026, 2, 9, 9)]),  # second Monday
        ("0 9 * * 5L", [utc_ms(2026, 1, 30, 9), utc_ms(2026, 2, 27, 9)]),  # last Friday
        ("0 9 LW * *", [utc_ms(2026, 1, 30, 9), utc_ms(2026, 2, 27, 9)]),  # last weekday
        ("0 9 13 * 5", [utc_ms(2026, 1, 2, 9), utc_ms(2026, 1, 9, 9)]),  # 13th or a Friday
        # "*/10" starts with a star, so both must match: a Friday the 1st, 11th, 21st or 31st.
        ("0 9 */10 * 5", [utc_ms(2026, 5, 1, 9), utc_ms(2026, 7, 31, 9)]),
    ],
)
def test_cron_extensions_and_day_field_semantics(rule: str, expected: list[int]) -> None:
    got = preview(make_recurrence(rule, "UTC"), utc_ms(2026, 1, 1), len(expected))
    assert [o.instant_ms for o in got] == expected
