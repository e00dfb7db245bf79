"""Missed occurrences: what fires after downtime or a pause, by policy.

The clock is a number here: "espf was stopped" is a ``now`` long after the
last materialized occurrence.
"""

from __future__ import annotations

import pytest

from espf.calendar.missed import (
    DEFAULT_GRACE_MS,
    CatchUp,
    MissedPolicy,
    OccurrenceKey,
    occurrence_key,
    parse_catch_up,
    plan_due,
)
from espf.calendar.occurrences import Occurrence, make_recurrence
from espf.errors import BadRequest

from .helpers import local_ms, utc_ms

HOUR = 3_600_000
DAY = 24 * HOUR
DAILY = make_recurrence("daily at 00:00", "UTC")


def fired(occurrences: tuple[Occurrence, ...]) -> list[int]:
    return [o.instant_ms for o in occurrences]


def test_an_occurrence_that_has_just_come_fires() -> None:
    last = utc_ms(2026, 5, 1)
    plan = plan_due(DAILY, last, utc_ms(2026, 5, 2) + 250)
    assert fired(plan.fire) == [utc_ms(2026, 5, 2)]
    assert plan.next is not None and plan.next.instant_ms == utc_ms(2026, 5, 3)
    assert not plan.skipped_missed


def test_nothing_due_waits_for_the_next() -> None:
    plan = plan_due(DAILY, utc_ms(2026, 5, 1), utc_ms(2026, 5, 1, 12))
    assert plan.fire == ()
    assert plan.next is not None and plan.next.instant_ms == utc_ms(2026, 5, 2)


def test_late_within_the_grace_still_fires_under_skip() -> None:
    now = utc_ms(2026, 5, 2) + DEFAULT_GRACE_MS
    plan = plan_due(DAILY, utc_ms(2026, 5, 1), now)
    assert fired(plan.fire) == [utc_ms(2026, 5, 2)]


# Stopped from April 28 12:00 to May 2 00:03: the occurrences of April 29,
# 30, May 1 were missed; May 2 00:00 is 3 minutes late, within the grace.
LAST = utc_ms(2026, 4, 28)
NOW = utc_ms(2026, 5, 2, 0, 3)
ON_TIME = utc_ms(2026, 5, 2)


def test_skip_fires_only_what_is_on_time() -> None:
    plan = plan_due(DAILY, LAST, NOW, CatchUp(MissedPolicy.SKIP))
    assert fired(plan.fire) == [ON_TIME]
    assert plan.skipped_missed


def test_latest_fires_the_most_recent_missed_once() -> None:
    plan = plan_due(DAILY, LAST, NOW, parse_catch_up("latest"))
    assert fired(plan.fire) == [utc_ms(2026, 5, 1), ON_TIME]
    assert plan.skipped_missed


def test_all_fires_the_missed_inside_the_window_oldest_first() -> None:
    # Two days and an hour back from May 2 00:03: April 30 and May 1.
    plan = plan_due(DAILY, LAST, NOW, parse_catch_up("all", 2 * 86_400 + 3_600))
    assert fired(plan.fire) == [utc_ms(2026, 4, 30), utc_ms(2026, 5, 1), ON_TIME]
    assert plan.skipped_missed  # April 29 was outside the window
    wide = plan_due(DAILY, LAST, NOW, parse_catch_up("all", 7 * 86_400))
    missed = [utc_ms(2026, 4, 29), utc_ms(2026, 4, 30), utc_ms(2026, 5, 1)]
    assert fired(wide.fire) == [*missed, ON_TIME]
    assert not wide.skipped_missed


def test_a_long_outage_of_a_frequent_rule_under_latest_is_cheap_and_single() -> None:
    every_minute = make_recurrence("every 1 minute", "UTC")
    now = utc_ms(2026, 5, 1) + 10_000
    plan = plan_due(every_minute, utc_ms(2025, 5, 1), now, parse_catch_up("latest"))
    # A year of minutes missed; the grace (5 minutes) reaches back to 23:55:10.
    assert fired(plan.fire) == [
        utc_ms(2026, 4, 30, 23, 55),  # the latest missed
        *range(utc_ms(2026, 4, 30, 23, 56), utc_ms(2026, 5, 1) + 1, 60_000),  # on time
    ]


def test_a_paused_month_start_schedule_catches_up_with_latest() -> None:
    # Paused over the start of March in Prague; resumed on March 3.
    monthly = make_recurrence("monthly on day 1 at 00:00", "Europe/Prague")
    last = local_ms("Europe/Prague", 2026, 2, 1)
    now = local_ms("Europe/Prague", 2026, 3, 3, 9)
    plan = plan_due(monthly, last, now, parse_catch_up("latest"))
    assert fired(plan.fire) == [local_ms("Europe/Prague", 2026, 3, 1)]
    assert plan.fire[0].local.strftime("%Y-%m-%d %H:%M") == "2026-03-01 00:00"
    assert plan.next is not None and plan.next.instant_ms == local_ms("Europe/Prague", 2026, 4, 1)


def test_a_clock_stepped_back_fires_nothing_and_fires_nothing_twice() -> None:
    last = utc_ms(2026, 5, 2)
    plan = plan_due(DAILY, last, last - HOUR)
    assert plan.fire == ()
    assert plan.next is not None and plan.next.instant_ms == utc_ms(2026, 5, 3)
    # And when the clock comes back, only the occurrence after ``last`` fires.
    assert fired(plan_due(DAILY, last, utc_ms(2026, 5, 3)).fire) == [utc_ms(2026, 5, 3)]


def test_nothing_fires_past_the_end() -> None:
    bounded = make_recurrence("daily at 00:00", "UTC", utc_ms(2026, 5, 1), utc_ms(2026, 5, 3))
    plan = plan_due(bounded, utc_ms(2026, 5, 2), utc_ms(2026, 5, 9), parse_catch_up("latest"))
    assert plan.fire == ()
    assert plan.next is None


def test_occurrence_identity_is_schedule_and_instant() -> None:
    plan = plan_due(DAILY, LAST, NOW)
    assert occurrence_key(7, plan.fire[0]) == OccurrenceKey(7, ON_TIME) == (7, ON_TIME)


@pytest.mark.parametrize(
    ("policy", "window_s", "says"),
    [
        ("sometimes", None, "missed-run policy 'sometimes' is not known"),
        ("all", None, "the 'all' policy needs a catch-up window"),
        ("all", 0, "the 'all' policy needs a catch-up window"),
        ("all", 32 * 86_400, "from 1 second to 31 days"),
        ("skip", 60, "a catch-up window goes only with the 'all' policy"),
    ],
)
def test_bad_policies_are_bad_requests(policy: str, window_s: int | None, says: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_catch_up(policy, window_s)
    assert caught.value.code == "invalid_missed_policy"
    assert says in caught.value.message


def test_the_default_policy_is_skip() -> None:
    assert parse_catch_up(None) == CatchUp(MissedPolicy.SKIP, None)
