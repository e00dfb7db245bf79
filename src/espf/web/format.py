"""Template filters: times, durations, JSON and the colour of a state badge."""

from __future__ import annotations

from typing import Any

import orjson

from espf.calendar.local_time import local_at
from espf.calendar.zones import load_zone
from espf.clock import format_ms

# Badge colours by meaning, the same for events and deliveries.
_TONE = {
    "delivered": "ok",
    "scheduled": "info",
    "pending": "info",
    "in_flight": "info",
    "waiting": "muted",
    "held": "warn",
    "rejected": "bad",
    "failed": "bad",
    "cancelled": "muted",
    "superseded": "muted",
    "unrouted": "warn",
    "retry": "warn",
    "interrupted": "warn",
    "paused": "warn",
    "disabled": "muted",
    "enabled": "ok",
    "active": "ok",
    "failing": "bad",
    "admin": "info",
    "producer": "muted",
    "OK": "ok",
    "IN_PROGRESS": "info",
    "RETRY": "warn",
    "FAILED": "bad",
}


def tone(state: str | None) -> str:
    return _TONE.get(str(state), "muted")


def when(ms: int | None) -> str:
    return format_ms(ms) if ms is not None else "—"


def local_time(ms: int | None, zone: str | None) -> str:
    """An instant as the wall clock of ``zone`` shows it, e.g.
    'Tue 2026-12-08 02:00 Europe/Prague' (operators think in local time)."""
    if ms is None:
        return "—"
    name = zone or "UTC"
    return local_at(ms, load_zone(name)).strftime("%a %Y-%m-%d %H:%M ") + name


def seconds(value: int | float | None) -> str:
    """A length given in seconds, in the largest whole unit: '2 h', '90 min'."""
    if value is None:
        return "—"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if value >= size and value % size == 0:
            return f"{value // size:g} {unit}"
    return f"{value:g} s"


def duration(ms: int | float | None) -> str:
    if ms is None:
        return "—"
    value = float(ms)
    if abs(value) < 1000:
        return f"{value:.0f} ms"
    seconds = value / 1000
    if abs(seconds) < 120:
        return f"{seconds:.1f} s"
    if abs(seconds) < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def pretty_json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()


def number(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


FILTERS = {
    "tone": tone,
    "when": when,
    "duration": duration,
    "local_time": local_time,
    "seconds": seconds,
    "pretty_json": pretty_json,
    "number": number,
}
