"""Adaptive back-off and the circuit breaker end to end, on PostgreSQL with
three ``espf dispatcher`` processes sharing one limiter row (the scenarios
of ``python -m bench --scenarios adaptive,breaker``, shorter).

- An Application that answers 503 to what exceeds 20 requests a second: the
  effective rate settles near 20/s, and rises again once it recovers.
- An Application down while 300 deliveries are due: the attempts it costs
  stay within the same bound as the bench's 1,000 over 60 s (each node's
  turns until the circuit opens, then the probes), and everything is
  delivered once it is back.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bench import config
from bench.limits import CAPACITY, adaptive_on, breaker_on, failure_bound, on_fresh_database
from bench.report import Results

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


def _results() -> Results:
    return Results(mode="quick", argv=[])


def test_the_effective_rate_settles_near_what_the_application_takes(
    postgres_url: str, tmp_path: Path
) -> None:
    results = _results()
    cfg = config.quick(tmp_path)
    on_fresh_database(
        adaptive_on, cfg, "postgres", results, overload_s=24.0, recovery_s=12.0, draw=False
    )
    found = results.data["adaptive"]["postgres"]
    print(f"\nsettled at {found['mean_settled']:.1f}/s, rose to {found['recovered']:.1f}/s")
    assert CAPACITY * 0.75 <= found["mean_settled"] <= CAPACITY * 1.25
    # About 1/s more each second without a 503.
    assert found["recovered"] >= found["mean_settled"] + 5


def test_a_dead_application_costs_a_bounded_number_of_attempts(
    postgres_url: str, tmp_path: Path
) -> None:
    results = _results()
    cfg = config.quick(tmp_path)
    on_fresh_database(breaker_on, cfg, "postgres", results, events=300, outage_s=8.0)
    found = results.data["breaker"]["postgres"]
    print(f"\n{found['failed']} failed attempts, all delivered in {found['after_s']:.1f} s")
    assert found["failed"] <= failure_bound(3, 8.0) < 300 / 5
    assert found["all_delivered"] and found["delivered"] == 300
