"""Retry policy: what an attempt's result means and when to try again.

Pure functions; the dispatcher supplies the randomness so that tests can make
it deterministic.

The default schedule is fast at first, backs off over about a day, then
tries hourly until the horizon (``max_age``, 3 days by default) is reached:

    1, 2, 4, 8, 16, 30 s, 1, 2, 5, 10 min   (the first 20 minutes)
    every 15 min until about 6 h, every 30 min until about 24 h
    then every hour until the horizon

A handler may override the schedule, or use plain exponential back-off
(``base * factor**(n-1)``, capped), and limit by attempts or by age.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import StrEnum

from espf.errors import BadRequest


class Verdict(StrEnum):
    DELIVERED = "delivered"
    REJECTED = "rejected"
    RETRY = "retry"


# 408 Request Timeout and 429 Too Many Requests say "later", not "never".
_RETRYABLE_4XX = frozenset({408, 429})
# Statuses whose Retry-After header we honour.
RETRY_AFTER_STATUSES = frozenset({429, 503})


def classify(status_code: int | None) -> Verdict:
    """The original's rule: 2xx delivered; 4xx rejected, never resent (except
    408 and 429); anything else, a broken connection or a timeout (``None``):
    resent."""
    if status_code is None:
        return Verdict.RETRY
    if 200 <= status_code < 300:
        return Verdict.DELIVERED
    if 400 <= status_code < 500 and status_code not in _RETRYABLE_4XX:
        return Verdict.REJECTED
    return Verdict.RETRY


DEFAULT_SCHEDULE = "1,2,4,8,16,30,60,120,300,600,900*23,1800*36,3600"
# The longest single wait between two attempts: a year. Longer (or "inf",
# "nan") is a mistake, and would overflow the dispatcher's arithmetic.
MAX_DELAY_S = 366 * 86400.0
DEFAULT_MAX_AGE_S = 3 * 24 * 3600.0


def parse_schedule(text: str) -> tuple[float, ...]:
    """``"1,5,30,300*10,3600"``: delays in seconds, ``D*N`` repeating D N times;
    the last delay repeats until the policy's limit."""
    delays: list[float] = []
    for item in text.replace(" ", "").split(","):
        if not item:
            continue
        value, _, count = item.partition("*")
        try:
            seconds = float(value)
            times = int(count) if count else 1
        except ValueError:
            raise BadRequest(
                f"retry schedule item {item!r} is not 'SECONDS' or 'SECONDS*COUNT'",
                code="invalid_retry_policy",
            ) from None
        if not 0 < seconds <= MAX_DELAY_S or not 1 <= times <= 10_000:
            raise BadRequest(
                f"retry schedule item {item!r}: seconds must be > 0 and at most "
                f"{MAX_DELAY_S:g}, count 1..10000",
                code="invalid_retry_policy",
            )
        delays.extend([seconds] * times)
    if not delays:
        raise BadRequest("retry schedule is empty", code="invalid_retry_policy")
    return tuple(delays)


def parse_retry_after(value: str | None, now_ms: int) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an
    HTTP-date), or None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(when.timestamp() - now_ms / 1000, 0.0)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to try again. ``schedule`` wins over exponential back-off when
    set. Limits: ``max_attempts`` and ``max_age_s`` (either may be None = no
    limit; at least one should be set). Jitter takes each delay from its upper
    quarter down ("75 %..100 %"), so resends of many deliveries that failed
    together spread out, and none comes much sooner than planned."""

    schedule: tuple[float, ...] | None = parse_schedule(DEFAULT_SCHEDULE)
    base_s: float = 1.0
    factor: float = 2.0
    cap_s: float = 3600.0
    max_attempts: int | None = None
    max_age_s: float | None = DEFAULT_MAX_AGE_S

    def nominal_delay_s(self, attempts_made: int) -> float:
        """The planned wait after the ``attempts_made``-th failed attempt."""
        index = max(attempts_made - 1, 0)
        if self.schedule:
            return self.schedule[min(index, len(self.schedule) - 1)]
        if index > 64:  # the power would overflow long before the cap matters
            return self.cap_s
        return float(min(self.cap_s, self.base_s * self.factor**index))

    @property
    def longest_delay_s(self) -> float:
        return max(self.schedule) if self.schedule else self.cap_s

    def next_delay_ms(
        self,
        attempts_made: int,
        age_ms: int = 0,
        retry_after_s: float | None = None,
        rng: random.Random | None = None,
    ) -> int | None:
        """Delay before the next attempt, or None when a limit is reached and
        the delivery has failed. ``attempts_made`` and ``age_ms`` count from
        the start of the current retry budget. A ``Retry-After`` the
        Application sent is honoured up to the longest delay of the policy."""
        if self.max_attempts is not None and attempts_made >= self.max_attempts:
            return None
        nominal = self.nominal_delay_s(attempts_made)
        delay_s = nominal * (0.75 + 0.25 * (rng or random).random())
        if retry_after_s is not None:
            delay_s = max(delay_s, min(retry_after_s, self.longest_delay_s))
        if self.max_age_s is not None and (age_ms / 1000 + delay_s) > self.max_age_s:
            return None
        return int(delay_s * 1000)
