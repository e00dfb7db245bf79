"""A handler's retry policy: its own overrides on top of the service default."""

from __future__ import annotations

from espf.domain import RetryOverrides
from espf.errors import BadRequest
from espf.retry import RetryPolicy, parse_schedule


def _bad(message: str) -> BadRequest:
    return BadRequest(message, code="invalid_retry_policy")


def retry_policy_for(overrides: RetryOverrides, default: RetryPolicy) -> RetryPolicy:
    """An explicit schedule wins; any exponential setting switches the handler
    to exponential back-off; limits override one by one."""
    o = overrides
    if o.max_attempts is not None and o.max_attempts < 1:
        raise _bad("retry max attempts must be at least 1")
    if o.max_age_s is not None and o.max_age_s <= 0:
        raise _bad("retry max age must be more than 0 seconds")
    if o.base_s is not None and o.base_s <= 0:
        raise _bad("retry base must be more than 0 seconds")
    if o.factor is not None and o.factor < 1:
        raise _bad("retry factor must be at least 1")
    if o.cap_s is not None and o.cap_s <= 0:
        raise _bad("retry cap must be more than 0 seconds")
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
