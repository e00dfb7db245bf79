"""A local ``start_time`` with a ``time_zone``: the instant, and what was asked for."""

from __future__ import annotations

from datetime import datetime

import pytest

from espf.calendar.local_start import parse_local_start_time
from espf.errors import BadRequest

from .helpers import utc_ms


def test_the_seed_scenario_midnight_of_the_month_in_the_customers_zone() -> None:
    start = parse_local_start_time("2021-03-01 00:00:00", "Europe/Prague")
    assert start.instant_ms == utc_ms(2021, 2, 28, 23)
    assert start.asked == datetime(2021, 3, 1)
    assert start.local.isoformat() == "2021-03-01T00:00:00+01:00"
    assert start.time_zone == "Europe/Prague"


def test_a_time_in_the_gap_starts_when_the_clocks_jump() -> None:
    start = parse_local_start_time("2026-03-29T02:30", "Europe/Prague")
    assert start.instant_ms == utc_ms(2026, 3, 29, 1)
    assert start.asked == datetime(2026, 3, 29, 2, 30)
    assert start.local.isoformat() == "2026-03-29T03:00:00+02:00"


def test_a_repeated_time_starts_on_its_first_pass() -> None:
    start = parse_local_start_time("2026-04-05 02:30:00", "Australia/Sydney")
    assert start.instant_ms == utc_ms(2026, 4, 4, 15, 30)


def test_milliseconds_are_kept() -> None:
    start = parse_local_start_time("2026-01-01 00:00:00.250", "Asia/Kolkata")
    assert start.instant_ms == utc_ms(2025, 12, 31, 18, 30) + 250


@pytest.mark.parametrize(
    ("text", "zone", "says"),
    [
        ("2026-03-01T00:00:00+01:00", "Europe/Prague", "without an offset"),
        ("2026-03-01T00:00:00Z", "Europe/Prague", "without an offset"),
        ("tomorrow", "Europe/Prague", "is not a local time"),
        ("2026-02-30 00:00:00", "Europe/Prague", "is not a valid date and time"),
        ("1969-12-31 23:00:00", "Europe/Prague", "out of range"),
        ("9999-01-01 00:00:00", "Europe/Prague", "out of range"),
        ("2026-03-01 00:00:00", "Europe/Pargue", "unknown time zone 'Europe/Pargue'"),
    ],
)
def test_bad_local_start_times(text: str, zone: str, says: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_local_start_time(text, zone)
    assert says in caught.value.message
    assert caught.value.http_status == 400
