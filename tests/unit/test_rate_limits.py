"""The delivery-limit rules with a frozen clock: the token bucket refills
with time up to its burst, the in-flight limit caps what may go out, and
the bucket says when it next holds a whole token."""

from __future__ import annotations

from espf.rate_limits import Bucket, burst_of, full_bucket, is_limited, may_send, refill, spend
from tests.factories import a_handler

T0 = 1_700_000_000_000


def test_a_handler_without_limits_is_not_limited_and_zero_means_none() -> None:
    assert not is_limited(a_handler())
    assert not is_limited(a_handler(max_in_flight=0, max_rate=0.0))
    assert is_limited(a_handler(max_in_flight=4))
    assert is_limited(a_handler(max_rate=50.0))


def test_default_burst_is_a_twentieth_of_the_rate_at_least_one() -> None:
    assert burst_of(50.0, None) == 3
    assert burst_of(100.0, None) == 5
    assert burst_of(5.0, None) == 1
    assert burst_of(0.5, None) == 1
    assert burst_of(50.0, 20) == 20


def test_the_bucket_refills_with_time_up_to_its_burst() -> None:
    handler = a_handler(max_rate=100.0)  # burst 5
    empty = Bucket(0.0, T0)
    assert refill(handler, empty, T0 + 20).tokens == 2.0  # 20 ms at 100/s
    assert refill(handler, empty, T0 + 10_000).tokens == 5.0
    assert full_bucket(handler, T0).tokens == 5.0


def test_the_rate_caps_what_may_go_out_and_says_when_the_next_token_comes() -> None:
    handler = a_handler(max_rate=50.0)
    bucket = refill(handler, Bucket(0.0, T0), T0 + 50)  # 2.5 tokens
    assert may_send(handler, bucket, in_flight=0, wanted=100) == 2
    after, ready_at = spend(handler, bucket, 2)
    assert after.tokens == 0.5
    assert ready_at == T0 + 50 + 10  # half a token at 50/s: 10 ms
    # A whole token left: ready at once.
    assert spend(handler, Bucket(3.0, T0), 1)[1] == T0


def test_the_in_flight_limit_counts_every_open_request() -> None:
    handler = a_handler(max_in_flight=4)
    bucket = Bucket(0.0, T0)
    assert may_send(handler, bucket, in_flight=0, wanted=10) == 4
    assert may_send(handler, bucket, in_flight=3, wanted=10) == 1
    assert may_send(handler, bucket, in_flight=4, wanted=10) == 0
    assert may_send(handler, bucket, in_flight=0, wanted=2) == 2
    assert spend(handler, bucket, 4) == (bucket, 0)  # no rate: no bucket to spend


def test_both_limits_take_the_smaller() -> None:
    handler = a_handler(max_in_flight=2, max_rate=100.0, rate_burst=10)
    assert may_send(handler, Bucket(10.0, T0), in_flight=0, wanted=50) == 2
    assert may_send(handler, Bucket(1.0, T0), in_flight=0, wanted=50) == 1
