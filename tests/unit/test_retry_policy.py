"""The retry policy: what an answer means, and when the next attempt comes."""

from __future__ import annotations

import random

import pytest

from espf.domain import RetryOverrides
from espf.errors import BadRequest
from espf.retry import (
    DEFAULT_MAX_AGE_S,
    RetryPolicy,
    Verdict,
    classify,
    parse_retry_after,
    parse_schedule,
)
from espf.retry_overrides import retry_policy_for


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Verdict.DELIVERED),
        (204, Verdict.DELIVERED),
        (400, Verdict.REJECTED),
        (404, Verdict.REJECTED),
        (408, Verdict.RETRY),
        (429, Verdict.RETRY),
        (499, Verdict.REJECTED),
        (500, Verdict.RETRY),
        (503, Verdict.RETRY),
        (302, Verdict.RETRY),
        (None, Verdict.RETRY),
    ],
)
def test_classify_follows_the_original_except_408_and_429(
    status: int | None, verdict: Verdict
) -> None:
    assert classify(status) is verdict


def test_schedule_syntax_expands_repeats() -> None:
    assert parse_schedule("1, 5,30*3,60") == (1, 5, 30, 30, 30, 60)


@pytest.mark.parametrize("text", ["", "0", "-1", "abc", "5*0", "5*x"])
def test_bad_schedules_are_refused(text: str) -> None:
    with pytest.raises(BadRequest):
        parse_schedule(text)


def test_default_schedule_is_fast_first_then_hourly_until_the_horizon() -> None:
    policy = RetryPolicy()
    delays = [policy.nominal_delay_s(n) for n in range(1, 200)]
    assert delays[:3] == [1, 2, 4]
    assert delays == sorted(delays), "the default never speeds up again"
    assert delays[-1] == 3600
    # "backing off over about a day": hourly only after the first day
    elapsed, n = 0.0, 1
    while policy.nominal_delay_s(n) < 3600:
        elapsed += policy.nominal_delay_s(n)
        n += 1
    assert 20 * 3600 <= elapsed <= 28 * 3600
    assert policy.max_age_s == DEFAULT_MAX_AGE_S


def test_jitter_stays_in_the_upper_quarter_of_the_delay() -> None:
    policy = RetryPolicy(schedule=(100.0,), max_age_s=None)
    rng = random.Random(7)
    draws = [policy.next_delay_ms(1, rng=rng) for _ in range(500)]
    assert all(d is not None and 75_000 <= d <= 100_000 for d in draws)
    assert len(set(draws)) > 100, "jitter spreads resends"


def test_exponential_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(schedule=None, base_s=1, factor=2, cap_s=30)
    assert [policy.nominal_delay_s(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    assert policy.nominal_delay_s(10_000) == 30


def test_gives_up_at_max_attempts() -> None:
    policy = RetryPolicy(schedule=(1.0,), max_attempts=3, max_age_s=None)
    assert policy.next_delay_ms(2) is not None
    assert policy.next_delay_ms(3) is None


def test_gives_up_when_the_next_attempt_would_pass_the_horizon() -> None:
    policy = RetryPolicy(schedule=(60.0,), max_age_s=600)
    assert policy.next_delay_ms(1, age_ms=500_000) is not None
    assert policy.next_delay_ms(1, age_ms=590_000) is None


def test_retry_after_is_honoured_within_the_longest_delay() -> None:
    policy = RetryPolicy(schedule=(1.0, 10.0), max_age_s=None)
    delay = policy.next_delay_ms(1, retry_after_s=3, rng=random.Random(1))
    assert delay is not None and delay >= 3000
    capped = policy.next_delay_ms(1, retry_after_s=100_000)
    assert capped == 10_000, "a huge Retry-After is capped at the policy's longest delay"


def test_retry_after_header_forms() -> None:
    now_ms = 1_700_000_000_000
    assert parse_retry_after("3", now_ms) == 3
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:40 GMT", now_ms) == pytest.approx(20, abs=1)
    assert parse_retry_after("soon", now_ms) is None
    assert parse_retry_after(None, now_ms) is None


def test_handler_overrides_on_top_of_the_default() -> None:
    default = RetryPolicy()
    assert retry_policy_for(RetryOverrides(), default) == default
    own = retry_policy_for(RetryOverrides(schedule="5*2,60", max_attempts=4), default)
    assert own.schedule == (5, 5, 60) and own.max_attempts == 4
    assert own.max_age_s == default.max_age_s
    exponential = retry_policy_for(RetryOverrides(base_s=2, cap_s=10), default)
    assert exponential.schedule is None
    assert [exponential.nominal_delay_s(n) for n in (1, 2, 3, 4)] == [2, 4, 8, 10]


@pytest.mark.parametrize(
    "overrides",
    [
        RetryOverrides(max_attempts=0),
        RetryOverrides(max_age_s=-1),
        RetryOverrides(factor=0.5),
        RetryOverrides(schedule="x"),
    ],
)
def test_bad_overrides_are_refused(overrides: RetryOverrides) -> None:
    with pytest.raises(BadRequest):
        retry_policy_for(overrides, RetryPolicy())
