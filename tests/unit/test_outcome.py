"""From an HTTP result to a delivery's next state."""

from __future__ import annotations

import random

from espf.dispatch.outcome import decide_outcome
from espf.dispatch.sender import SendResult
from espf.domain import AttemptOutcome, AuthMethod, ClaimedDelivery, DeliveryState
from espf.retry import RetryPolicy
from tests.factories import a_claimed_delivery, a_handler

NOW = 1_700_000_000_000


def claimed(
    attempts: int = 0, budget_from_attempt: int = 0, budget_from_at: int = NOW
) -> ClaimedDelivery:
    handler = a_handler(
        i_handler=7,
        i_env=1,
        url="http://127.0.0.1:1/",
        auth_method=AuthMethod.NONE,
        login=None,
        password=None,
    )
    return a_claimed_delivery(
        handler,
        i_delivery=3,
        i_event=42,
        event_type="Account/New",
        variables_json="{}",
        attempts=attempts,
        budget_from_attempt=budget_from_attempt,
        budget_from_at=budget_from_at,
    )


POLICY = RetryPolicy(schedule=(10.0, 20.0), max_attempts=3, max_age_s=None)


def decide(
    result: SendResult, delivery: ClaimedDelivery | None = None, now: int = NOW
) -> AttemptOutcome:
    return decide_outcome(
        delivery or claimed(),
        result,
        POLICY,
        started_at=now,
        duration_ms=5,
        now=now,
        rng=random.Random(0),
    )


def test_2xx_is_delivered() -> None:
    outcome = decide(SendResult(200, None))
    assert outcome.new_state is DeliveryState.DELIVERED and outcome.next_at is None
    assert outcome.attempt_no == 1 and outcome.i_event == 42 and outcome.i_handler == 7


def test_4xx_is_rejected_but_429_and_408_are_retried() -> None:
    assert decide(SendResult(400, "bad")).new_state is DeliveryState.REJECTED
    assert decide(SendResult(429, None)).new_state is DeliveryState.PENDING
    assert decide(SendResult(408, None)).new_state is DeliveryState.PENDING


def test_a_failure_is_retried_after_the_scheduled_delay() -> None:
    outcome = decide(SendResult(None, "ConnectionRefused"))
    assert outcome.new_state is DeliveryState.PENDING
    assert outcome.next_at is not None and 7_500 <= outcome.next_at - NOW <= 10_000
    assert "no answer" in outcome.reason and "next attempt" in outcome.reason


def test_retry_after_on_429_and_503_is_the_earliest_next_attempt() -> None:
    for status in (429, 503):
        outcome = decide(SendResult(status, None, retry_after="15"))
        assert outcome.next_at is not None and outcome.next_at - NOW >= 15_000
    ignored = decide(SendResult(500, None, retry_after="15"))
    assert ignored.next_at is not None and ignored.next_at - NOW <= 10_000


def test_the_limit_makes_it_failed() -> None:
    outcome = decide(SendResult(500, "boom"), claimed(attempts=2))
    assert outcome.new_state is DeliveryState.FAILED and outcome.attempt_no == 3


def test_an_operator_retry_opens_a_fresh_budget() -> None:
    outcome = decide(SendResult(500, "boom"), claimed(attempts=5, budget_from_attempt=5))
    assert outcome.new_state is DeliveryState.PENDING and outcome.attempt_no == 6
