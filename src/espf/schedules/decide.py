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
from functools import lru_cache

import orjson

from espf.calendar.missed import DEFAULT_GRACE_MS, DuePlan, parse_catch_up, plan_due
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
    """``decide`` for Store.schedule_materialize_due."""

    def __init__(self, grace_ms: int = DEFAULT_GRACE_MS) -> None:
        self.grace_ms = grace_ms

    def __call__(
        self, schedules: Sequence[Schedule], now: int
    ) -> tuple[list[Firing], list[Advance]]:
        shared: dict[tuple[object, ...], DuePlan] = {}
        firings: list[Firing] = []
        advances: list[Advance] = []
        for schedule in schedules:
            definition = (
                schedule.rule,
                schedule.time_zone,
                schedule.start_at,
                schedule.end_at,
                schedule.catch_up,
                schedule.catch_up_window_s,
                schedule.last_at,
            )
            plan = shared.get(definition)
            if plan is None:
                recurrence = recurrence_of(
                    schedule.rule, schedule.time_zone, schedule.start_at, schedule.end_at
                )
                catch_up = parse_catch_up(schedule.catch_up, schedule.catch_up_window_s)
                plan = shared[definition] = plan_due(
                    recurrence, schedule.last_at, now, catch_up, self.grace_ms
                )
            firings += [_firing(schedule, o) for o in plan.fire]
            advances.append(
                Advance(
                    schedule.i_schedule,
                    # Every occurrence up to now is decided; a clock that
                    # stepped back moves nothing back.
                    max(schedule.last_at, now),
                    plan.next.instant_ms if plan.next is not None else None,
                )
            )
        return firings, advances


def _firing(schedule: Schedule, occurrence: Occurrence) -> Firing:
    variables = {
        **schedule.variables,
        SCHEDULE_ID_VARIABLE: schedule.i_schedule,
        SCHEDULE_KEY_VARIABLE: schedule.key,
        OCCURRENCE_LOCAL_TIME_VARIABLE: occurrence_local_time(occurrence),
    }
    variables_json = orjson.dumps(variables).decode()
    return Firing(
        i_schedule=schedule.i_schedule,
        at=occurrence.instant_ms,
        i_env=schedule.i_env,
        i_event_type=schedule.i_event_type,
        variables_json=variables_json,
        coalesce_key=coalesce_key(schedule.event_type, schedule.i_event_type, variables_json),
        local_start=format_local(occurrence.wall),
        time_zone=schedule.time_zone,
    )
