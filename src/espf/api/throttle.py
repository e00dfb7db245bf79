"""Slowing down password guessing.

Failed logins are counted per client address over a sliding window; past the
limit, that address gets 429 with Retry-After until the window has moved on.
Only the guessing address is slowed: the real user, logging in from
elsewhere, is never locked out, and a success does not reset the count (a
guesser could otherwise interleave one known good login)."""

from __future__ import annotations

import math
import time
from collections import deque

from espf.errors import TooManyRequests

MAX_TRACKED_ADDRESSES = 100_000
_NONE: deque[float] = deque(maxlen=0)  # the usual answer: no failures, shared


class LoginThrottle:
    def __init__(self, max_failures: int = 10, window_s: float = 60.0) -> None:
        self._max = max_failures
        self._window = window_s
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, address: str, now: float) -> deque[float]:
        times = self._failures.get(address)
        if times is None:
            return _NONE
        while times and times[0] <= now - self._window:
            times.popleft()
        if not times:
            del self._failures[address]
        return times

    def check(self, address: str) -> None:
        """Raise TooManyRequests if ``address`` has failed too often lately."""
        now = time.monotonic()
        times = self._recent(address, now)
        if len(times) >= self._max:
            wait = max(1, math.ceil(times[0] + self._window - now))
            raise TooManyRequests(
                f"too many failed logins from {address}; try again in {wait} s",
                retry_after_s=wait,
            )

    def failed(self, address: str) -> None:
        if len(self._failures) >= MAX_TRACKED_ADDRESSES:
            self._failures.clear()  # under a flood, forget rather than grow without end
        self._failures.setdefault(address, deque()).append(time.monotonic())
