"""``start_time`` parsing: the contract's UTC format, ISO 8601 with offsets,
milliseconds kept, anything else a clear 400."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from espf.errors import BadRequest
from espf.timeparse import parse_start_time


def utc_ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    """Epoch milliseconds of a UTC wall-clock time, computed independently."""
    return int(datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp() * 1000)


MARCH_1_2021 = utc_ms(2021, 3, 1)


def test_contract_format_is_utc() -> None:
    # The seed's example: midnight of March 1, 2021, in UTC.
    assert parse_start_time("2021-03-01 00:00:00") == MARCH_1_2021 == 1_614_556_800_000


@pytest.mark.parametrize(
    "text",
    [
        "2021-03-01T00:00:00",  # ISO with T, no offset: UTC as well
        "2021-03-01T00:00:00Z",
        "2021-03-01T00:00:00z",
        "2021-03-01 00:00:00+00:00",
        "2021-03-01T02:00:00+02:00",
        "2021-03-01T02:00:00+0200",
        "2021-02-28T19:00:00-05:00",
        "2021-03-01T05:30:00+05:30",
        "  2021-03-01 00:00:00  ",  # surrounding spaces, as with event_type
    ],
)
def test_offsets_are_converted_to_the_same_instant(text: str) -> None:
    assert parse_start_time(text) == MARCH_1_2021


def test_minutes_without_seconds_are_accepted() -> None:
    assert parse_start_time("2021-03-01 00:00") == MARCH_1_2021


@pytest.mark.parametrize(
    ("text", "extra_ms"),
    [
        ("2021-03-01 00:00:00.5", 500),
        ("2021-03-01 00:00:00.123", 123),
        ("2021-03-01T00:00:00.123Z", 123),
        # Precision beyond the millisecond is dropped, never rounded up into
        # the next millisecond (that would deliver a hair late, never early).
        ("2021-03-01 00:00:00.123999", 123),
        ("2021-03-01 00:00:00.000001", 0),
    ],
)
def test_fractional_seconds_are_kept_to_the_millisecond(text: str, extra_ms: int) -> None:
    assert parse_start_time(text) == MARCH_1_2021 + extra_ms


def test_epoch_and_far_future_bounds() -> None:
    assert parse_start_time("1970-01-01 00:00:00") == 0
    assert parse_start_time("9998-12-31 23:59:59") == utc_ms(9998, 12, 31, 23, 59, 59)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "tomorrow",
        "now",
        "1614556800",  # epoch seconds are not a time string
        "2021-03-01",  # a date without a time: the API should not guess midnight
        "2021-W09-1 00:00:00",  # ISO week date
        "2021-060T00:00:00",  # ISO ordinal date
        "01/03/2021 00:00:00",
        "2021-3-1 0:0:0",
        "2021-13-01 00:00:00",  # month 13
        "2021-02-30 00:00:00",  # February 30
        "2021-03-01 24:00:00",
        "2021-03-01 00:60:00",
        "2021-03-01 00:00:00+24:00",  # offsets must be under a day
        "2021-03-01 00:00:00 UTC",
        "2021-03-01 00:00:00.1234567",  # more than microseconds
        "1969-12-31 23:59:59",  # before the epoch
        "9999-06-01 00:00:00",  # past the supported range
        "0001-01-01 00:00:00",
        # At the very edges, converting the offset leaves the calendar:
        # this must still be a 400, not an overflow inside datetime.
        "9999-12-31T23:59:59-01:00",
        "0001-01-01T00:00:00+01:00",
    ],
)
def test_garbage_is_rejected_as_bad_request(text: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_start_time(text)
    assert caught.value.http_status == 400
    assert caught.value.code == "invalid_start_time"
    assert "start_time" in caught.value.message
