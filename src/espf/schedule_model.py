"""Recurring schedules: what the store keeps and what the materializer decides.

A schedule makes events of one type, with a variables template, on a
calendar rule in a time zone (docs/calendar.md, "Schedules").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Names of the variables a schedule adds to each event it makes.
SCHEDULE_ID_VARIABLE = "schedule_id"
SCHEDULE_KEY_VARIABLE = "schedule_key"
OCCURRENCE_LOCAL_TIME_VARIABLE = "occurrence_local_time"


@dataclass(frozen=True, slots=True)
class NewSchedule:
    i_env: int
    key: str
    i_event_type: int
    variables_json: str
    rule: str
    time_zone: str
    start_at: int | None
    end_at: int | None
    catch_up: str  # skip, latest or all
    catch_up_window_s: int | None
    # The first occurrence after now; None when the end came first.
    next_at: int | None


@dataclass(frozen=True, slots=True)
class Schedule:
    i_schedule: int
    i_env: int
    key: str
    i_event_type: int
    event_type: str
    variables: dict[str, Any]
    rule: str
    time_zone: str
    start_at: int | None
    end_at: int | None
    catch_up: str
    catch_up_window_s: int | None
    paused: bool
    # Only occurrences after last_at still count: the last one materialized,
    # or when the schedule was created, replaced or last looked at.
    last_at: int
    next_at: int | None  # None: paused, or past its end
    created_at: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class Firing:
    """One occurrence to materialize as an event."""

    i_schedule: int
    at: int  # the occurrence's instant: with i_schedule, its identity
    i_env: int
    i_event_type: int
    variables_json: str
    coalesce_key: str | None
    local_start: str  # the wall time the rule named
    time_zone: str


@dataclass(frozen=True, slots=True)
class Advance:
    """Where a schedule stands once its due occurrences are materialized."""

    i_schedule: int
    last_at: int
    next_at: int | None


@dataclass(frozen=True, slots=True)
class Materialized:
    schedules: int  # claimed and advanced
    events: int  # created (an occurrence already materialized makes none)
    earliest_start: int | None  # of the events created
