"""Instants for the calendar tests, computed without the code under test."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def utc_ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()) * 1000


def local_ms(zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    """A real (not gap) local time's instant; fold=0, the first pass of a repeated hour."""
    return int(datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone)).timestamp()) * 1000
