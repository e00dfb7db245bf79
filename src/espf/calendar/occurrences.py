"""When a recurrence fires: its occurrences, as UTC instants and local times.

The daylight-saving decisions (docs/calendar.md has a table of examples):

* Interval rules (``every N minutes``) are elapsed time: instants
  ``anchor + k * interval``, the anchor being the start bound, else the Unix
  epoch. The local clock plays no part.
* Calendar rules name wall-clock times, resolved like any local time
  (local_time.py): a time in the spring-forward gap fires once at the end of
  the gap, a time in a repeated hour fires once, on its first pass. Several
  wall times that land on one instant (all of a gap) fire once.
* Except calendar rules that fire in every hour (``hourly at :15``,
  ``*/10 * * * *``): they follow the clock, like Debian cron's wildcard jobs.
  A repeated hour is a real hour, so they fire in both of its passes; a
  skipped hour did not happen, so nothing in it fires and nothing is moved.
  So an hourly rule fires once in every real hour, an hour apart, across
  both changes (where the clocks move by a whole hour).

Bounds: an occurrence fires at or after ``start_ms`` and before ``end_ms``.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from cronsim import CronSim

from espf.calendar.local_time import instants_of, local_at, resolve_local
from espf.calendar.rules import CalendarRule, IntervalRule, Rule, parse_rule
from espf.calendar.zones import load_zone
from espf.errors import BadRequest

MAX_PREVIEW = 1000
_ONE_SECOND = timedelta(seconds=1)
# How far back the search for the latest occurrence first looks; it doubles
# the span until it finds one or reaches its lower limit.
_FIRST_LOOKBACK_MS = 3_600_000


@dataclass(frozen=True)
class Recurrence:
    """A validated rule in a zone with optional bounds; build it with make_recurrence."""

    rule: Rule
    zone: ZoneInfo
    start_ms: int | None = None
    end_ms: int | None = None


@dataclass(frozen=True)
class Occurrence:
    instant_ms: int
    # The local time at the instant, aware, with ``fold=1`` on the second pass
    # of a repeated hour.
    local: datetime
    # The naive wall-clock time the rule named. It differs from ``local`` only
    # when the rule named a time in a spring-forward gap.
    wall: datetime

    @property
    def shifted(self) -> bool:
        """True when a gap moved this occurrence off the time its rule named."""
        return self.local.replace(tzinfo=None, fold=0) != self.wall


def make_recurrence(
    rule_text: str, zone_name: str, start_ms: int | None = None, end_ms: int | None = None
) -> Recurrence:
    """Parse and validate a rule, a zone and bounds, or raise BadRequest."""
    recurrence = Recurrence(parse_rule(rule_text), load_zone(zone_name), start_ms, end_ms)
    if start_ms is not None and end_ms is not None:
        if end_ms <= start_ms:
            raise BadRequest(
                "the end of a schedule must be after its start", code="invalid_schedule_bounds"
            )
        if next_occurrence(recurrence, start_ms - 1) is None:
            raise BadRequest(
                f"rule {rule_text!r} has no occurrence between the start and the end "
                "of the schedule: move the end later",
                code="invalid_schedule_bounds",
            )
    return recurrence


def occurrences_after(recurrence: Recurrence, after_ms: int) -> Iterator[Occurrence]:
    """Occurrences strictly after ``after_ms``, in increasing order, within the bounds."""
    if recurrence.start_ms is not None:
        after_ms = max(after_ms, recurrence.start_ms - 1)
    rule = recurrence.rule
    if isinstance(rule, IntervalRule):
        found = _interval_occurrences(rule, recurrence, after_ms)
    else:
        found = _calendar_occurrences(rule, recurrence.zone, after_ms)
    for occurrence in found:
        if recurrence.end_ms is not None and occurrence.instant_ms >= recurrence.end_ms:
            return
        yield occurrence


def next_occurrence(recurrence: Recurrence, after_ms: int) -> Occurrence | None:
    """The first occurrence strictly after ``after_ms``; None past the end bound."""
    return next(occurrences_after(recurrence, after_ms), None)


def preview(recurrence: Recurrence, after_ms: int, count: int) -> list[Occurrence]:
    """The next ``count`` occurrences (fewer when the end bound comes first)."""
    if not 1 <= count <= MAX_PREVIEW:
        raise BadRequest(
            f"count must be from 1 to {MAX_PREVIEW}, got {count}", code="invalid_count"
        )
    return list(islice(occurrences_after(recurrence, after_ms), count))


def latest_occurrence(recurrence: Recurrence, at_ms: int, after_ms: int) -> Occurrence | None:
    """The last occurrence in ``(after_ms, at_ms]``, or None.

    Searches back from ``at_ms`` over a span that doubles, so a rule that fires
    every minute and a rule that fires once a year both take a few steps.
    """
    span = _FIRST_LOOKBACK_MS
    while True:
        low = max(after_ms, at_ms - span)
        latest = None
        for occurrence in occurrences_after(recurrence, low):
            if occurrence.instant_ms > at_ms:
                break
            latest = occurrence
        if latest is not None or low == after_ms:
            return latest
        span *= 2


def _interval_occurrences(
    rule: IntervalRule, recurrence: Recurrence, after_ms: int
) -> Iterator[Occurrence]:
    anchor = recurrence.start_ms if recurrence.start_ms is not None else 0
    step = rule.interval_ms
    instant = anchor if after_ms < anchor else anchor + ((after_ms - anchor) // step + 1) * step
    while True:
        local = local_at(instant, recurrence.zone)
        yield Occurrence(instant, local, local.replace(tzinfo=None, fold=0))
        instant += step


def _calendar_occurrences(
    rule: CalendarRule, zone: ZoneInfo, after_ms: int
) -> Iterator[Occurrence]:
    after_local = local_at(after_ms, zone)
    begin = after_local.replace(tzinfo=None, fold=0, microsecond=0)
    if rule.every_hour:
        begin -= _rest_of_repeat(after_local, zone)
    # cronsim yields times strictly after the one it is given, to the second.
    walls = CronSim(rule.cron, begin - _ONE_SECOND)
    if rule.every_hour:
        found = _follow_the_clock(walls, zone)
    else:
        found = ((resolve_local(wall, zone), wall) for wall in walls)
    last = after_ms
    for instant, wall in found:
        # Equal instants are wall times that a gap moved onto one instant.
        if instant > last:
            last = instant
            yield Occurrence(instant, local_at(instant, zone), wall)


def _follow_the_clock(walls: Iterator[datetime], zone: ZoneInfo) -> Iterator[tuple[int, datetime]]:
    """Every real instant of each wall time, in time order.

    The wall times come in clock order, which is not time order in a repeated
    hour: the second pass of 02:15 comes after the first pass of 02:45. A
    wall time's first instant never comes before an earlier wall time's, so a
    held-back second pass is released once a first instant passes it.
    """
    held: list[tuple[int, datetime]] = []
    for wall in walls:
        instants = instants_of(wall, zone)
        for instant in instants:
            heapq.heappush(held, (instant, wall))
        while held and instants and held[0][0] <= instants[0]:
            yield heapq.heappop(held)
    while held:  # pragma: no cover - cronsim's walls never run out for a valid rule
        yield heapq.heappop(held)


def _rest_of_repeat(local: datetime, zone: ZoneInfo) -> timedelta:
    """On the first pass of a repeated hour, how long the clock will be repeated.

    Wall times up to that much before ``local`` have their second pass still
    to come, so the search for occurrences has to start that much earlier.
    """
    if local.fold:
        return timedelta(0)
    wall = local.replace(tzinfo=None)
    first = wall.replace(tzinfo=zone, fold=0).utcoffset()
    second = wall.replace(tzinfo=zone, fold=1).utcoffset()
    if first is None or second is None or first <= second:
        return timedelta(0)
    return first - second
