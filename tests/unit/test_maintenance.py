"""Maintenance window rules with fixed instants: which window is open or
next, recurring windows in a zone across daylight-saving changes, merged
overlaps, the wording of the wait, and what a window being added may be."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from espf.errors import BadRequest
from espf.maintenance import (
    MaintenanceWindow,
    OpenWindow,
    is_open,
    next_window,
    validate_window,
    waiting_reason,
)


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def recurring(rule: str, zone: str, duration_s: int, i_window: int = 1) -> MaintenanceWindow:
    return MaintenanceWindow(i_window, 7, rule=rule, time_zone=zone, duration_s=duration_s)


def test_a_one_off_window_is_next_then_open_then_gone() -> None:
    window = MaintenanceWindow(
        1, 7, starts_at=ms("2026-12-02 01:00"), ends_at=ms("2026-12-02 03:00")
    )
    before = next_window([window], ms("2026-12-01 23:00"))
    assert before == OpenWindow(ms("2026-12-02 01:00"), ms("2026-12-02 03:00"))
    assert not is_open(before, ms("2026-12-01 23:00"))
    assert is_open(next_window([window], ms("2026-12-02 02:00")), ms("2026-12-02 02:00"))
    assert next_window([window], ms("2026-12-02 03:00")) is None


@pytest.mark.parametrize(
    ("now", "opens_utc"),
    [
        # Daily at 01:30 in Prague: 00:30 UTC in winter (CET, +01:00) ...
        ("2026-03-27 12:00", "2026-03-28 00:30"),
        # ... still on the night the clocks go forward (at 02:00, after it) ...
        ("2026-03-28 12:00", "2026-03-29 00:30"),
        # ... and 23:30 UTC the day before once it is summer time (CEST, +02:00).
        ("2026-03-29 12:00", "2026-03-29 23:30"),
        # Back in October: the night the clocks go back opens at CEST still.
        ("2026-10-24 12:00", "2026-10-24 23:30"),
        ("2026-10-25 12:00", "2026-10-26 00:30"),
    ],
)
def test_a_recurring_window_opens_at_its_local_time_across_daylight_saving(
    now: str, opens_utc: str
) -> None:
    window = recurring("daily at 01:30", "Europe/Prague", 3600)
    found = next_window([window], ms(now))
    assert found is not None
    assert (found.opens_at, found.closes_at) == (ms(opens_utc), ms(opens_utc) + 3_600_000)


def test_a_recurring_window_open_now_is_the_one_found() -> None:
    window = recurring("weekly on tuesday at 22:00", "Europe/Prague", 4 * 3600)
    # Tuesday 2026-12-01 22:00 CET = 21:00 UTC; now 23:30 CET, inside.
    found = next_window([window], ms("2026-12-01 22:30"))
    assert found == OpenWindow(ms("2026-12-01 21:00"), ms("2026-12-02 01:00"), "Europe/Prague")
    assert is_open(found, ms("2026-12-01 22:30"))


def test_overlapping_windows_make_one() -> None:
    a = MaintenanceWindow(1, 7, starts_at=ms("2026-12-02 01:00"), ends_at=ms("2026-12-02 02:00"))
    b = MaintenanceWindow(2, 7, starts_at=ms("2026-12-02 02:00"), ends_at=ms("2026-12-02 04:00"))
    c = MaintenanceWindow(3, 7, starts_at=ms("2026-12-03 00:00"), ends_at=ms("2026-12-03 01:00"))
    found = next_window([c, b, a], ms("2026-12-02 00:00"))
    assert found == OpenWindow(ms("2026-12-02 01:00"), ms("2026-12-02 04:00"))


def test_the_wait_is_worded_in_the_windows_zone() -> None:
    window = OpenWindow(ms("2026-12-01 21:00"), ms("2026-12-02 02:00"), "Europe/Prague")
    assert waiting_reason(window, ms("2026-12-01 23:30")) == "maintenance until 03:00 Europe/Prague"
    # Ends on another local day: the date is given.
    assert (
        waiting_reason(window, ms("2026-12-01 21:30"))
        == "maintenance until 2026-12-02 03:00 Europe/Prague"
    )
    one_off = OpenWindow(ms("2026-12-02 01:00"), ms("2026-12-02 03:00"))
    assert waiting_reason(one_off, ms("2026-12-02 02:00")) == "maintenance until 03:00 UTC"


@pytest.mark.parametrize(
    ("window", "message"),
    [
        (MaintenanceWindow(0, 7), "needs start and end"),
        (MaintenanceWindow(0, 7, starts_at=5_000, ends_at=4_000), "end after it starts"),
        (MaintenanceWindow(0, 7, starts_at=1_000, ends_at=2_000), "over already"),
        (recurring("daily at 01:30", "Europe/Prague", 0), "needs a duration"),
        (recurring("daily at 25:00", "Europe/Prague", 60), "rule"),
        (recurring("daily at 01:30", "Europe/Pargue", 60), "unknown time zone"),
        (
            MaintenanceWindow(0, 7, starts_at=1, ends_at=2, rule="daily at 01:00", duration_s=9),
            "not both",
        ),
    ],
)
def test_a_bad_window_is_refused_saying_why(window: MaintenanceWindow, message: str) -> None:
    with pytest.raises(BadRequest) as refused:
        validate_window(window, now=3_000)
    assert message in str(refused.value)
