"""From an HTTP result to the delivery's next state: pure, so it is tested
without a network."""

from __future__ import annotations

import random

from espf.adaptive_rate import is_overload
from espf.clock import format_ms
from espf.dispatch.sender import SendResult
from espf.domain import AttemptOutcome, ClaimedDelivery, DeliveryState
from espf.retry import RETRY_AFTER_STATUSES, RetryPolicy, Verdict, classify, parse_retry_after


def _answer(result: SendResult) -> str:
    if result.status_code is None:
        return f"no answer ({result.error})" if result.error else "no answer"
    return f"HTTP {result.status_code}"


def decide_outcome(
    delivery: ClaimedDelivery,
    result: SendResult,
    policy: RetryPolicy,
    *,
    started_at: int,
    duration_ms: int,
    now: int,
    rng: random.Random,
) -> AttemptOutcome:
    attempt_no = delivery.attempts + 1
    verdict = classify(result.status_code)
    next_at = None
    answer = _answer(result)
    if verdict is Verdict.DELIVERED:
        state, reason = DeliveryState.DELIVERED, f"{answer}: accepted"
    elif verdict is Verdict.REJECTED:
        state, reason = DeliveryState.REJECTED, f"{answer}: rejected, never resent"
    else:
        retry_after = (
            parse_retry_after(result.retry_after, now)
            if result.status_code in RETRY_AFTER_STATUSES
            else None
        )
        delay_ms = policy.next_delay_ms(
            attempt_no - delivery.budget_from_attempt,
            age_ms=now - delivery.budget_from_at,
            retry_after_s=retry_after,
            rng=rng,
        )
        if delay_ms is None:
            state, reason = DeliveryState.FAILED, f"{answer}: retry limit reached, failed"
        else:
            state, next_at = DeliveryState.PENDING, now + delay_ms
            reason = f"{answer}: next attempt at {format_ms(next_at)} UTC"
            if retry_after is not None:
                reason += f" (Retry-After {result.retry_after})"
    overloaded = is_overload(result.status_code, result.timed_out)
    return AttemptOutcome(
        i_delivery=delivery.i_delivery,
        attempt_no=attempt_no,
        started_at=started_at,
        duration_ms=duration_ms,
        status_code=result.status_code,
        error=result.error,
        new_state=state,
        next_at=next_at,
        i_event=delivery.i_event,
        i_handler=delivery.handler.i_handler,
        reason=reason,
        overloaded=overloaded,
        # A good answer at max_rate changes nothing: no need to look.
        rate_limited=bool(delivery.handler.max_rate) and (overloaded or delivery.backing_off),
    )
