"""What a batch of due schedules fires, with the calendar core (pure, no I/O).

Parsing a rule and walking its occurrences costs about a hundred
microseconds or more, and the normal use is one schedule per account with
the same rule: at a month start a hundred thousand schedules are due at one
instant. So recurrences are cached by their definition, and within a batch a
decision is taken once per distinct (definition, policy, last instant) and
shared; only the variables differ per schedule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import orjson

from espf.calendar.missed import DEFAULT_GRACE_MS, parse_catch_up, plan_due
from espf.calendar.occurrences import Occurrence, Recurrence, make_recurrence, next_occurrence
from espf.coalescing import coalesce_key
from espf.event_request import format_local
from espf.schedule_model import (
    OCCURRENCE_LOCAL_TIME_VARIABLE,
    SCHEDULE_ID_VARIABLE,
    SCHEDULE_KEY_VARIABLE,
    Advance,
    Firing,
    Schedule,
)


@lru_cache(maxsize=4096)
def recurrence_of(
    rule: str, time_zone: str, start_at: int | None, end_at: int | None
) -> Recurrence:
    """A stored schedule's recurrence, parsed once per distinct definition."""
    return make_recurrence(rule, time_zone, start_at, end_at)


def next_at_after(schedule: Schedule, after_ms: int) -> int | None:
    recurrence = recurrence_of(
        schedule.rule, schedule.time_zone, schedule.start_at, schedule.end_at
    )
    found = next_occurrence(recurrence, after_ms)
    return found.instant_ms if found is not None else None


def occurrence_local_time(occurrence: Occurrence) -> str:
    """'YYYY-MM-DD HH:MM:SS+HH:MM': the local time with its offset, which tells
    the two passes of a repeated hour apart."""
    return occurrence.local.isoformat(sep=" ")


class Decider:
    """``decide`` for Store.schedule_materialize_due.

    A claimed schedule's next_at is the first occurrence after its last_at
    (the store keeps it so), so what is due depends only on the definition
    and next_at: schedules of one rule due at one instant share one decision,
    whatever moment each was created.
    """

    def __init__(self, grace_ms: int = DEFAULT_GRACE_MS) -> None:
        self.grace_ms = grace_ms

    def __call__(
        self, schedules: Sequence[Schedule], now: int
    ) -> tuple[list[Firing], list[Advance]]:
        shared: dict[tuple[object, ...], _Shared] = {}
        firings: list[Firing] = []
        advances: list[Advance] = []
        for schedule in schedules:
            # Claimed schedules are due, so next_at is set.
            after = (schedule.next_at if schedule.next_at is not None else now) - 1
            definition = (
                schedule.rule,
                schedule.time_zone,
                schedule.start_at,
                schedule.end_at,
                schedule.catch_up,
                schedule.catch_up_window_s,
                after,
            )
            decided = shared.get(definition)
            if decided is None:
                decided = shared[definition] = self._decide(schedule, after, now)
            firings += [_firing(schedule, o) for o in decided.fire]
            advances.append(
                Advance(
                    schedule.i_schedule,
                    # Every occurrence up to now is decided; a clock that
                    # stepped back moves nothing back.
                    max(schedule.last_at, now),
                    decided.next_at,
                )
            )
        return firings, advances

    def _decide(self, schedule: Schedule, after: int, now: int) -> _Shared:
        recurrence = recurrence_of(
            schedule.rule, schedule.time_zone, schedule.start_at, schedule.end_at
        )
        catch_up = parse_catch_up(schedule.catch_up, schedule.catch_up_window_s)
        plan = plan_due(recurrence, after, now, catch_up, self.grace_ms)
        fire = tuple(
            _Due(o.instant_ms, format_local(o.wall), occurrence_local_time(o)) for o in plan.fire
        )
        return _Shared(fire, plan.next.instant_ms if plan.next is not None else None)


@dataclass(frozen=True, slots=True)
class _Due:
    """An occurrence to fire, its texts made once for every schedule sharing it."""

    instant_ms: int
    wall: str
    local_time: str


@dataclass(frozen=True, slots=True)
class _Shared:
    fire: tuple[_Due, ...]
    next_at: int | None


def _firing(schedule: Schedule, due: _Due) -> Firing:
    variables = {
        **schedule.variables,
        SCHEDULE_ID_VARIABLE: schedule.i_schedule,
        SCHEDULE_KEY_VARIABLE: schedule.key,
        OCCURRENCE_LOCAL_TIME_VARIABLE: due.local_time,
    }
    variables_json = orjson.dumps(variables).decode()
    return Firing(
        i_schedule=schedule.i_schedule,
        at=due.instant_ms,
        i_env=schedule.i_env,
        i_event_type=schedule.i_event_type,
        variables_json=variables_json,
        coalesce_key=coalesce_key(schedule.event_type, schedule.i_event_type, variables_json),
        local_start=due.wall,
        time_zone=schedule.time_zone,
    )
