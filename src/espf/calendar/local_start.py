"""``start_time`` read as local time in a named zone (``event/create``'s ``time_zone``).

With a zone, ``start_time`` is a wall-clock time in that zone, so an explicit
offset is refused rather than silently preferred to the zone: the two could
disagree. The instant follows the fixed rules of local_time.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from espf.calendar.local_time import local_at, resolve_local
from espf.calendar.zones import load_zone
from espf.errors import BadRequest

# The contract's shape, as timeparse.py, but without an offset.
_LOCAL_SHAPE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$")


@dataclass(frozen=True)
class LocalStart:
    instant_ms: int
    # What was asked for, naive, in ``time_zone``.
    asked: datetime
    # The local time at the instant: later than ``asked`` in a spring-forward gap.
    local: datetime
    time_zone: str


def parse_local_start_time(text: str, time_zone: str) -> LocalStart:
    """The instant a local ``start_time`` names in ``time_zone``, or BadRequest."""
    zone = load_zone(time_zone)
    value = text.strip()
    if not _LOCAL_SHAPE.match(value):
        raise BadRequest(
            f"start_time {text!r} is not a local time: with time_zone {time_zone!r} use "
            "'YYYY-MM-DD HH:MM:SS' without an offset, e.g. '2026-03-01 00:00:00'",
            code="invalid_start_time",
        )
    try:
        asked = datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadRequest(
            f"start_time {text!r} is not a valid date and time: {exc}",
            code="invalid_start_time",
        ) from None
    # Inside the UTC range timeparse.py accepts, with a day's margin for the offset.
    if not 1970 <= asked.year <= 9998 or asked < datetime(1970, 1, 2):
        raise BadRequest(
            f"start_time {text!r} is out of range (1970-01-02 to 9998)", code="invalid_start_time"
        )
    instant = resolve_local(asked, zone)
    return LocalStart(instant, asked, local_at(instant, zone), zone.key)
