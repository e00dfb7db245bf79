"""When "the new month" starts for an account, in UTC as espf wants it."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def next_month_start(now: datetime, zone: ZoneInfo) -> datetime:
    """00:00 on the first of the month after ``now``, in ``zone``, as a UTC time.

    zoneinfo applies the offset in force at that local time, so the answer is
    right on either side of a DST change (New York is UTC-5 on 1 March and
    UTC-4 on 1 April). Where midnight itself does not exist (a zone that
    moves its clocks at 00:00, as Paraguay did on 1 October 2023), fold=0
    gives the instant the day starts.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local = now.astimezone(zone)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return datetime(year, month, 1, tzinfo=zone).astimezone(UTC)
