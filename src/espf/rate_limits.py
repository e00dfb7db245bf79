"""Per-handler delivery limits: at most ``max_in_flight`` requests open at
once and at most ``max_rate`` requests per second (a token bucket holding up
to ``rate_burst`` tokens), counted over every dispatcher node.

Pure rules: the store keeps the bucket in the database (handler_limits) and
asks these functions, inside the claim's transaction, how many of a
handler's due deliveries it may claim now and when the bucket is next ready.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from espf.domain import Handler

# Without an explicit burst, a bucket holds a twentieth of a second's worth
# of tokens (at least one): no one-second window of claims holds more than
# 105 % of the rate, which leaves room for the jitter of sending under load
# below 110 %.
DEFAULT_BURST_FRACTION = 0.05
MAX_IN_FLIGHT = 100_000
MAX_RATE = 1_000_000.0
MIN_RATE = 0.01  # one request in 100 s
MAX_BURST = 1_000_000


def is_limited(handler: Handler) -> bool:
    return bool(handler.max_in_flight) or bool(handler.max_rate)


def burst_of(max_rate: float, rate_burst: int | None) -> int:
    if rate_burst:
        return rate_burst
    return max(1, math.ceil(max_rate * DEFAULT_BURST_FRACTION))


@dataclass(frozen=True, slots=True)
class Bucket:
    tokens: float
    refilled_at: int  # ms


def full_bucket(handler: Handler, now: int) -> Bucket:
    rate = handler.max_rate or 0.0
    return Bucket(float(burst_of(rate, handler.rate_burst)) if rate else 0.0, now)


def refill(handler: Handler, bucket: Bucket, now: int) -> Bucket:
    """The bucket at ``now``: tokens grow with the time since it was last
    refilled, up to the burst."""
    rate = handler.max_rate
    if not rate:
        return bucket
    elapsed_s = max(0, now - bucket.refilled_at) / 1000
    burst = float(burst_of(rate, handler.rate_burst))
    return Bucket(min(burst, bucket.tokens + elapsed_s * rate), max(now, bucket.refilled_at))


def may_send(handler: Handler, bucket: Bucket, in_flight: int, wanted: int) -> int:
    """How many of ``wanted`` due deliveries may go out now, given the
    refilled bucket and the requests open on every node."""
    count = max(0, wanted)
    if handler.max_in_flight:
        count = min(count, max(0, handler.max_in_flight - in_flight))
    if handler.max_rate:
        count = min(count, int(bucket.tokens + 1e-9))
    return count


def spend(handler: Handler, bucket: Bucket, sent: int) -> tuple[Bucket, int]:
    """The bucket after ``sent`` requests, and when it next holds a whole
    token (ms; 0 without a rate: only the in-flight limit applies)."""
    rate = handler.max_rate
    if not rate:
        return bucket, 0
    tokens = bucket.tokens - sent
    at = bucket.refilled_at
    ready_at = at if tokens >= 1 - 1e-9 else at + math.ceil((1 - tokens) / rate * 1000)
    return Bucket(tokens, at), ready_at
