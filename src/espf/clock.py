"""Time, behind a seam so that tests can freeze it instead of sleeping.

espf keeps every instant as integer milliseconds since the Unix epoch (UTC):
they index well, compare cheaply and are exact to the millisecond that
scheduled delivery promises.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int: ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class FrozenClock:
    """A clock that moves only when a test moves it."""

    def __init__(self, now_ms: int = 1_700_000_000_000) -> None:
        self._now = now_ms

    def now_ms(self) -> int:
        return self._now

    def advance(self, ms: int) -> None:
        self._now += ms


def ms_to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def format_ms(ms: int | None) -> str:
    """The API's own time format: UTC, with milliseconds when they are not zero."""
    if ms is None:
        return ""
    dt = ms_to_datetime(ms)
    text = dt.strftime("%Y-%m-%d %H:%M:%S")
    if ms % 1000:
        text += f".{ms % 1000:03d}"
    return text
