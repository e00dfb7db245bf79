"""Retry policy: what an attempt's result means and when to try again.

Pure functions; the dispatcher supplies the randomness source so that tests
can make it deterministic.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    DELIVERED = "delivered"
    REJECTED = "rejected"
    RETRY = "retry"


def classify(status_code: int | None) -> Verdict:
    """The original's rule: 2xx delivered; 4xx rejected, never resent; anything
    else (other codes, a broken connection or a timeout: ``None``) resent."""
    if status_code is None:
        return Verdict.RETRY
    if 200 <= status_code < 300:
        return Verdict.DELIVERED
    if 400 <= status_code < 500:
        return Verdict.REJECTED
    return Verdict.RETRY


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential back-off: ``base * factor**(n-1)`` capped at ``cap``, with
    "equal jitter" (the delay is drawn from its upper half), so that resends
    of many deliveries that failed together spread out instead of arriving
    together, while no resend comes sooner than half the nominal delay.

    The defaults give about 11 fast tries in the first hour, then one an hour,
    for 50 attempts (about a day and a half) before a delivery is ``failed``.
    """

    base_s: float = 1.0
    factor: float = 2.0
    cap_s: float = 3600.0
    max_attempts: int = 50

    def nominal_delay_s(self, attempts_made: int) -> float:
        exponent = max(attempts_made - 1, 0)
        # min() before the power would overflow for large attempt counts.
        if exponent > 64:
            return self.cap_s
        return float(min(self.cap_s, self.base_s * self.factor**exponent))

    def next_delay_ms(self, attempts_made: int, rng: random.Random | None = None) -> int | None:
        """Delay before the next attempt after ``attempts_made`` failures, or
        ``None`` when the limit is reached and the delivery has failed."""
        if attempts_made >= self.max_attempts:
            return None
        nominal = self.nominal_delay_s(attempts_made)
        draw = (rng or random).random()
        return int((nominal / 2 + draw * nominal / 2) * 1000)
