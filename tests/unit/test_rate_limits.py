"""The delivery-limit rules with a frozen clock: the token bucket refills
with time up to its burst, the in-flight limit caps what may go out, claims
look ahead by LOOKAHEAD_MS and give each delivery its send slot, and the
bucket says when the next claim may take a token."""

from __future__ import annotations

from espf.rate_limits import (
    LOOKAHEAD_MS,
    Bucket,
    burst_of,
    full_bucket,
    is_limited,
    may_send,
    refill,
    spend,
)
from tests.factories import a_handler

T0 = 1_700_000_000_000


def test_a_handler_without_limits_is_not_limited_and_zero_means_none() -> None:
    assert not is_limited(a_handler())
    assert not is_limited(a_handler(max_in_flight=0, max_rate=0.0))
    assert is_limited(a_handler(max_in_flight=4))
    assert is_limited(a_handler(max_rate=50.0))


def test_the_default_burst_is_one_token_whatever_the_rate() -> None:
    assert burst_of(50.0, None) == 1
    assert burst_of(100_000.0, None) == 1
    assert burst_of(0.5, None) == 1
    assert burst_of(50.0, 20) == 20


def test_the_bucket_refills_with_time_up_to_its_burst() -> None:
    handler = a_handler(max_rate=100.0, rate_burst=5)
    empty = Bucket(0.0, T0)
    assert refill(handler, empty, T0 + 20).tokens == 2.0  # 20 ms at 100/s
    assert refill(handler, empty, T0 + 10_000).tokens == 5.0
    assert full_bucket(handler, T0).tokens == 5.0
    assert full_bucket(a_handler(max_rate=100.0), T0).tokens == 1.0


def test_the_rate_caps_what_may_be_claimed_and_slots_each_send() -> None:
    assert LOOKAHEAD_MS == 250
    handler = a_handler(max_rate=50.0, rate_burst=3)  # the lookahead holds 12.5 tokens
    bucket = refill(handler, Bucket(0.0, T0), T0 + 50)  # 2.5 tokens
    assert may_send(handler, bucket, in_flight=0, wanted=100) == 15
    assert may_send(handler, bucket, in_flight=0, wanted=4) == 4
    spent = spend(handler, bucket, 4)
    assert spent.bucket.tokens == -1.5
    # Two whole tokens go at once, the next ones when their tokens come:
    # half a token (10 ms), then one more every 20 ms.
    assert spent.send_at == [T0 + 50, T0 + 50, T0 + 60, T0 + 80]
    # The next claim may come when a token is within the lookahead:
    # from -1.5 to 1 - 12.5 = -11.5 tokens is already there.
    assert spent.ready_at == T0 + 50
    after = spend(handler, Bucket(-10.0, T0), 2)
    assert after.send_at == [T0 + 220, T0 + 240]
    assert after.ready_at == T0 + 10  # from -12 to -11.5 tokens: 10 ms


def test_sends_slotted_by_the_rate_never_exceed_it_in_any_second() -> None:
    """Claims every 7 ms for 3 s, each taking what it may: the slots, where
    requests are sent, hold at most rate + burst in any one second."""
    handler = a_handler(max_rate=50.0, rate_burst=3)
    bucket, slots = full_bucket(handler, T0), list[int]()
    for now in range(T0, T0 + 3000, 7):
        bucket = refill(handler, bucket, now)
        spent = spend(handler, bucket, may_send(handler, bucket, 0, 1000))
        bucket, slots = spent.bucket, slots + spent.send_at
    busiest = max(sum(1 for s in slots if start <= s < start + 1000) for start in slots)
    assert busiest <= 50 + 3
    assert 148 <= sum(1 for s in slots if s < T0 + 3000) <= 153


def test_the_in_flight_limit_counts_every_open_request() -> None:
    handler = a_handler(max_in_flight=4)
    bucket = Bucket(0.0, T0)
    assert may_send(handler, bucket, in_flight=0, wanted=10) == 4
    assert may_send(handler, bucket, in_flight=3, wanted=10) == 1
    assert may_send(handler, bucket, in_flight=4, wanted=10) == 0
    assert may_send(handler, bucket, in_flight=0, wanted=2) == 2
    spent = spend(handler, bucket, 4)  # no rate: no bucket to spend, all go at once
    assert (spent.bucket, spent.ready_at, spent.send_at) == (bucket, 0, [T0] * 4)


def test_both_limits_take_the_smaller() -> None:
    handler = a_handler(max_in_flight=2, max_rate=100.0, rate_burst=10)
    assert may_send(handler, Bucket(10.0, T0), in_flight=0, wanted=50) == 2
    # 100/s looks 25 tokens ahead: the in-flight limit is the smaller.
    assert may_send(handler, Bucket(1.0, T0), in_flight=0, wanted=50) == 2
    assert may_send(handler, Bucket(-24.0, T0), in_flight=0, wanted=50) == 1
