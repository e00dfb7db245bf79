"""Retry policy: what an answer means, and when to try again."""

from __future__ import annotations

import random

import pytest

from espf.retry import RetryPolicy, Verdict, classify


class FixedDraw(random.Random):
    """A random source that always draws the same number, to pin the jitter."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_2xx_is_delivered(status: int) -> None:
    assert classify(status) is Verdict.DELIVERED


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 429, 499])
def test_4xx_is_rejected_and_never_resent(status: int) -> None:
    # The original's rule, 429 included: any 4xx means "do not provision".
    assert classify(status) is Verdict.REJECTED


@pytest.mark.parametrize("status", [None, 100, 199, 300, 301, 302, 304, 500, 502, 503, 504, 599])
def test_everything_else_is_resent(status: int | None) -> None:
    # None: no answer at all (refused connection, timeout).
    assert classify(status) is Verdict.RETRY


def test_nominal_delay_grows_exponentially_from_the_base() -> None:
    policy = RetryPolicy(base_s=1.0, factor=2.0, cap_s=3600.0, max_attempts=50)
    delays = [policy.nominal_delay_s(n) for n in range(1, 8)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]


def test_nominal_delay_is_capped() -> None:
    policy = RetryPolicy(base_s=1.0, factor=2.0, cap_s=10.0, max_attempts=50)
    assert policy.nominal_delay_s(4) == 8.0
    assert policy.nominal_delay_s(5) == 10.0
    assert policy.nominal_delay_s(6) == 10.0


def test_huge_attempt_counts_stay_at_the_cap_without_overflow() -> None:
    policy = RetryPolicy(base_s=1.0, factor=10.0, cap_s=3600.0, max_attempts=100_000)
    for attempts in (60, 65, 66, 400, 10_000):
        assert policy.nominal_delay_s(attempts) == 3600.0
        delay = policy.next_delay_ms(attempts, FixedDraw(0.5))
        assert delay is not None and 1_800_000 <= delay <= 3_600_000


def test_factor_one_keeps_a_constant_delay() -> None:
    policy = RetryPolicy(base_s=5.0, factor=1.0, cap_s=3600.0)
    assert {policy.nominal_delay_s(n) for n in range(1, 20)} == {5.0}


@pytest.mark.parametrize("attempts_made", [1, 2, 3, 7, 20, 49])
def test_jitter_stays_between_half_the_nominal_delay_and_the_nominal_delay(
    attempts_made: int,
) -> None:
    policy = RetryPolicy(base_s=1.0, factor=2.0, cap_s=3600.0, max_attempts=50)
    nominal_ms = policy.nominal_delay_s(attempts_made) * 1000
    # The extremes of the draw give the extremes of the range...
    assert policy.next_delay_ms(attempts_made, FixedDraw(0.0)) == int(nominal_ms / 2)
    highest = policy.next_delay_ms(attempts_made, FixedDraw(0.999999))
    assert highest is not None and nominal_ms * 0.999 <= highest <= nominal_ms
    # ...and a real random source never leaves it.
    rng = random.Random(1234)
    for _ in range(500):
        delay = policy.next_delay_ms(attempts_made, rng)
        assert delay is not None
        assert nominal_ms / 2 - 1 <= delay <= nominal_ms


def test_jitter_actually_spreads_resends() -> None:
    policy = RetryPolicy(base_s=10.0)
    rng = random.Random(99)
    delays = {policy.next_delay_ms(3, rng) for _ in range(50)}
    assert len(delays) > 25, "resends of deliveries that failed together must not coincide"


def test_delays_grow_from_attempt_to_attempt_even_with_jitter() -> None:
    policy = RetryPolicy(base_s=1.0, factor=2.0, cap_s=3600.0)
    # Equal jitter: the lowest delay of attempt n+1 equals the highest of n.
    for attempts in range(1, 11):
        high = policy.next_delay_ms(attempts, FixedDraw(0.999999))
        next_low = policy.next_delay_ms(attempts + 1, FixedDraw(0.0))
        assert high is not None and next_low is not None
        assert next_low >= high


def test_gives_up_at_max_attempts() -> None:
    policy = RetryPolicy(base_s=1.0, max_attempts=5)
    assert policy.next_delay_ms(4, FixedDraw(0.5)) is not None
    assert policy.next_delay_ms(5, FixedDraw(0.5)) is None
    assert policy.next_delay_ms(6, FixedDraw(0.5)) is None


def test_a_single_attempt_policy_never_retries() -> None:
    assert RetryPolicy(max_attempts=1).next_delay_ms(1, FixedDraw(0.5)) is None


def test_default_policy_matches_the_documented_defaults() -> None:
    policy = RetryPolicy()
    assert (policy.base_s, policy.factor, policy.cap_s, policy.max_attempts) == (
        1.0,
        2.0,
        3600.0,
        50,
    )
    # "about 11 fast tries in the first hour, then one an hour"
    assert policy.nominal_delay_s(12) < 3600.0 <= policy.nominal_delay_s(13)
