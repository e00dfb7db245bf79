"""A handler's retry policy: its own overrides on top of the service default."""

from __future__ import annotations

from espf.domain import RetryOverrides
from espf.errors import BadRequest
from espf.retry import MAX_DELAY_S, RetryPolicy, parse_schedule

# Upper bounds keep the back-off arithmetic finite (factor ** 64 must not
# overflow a float) and catch a slipped digit; no sane policy comes near them.
MAX_RETRY_FACTOR = 100.0
MAX_RETRY_ATTEMPTS = 1_000_000
MAX_RETRY_AGE_S = 10 * 365 * 86400.0


def _bad(message: str) -> BadRequest:
    return BadRequest(message, code="invalid_retry_policy")


def retry_policy_for(overrides: RetryOverrides, default: RetryPolicy) -> RetryPolicy:
    """An explicit schedule wins; any exponential setting switches the handler
    to exponential back-off; limits override one by one."""
    o = overrides
    if o.max_attempts is not None and not 1 <= o.max_attempts <= MAX_RETRY_ATTEMPTS:
        raise _bad(f"retry max attempts must be from 1 to {MAX_RETRY_ATTEMPTS}")
    if o.max_age_s is not None and not 0 < o.max_age_s <= MAX_RETRY_AGE_S:
        raise _bad(f"retry max age must be more than 0 and at most {MAX_RETRY_AGE_S:g} seconds")
    if o.base_s is not None and not 0 < o.base_s <= MAX_DELAY_S:
        raise _bad(f"retry base must be more than 0 and at most {MAX_DELAY_S:g} seconds")
    if o.factor is not None and not 1 <= o.factor <= MAX_RETRY_FACTOR:
        raise _bad(f"retry factor must be from 1 to {MAX_RETRY_FACTOR:g}")
    if o.cap_s is not None and not 0 < o.cap_s <= MAX_DELAY_S:
        raise _bad(f"retry cap must be more than 0 and at most {MAX_DELAY_S:g} seconds")
    if o.schedule is not None:
        schedule: tuple[float, ...] | None = parse_schedule(o.schedule)
    elif o.base_s is not None or o.factor is not None or o.cap_s is not None:
        schedule = None
    else:
        schedule = default.schedule
    return RetryPolicy(
        schedule=schedule,
        base_s=o.base_s if o.base_s is not None else default.base_s,
        factor=o.factor if o.factor is not None else default.factor,
        cap_s=o.cap_s if o.cap_s is not None else default.cap_s,
        max_attempts=o.max_attempts if o.max_attempts is not None else default.max_attempts,
        max_age_s=o.max_age_s if o.max_age_s is not None else default.max_age_s,
    )
