"""Validating an event/create request body, shared by the API and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from espf.calendar.local_start import parse_local_start_time
from espf.errors import BadRequest
from espf.names import normalize_event_type_name
from espf.timeparse import parse_start_time

_FIELDS = ("event_type", "variables", "start_time", "time_zone")
# Deeper nesting is no provisioning data, but it costs every reader's stack.
MAX_JSON_DEPTH = 32


def json_depth(value: Any, limit: int = MAX_JSON_DEPTH) -> int:
    """The nesting depth of ``value``, counting no further than ``limit + 1``."""
    depth, level = 0, [value]
    while level and depth <= limit:
        depth += 1
        level = [
            child
            for item in level
            if isinstance(item, (dict, list))
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, (dict, list))
        ]
    return depth + (1 if level else 0)


@dataclass(frozen=True, slots=True)
class EventRequest:
    event_type: str
    variables_json: str
    start_at: int | None  # None: due now
    # With time_zone: the local start time asked for ('YYYY-MM-DD HH:MM:SS[.mmm]') and the zone.
    local_start: str | None = None
    time_zone: str | None = None


def parse_event_request(body: Any) -> EventRequest:
    """Check the shape of ``{"event_type", "variables", "start_time", "time_zone"}``.

    Raise BadRequest naming the field that is wrong.
    """
    if not isinstance(body, dict):
        raise BadRequest(
            'the body must be a JSON object: {"event_type": ..., "variables": {...}, '
            '"start_time": ...}',
            code="invalid_body",
        )
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        raise BadRequest(
            f"unknown field(s): {', '.join(map(str, unknown))}; "
            "an event has event_type, variables, start_time and time_zone",
            code="unknown_field",
        )
    raw_type = body.get("event_type")
    if raw_type is None:
        raise BadRequest("event_type is required", code="missing_field")
    if not isinstance(raw_type, str):
        raise BadRequest("event_type must be a string", code="invalid_field")
    event_type = normalize_event_type_name(raw_type)

    variables = body.get("variables")
    if variables is None:
        variables = {}
    if not isinstance(variables, dict):
        raise BadRequest(
            'variables must be a JSON object, e.g. {"i_account": 541}', code="invalid_field"
        )

    if json_depth(variables) > MAX_JSON_DEPTH:
        raise BadRequest(
            f"variables are nested deeper than {MAX_JSON_DEPTH} levels", code="too_deep"
        )

    variables_json = orjson.dumps(variables).decode()
    # orjson writes a NUL as \u0000; only then is the walk worth its cost.
    if "\\u0000" in variables_json and _has_nul(variables):
        raise BadRequest(
            "variables contain a NUL character (\\u0000): PostgreSQL cannot store it, and "
            "no provisioning data needs it",
            code="invalid_field",
        )

    raw_start = body.get("start_time")
    raw_zone = body.get("time_zone")
    if raw_zone is not None:
        return _local_start_request(event_type, variables_json, raw_start, raw_zone)
    if raw_start is None or raw_start == "":
        start_at = None
    elif isinstance(raw_start, str):
        start_at = parse_start_time(raw_start)
    else:
        raise BadRequest(
            "start_time must be a string 'YYYY-MM-DD HH:MM:SS' (UTC)", code="invalid_field"
        )
    return EventRequest(event_type=event_type, variables_json=variables_json, start_at=start_at)


def _local_start_request(
    event_type: str, variables_json: str, raw_start: Any, raw_zone: Any
) -> EventRequest:
    """``start_time`` read as local time in ``time_zone`` (docs/calendar.md)."""
    if not isinstance(raw_zone, str):
        raise BadRequest(
            "time_zone must be an IANA zone name such as 'Europe/Prague'", code="invalid_field"
        )
    if not isinstance(raw_start, str) or not raw_start.strip():
        raise BadRequest(
            "time_zone needs a start_time: the local time 'YYYY-MM-DD HH:MM:SS' in that zone",
            code="missing_field",
        )
    local = parse_local_start_time(raw_start, raw_zone)
    return EventRequest(
        event_type=event_type,
        variables_json=variables_json,
        start_at=local.instant_ms,
        local_start=format_local(local.asked),
        time_zone=local.time_zone,
    )


def format_local(wall: datetime) -> str:
    """A naive local time as the API writes times, '.mmm' only when not zero."""
    text = wall.strftime("%Y-%m-%d %H:%M:%S")
    return f"{text}.{wall.microsecond // 1000:03d}" if wall.microsecond >= 1000 else text


def _has_nul(value: Any) -> bool:
    """Whether a NUL character is in any key or string inside ``value``."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\0" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False
