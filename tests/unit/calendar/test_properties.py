"""Properties of occurrences for any rule, zone and starting instant.

For each: occurrences strictly increase; the next occurrence after any one of
them is the one that follows it (so a scheduler may resume from any point);
every occurrence's wall time matches its rule, and its instant is that wall
time by the documented rules (first pass; end of a gap; both passes only for
a rule that fires in every hour); an interval rule keeps its interval.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import islice, pairwise

from cronsim import CronSim
from hypothesis import given, settings
from hypothesis import strategies as st

from espf.calendar.local_time import instants_of, local_at
from espf.calendar.occurrences import (
    Recurrence,
    make_recurrence,
    next_occurrence,
    occurrences_after,
)
from espf.calendar.rules import CalendarRule, IntervalRule

from .helpers import utc_ms

ZONES = [
    "Europe/Prague",
    "America/New_York",
    "Australia/Sydney",
    "Australia/Adelaide",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/Santiago",
    "Asia/Tehran",
    "Africa/Casablanca",  # no DST in Ramadan: four changes a year
    "Pacific/Chatham",  # +12:45/+13:45
    "UTC",
]

times = st.tuples(st.integers(0, 23), st.integers(0, 59))
rules = st.one_of(
    times.map(lambda t: f"daily at {t[0]:02d}:{t[1]:02d}"),
    st.integers(0, 59).map(lambda m: f"hourly at :{m:02d}"),
    st.tuples(st.integers(1, 28), times).map(
        lambda d: f"monthly on day {d[0]} at {d[1][0]:02d}:{d[1][1]:02d}"
    ),
    st.sampled_from(["*/7 * * * *", "0,30 1-3 * * *", "15 2 * * 0", "0 0 L * *", "*/20 2 * * *"]),
    st.integers(1, 240).map(lambda n: f"every {n} minutes"),
)
# 2020 to 2030, to the millisecond.
instants = st.integers(utc_ms(2020, 1, 1), utc_ms(2030, 1, 1))


@settings(max_examples=200, deadline=None)
@given(rule=rules, zone=st.sampled_from(ZONES), after=instants)
def test_occurrences_follow_the_documented_rules(rule: str, zone: str, after: int) -> None:
    check_occurrences(rule, zone, after)


def check_occurrences(rule: str, zone: str, after: int) -> None:
    recurrence = make_recurrence(rule, zone)
    got = list(islice(occurrences_after(recurrence, after), 40))
    assert len(got) == 40
    assert after < got[0].instant_ms
    assert all(a.instant_ms < b.instant_ms for a, b in pairwise(got))
    for previous, following in pairwise(got):
        assert next_occurrence(recurrence, previous.instant_ms) == following
    if isinstance(recurrence.rule, IntervalRule):
        step = recurrence.rule.interval_ms
        assert all(b.instant_ms - a.instant_ms == step for a, b in pairwise(got))
        assert got[0].instant_ms % step == 0  # anchored on the epoch
        return
    for occurrence in got:
        check_wall_time(recurrence, occurrence.instant_ms, occurrence.wall)
    check_nothing_missed(recurrence, after, got[0].instant_ms)


def check_nothing_missed(recurrence: Recurrence, after: int, first: int) -> None:
    """No minute between ``after`` and the first occurrence should have fired.

    Scans up to three hours of minutes: enough to cross any clock change.
    """
    rule = recurrence.rule
    assert isinstance(rule, CalendarRule)
    minute = (after // 60_000 + 1) * 60_000
    while minute < min(first, after + 3 * 3_600_000):
        local = local_at(minute, recurrence.zone)
        wall = local.replace(tzinfo=None, fold=0)
        matches = next(CronSim(rule.cron, wall - timedelta(seconds=1))) == wall
        # A rule with named hours fires on the first pass only.
        assert not matches or (local.fold and not rule.every_hour), local
        minute += 60_000


def check_wall_time(recurrence: Recurrence, instant: int, wall: datetime) -> None:
    rule, zone = recurrence.rule, recurrence.zone
    assert isinstance(rule, CalendarRule)
    # The wall time matches the rule: cronsim finds it as the next match.
    assert next(CronSim(rule.cron, wall - timedelta(seconds=1))) == wall
    real = instants_of(wall, zone)
    if rule.every_hour:
        assert instant in real  # either pass; never moved out of a gap
    elif real:
        assert instant == real[0]  # the first pass of a repeated hour
    else:
        # A gap: the instant the clocks jumped, later on the clock than asked.
        assert local_at(instant - 1, zone).utcoffset() != local_at(instant, zone).utcoffset()
        assert local_at(instant, zone).replace(tzinfo=None) > wall


# Clock changes of 2026, as UTC instants, to start right next to them.
TRANSITIONS = [
    ("Europe/Prague", utc_ms(2026, 3, 29, 1)),
    ("Europe/Prague", utc_ms(2026, 10, 25, 1)),
    ("America/New_York", utc_ms(2026, 3, 8, 7)),
    ("America/New_York", utc_ms(2026, 11, 1, 6)),
    ("Australia/Sydney", utc_ms(2026, 4, 4, 16)),
    ("Australia/Sydney", utc_ms(2026, 10, 3, 16)),
    ("Australia/Adelaide", utc_ms(2026, 4, 4, 16, 30)),
    ("Australia/Adelaide", utc_ms(2026, 10, 3, 16, 30)),
    ("Australia/Lord_Howe", utc_ms(2026, 4, 4, 15)),
    ("Australia/Lord_Howe", utc_ms(2026, 10, 3, 15, 30)),
]


# Rules that fire in every hour see both passes of a repeated hour: the
# subtle case, drawn more often here.
every_hour_rules = st.one_of(
    st.integers(0, 59).map(lambda m: f"hourly at :{m:02d}"),
    st.integers(1, 30).map(lambda n: f"*/{n} * * * *"),
)


@settings(max_examples=200, deadline=None)
@given(
    rule=st.one_of(rules, every_hour_rules),
    transition=st.sampled_from(TRANSITIONS),
    offset=st.integers(-2 * 3_600_000, 2 * 3_600_000),
)
def test_the_rules_hold_when_starting_next_to_a_clock_change(
    rule: str, transition: tuple[str, int], offset: int
) -> None:
    zone, instant = transition
    check_occurrences(rule, zone, instant + offset)
