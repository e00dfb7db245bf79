"""A schedule as asked for by the API or the CLI, and its checks.

Every check happens before anything is stored, so bad input (an unknown
zone, an impossible rule, an end before the start, a malformed key) is a 400
that says what is wrong and creates nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from espf.calendar.local_start import parse_local_start_time
from espf.calendar.missed import CatchUp, parse_catch_up
from espf.calendar.occurrences import Recurrence, make_recurrence
from espf.errors import BadRequest
from espf.event_request import MAX_JSON_DEPTH, json_depth
from espf.schedule_model import (
    OCCURRENCE_LOCAL_TIME_VARIABLE,
    SCHEDULE_ID_VARIABLE,
    SCHEDULE_KEY_VARIABLE,
)

MAX_KEY_LENGTH = 200
ADDED_VARIABLES = (SCHEDULE_ID_VARIABLE, SCHEDULE_KEY_VARIABLE, OCCURRENCE_LOCAL_TIME_VARIABLE)


@dataclass(frozen=True)
class ScheduleSpec:
    key: str
    event_type: str
    rule: str
    time_zone: str
    variables: dict[str, Any] = field(default_factory=dict)
    # Local times in time_zone, 'YYYY-MM-DD HH:MM:SS'; the start is inclusive,
    # the end exclusive.
    start_time: str | None = None
    end_time: str | None = None
    catch_up: str | None = None  # skip (default), latest or all
    catch_up_window_s: int | None = None


@dataclass(frozen=True)
class CheckedSchedule:
    key: str
    variables_json: str
    recurrence: Recurrence
    catch_up: CatchUp
    start_at: int | None
    end_at: int | None


def validate_key(key: str) -> str:
    key = key.strip() if isinstance(key, str) else ""
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise BadRequest(
            f"key must be 1 to {MAX_KEY_LENGTH} printable characters, e.g. 'i_account=541'",
            code="invalid_key",
        )
    return key


def check_schedule(spec: ScheduleSpec) -> CheckedSchedule:
    key = validate_key(spec.key)
    if not isinstance(spec.variables, dict):
        raise BadRequest(
            'variables must be a JSON object, e.g. {"i_account": 541}', code="invalid_field"
        )
    taken = sorted(set(spec.variables) & set(ADDED_VARIABLES))
    if taken:
        raise BadRequest(
            f"variables may not contain {', '.join(taken)}: a schedule adds them to each event",
            code="invalid_field",
        )
    if json_depth(spec.variables) > MAX_JSON_DEPTH:
        raise BadRequest(
            f"variables are nested deeper than {MAX_JSON_DEPTH} levels", code="too_deep"
        )
    variables_json = orjson.dumps(spec.variables).decode()
    if "\\u0000" in variables_json:
        raise BadRequest(
            "variables contain a NUL character (\\u0000), which cannot be stored",
            code="invalid_field",
        )
    start_at = _bound(spec.start_time, spec.time_zone)
    end_at = _bound(spec.end_time, spec.time_zone)
    recurrence = make_recurrence(spec.rule, spec.time_zone, start_at, end_at)
    catch_up = parse_catch_up(spec.catch_up, spec.catch_up_window_s)
    return CheckedSchedule(key, variables_json, recurrence, catch_up, start_at, end_at)


def _bound(text: str | None, time_zone: str) -> int | None:
    if text is None or not text.strip():
        return None
    return parse_local_start_time(text, time_zone).instant_ms
