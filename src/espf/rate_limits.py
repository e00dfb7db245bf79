"""Per-handler delivery limits: at most ``max_in_flight`` requests open at
once and at most ``max_rate`` requests per second (a token bucket holding up
to ``rate_burst`` tokens), counted over every dispatcher node.

Pure rules: the store keeps the bucket in the database (handler_limits) and
asks these functions, inside the claim's transaction, how many of a
handler's due deliveries it may claim now, the instant each may be sent,
and when the bucket is next ready.

Claims look a little ahead (``LOOKAHEAD_MS``): a delivery whose token comes
within that time is claimed now with its send slot, and the node sends it
at the slot. The bucket's clock runs ``HEADROOM_MS`` ahead of the claim's,
so that no slot is already past when the claim commits. The bucket is
counted at the slots, where the Application sees the requests, not at the
claims: a claim's round trip to the database then
no longer shifts when requests arrive (claims done on time at 50/s gave
56 arrivals in one second on a loaded machine), and a node that wakes a
little late loses no tokens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from espf.domain import Handler

# Without an explicit burst a bucket holds one token: requests go out evenly
# spaced, and no one-second window holds more than the rate plus one. The
# lookahead, not a burst, keeps a node that wakes late from losing tokens;
# the rest of the room below 110 % is for what the network adds (the first
# requests of a node wait for their connections and arrive together with
# the next ones). An Application that takes bursts says so with rate_burst.
DEFAULT_BURST = 1
MAX_IN_FLIGHT = 100_000
MAX_RATE = 1_000_000.0
MIN_RATE = 0.01  # one request in 100 s
MAX_BURST = 1_000_000
LOOKAHEAD_MS = 250
# Slots start this long after the claim begins: a claim's transaction (which
# may also fan out hundreds of events that just fell due) commits before its
# first slot, so the node sends on its slots instead of late, on top of the
# slots another node took meanwhile. Measured: a first claim with its fan-out
# took 108 ms on a busy machine, 40 ms on a quiet one.
HEADROOM_MS = 100
# A rate-limited handler's requests are sent by one node at a time, in
# turns: the node that claims its slots keeps the turn while it goes on
# claiming, and the turn passes to another node this long after that node's
# last slot (it died, stopped, or has no room). Slots of one bucket shared by
# several nodes kept the rate in the database, but each node's own lateness
# (a busy event loop, a claim that waited) put its requests on top of the
# next node's: 54 to 58 arrivals in the busiest second at 50/s on a loaded
# machine. One node's sends are spaced by its pacer whatever its lateness.
TURN_MS = 500


def is_limited(handler: Handler) -> bool:
    return bool(handler.max_in_flight) or bool(handler.max_rate)


def burst_of(max_rate: float, rate_burst: int | None) -> int:
    return rate_burst or DEFAULT_BURST


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


def _ahead(rate: float) -> float:
    """Tokens that may be spent before they exist: those of the lookahead."""
    return rate * LOOKAHEAD_MS / 1000


def may_send(handler: Handler, bucket: Bucket, in_flight: int, wanted: int) -> int:
    """How many of ``wanted`` due deliveries may be claimed now, given the
    refilled bucket (with the tokens of the lookahead) and the requests open
    on every node."""
    count = max(0, wanted)
    if handler.max_in_flight:
        count = min(count, max(0, handler.max_in_flight - in_flight))
    if handler.max_rate:
        count = min(count, max(0, int(bucket.tokens + _ahead(handler.max_rate) + 1e-9)))
    return count


@dataclass(frozen=True, slots=True)
class Spent:
    bucket: Bucket
    ready_at: int  # ms: the next claim may take a token; 0 without a rate
    send_at: list[int]  # ms: when each claimed delivery may go out


def spend(handler: Handler, bucket: Bucket, sent: int) -> Spent:
    """The bucket after ``sent`` claims, the send slot of each (its token's
    instant: at once while the bucket holds one, then one every 1/rate s),
    and when the next claim may take a token."""
    rate = handler.max_rate
    at = bucket.refilled_at
    if not rate:
        return Spent(bucket, 0, [at] * sent)
    # The k-th claim (from 0) spends the (k+1)-th token.
    short_of = [k + 1 - bucket.tokens for k in range(sent)]
    send_at = [at if short <= 1e-9 else at + math.ceil(short / rate * 1000) for short in short_of]
    tokens = bucket.tokens - sent
    # The next claim needs its token within the lookahead.
    short = 1 - _ahead(rate) - tokens
    ready_at = at if short <= 1e-9 else at + math.ceil(short / rate * 1000)
    return Spent(Bucket(tokens, at), ready_at, send_at)
