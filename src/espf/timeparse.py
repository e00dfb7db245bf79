"""Parsing ``start_time``.

The contract's format is ``YYYY-MM-DD HH:MM:SS`` in UTC. ISO 8601 with an
explicit offset (``2021-03-01T02:00:00+02:00``, ``...Z``) is accepted too and
converted; fractional seconds are kept to the millisecond. A time without an
offset is UTC, as the original documents.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from espf.errors import BadRequest

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# fromisoformat alone would also accept week dates, ordinal dates and bare
# dates; a scheduling API should not guess, so the shape is checked first.
_SHAPE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?"
    r"(Z|z|[+-]\d{2}:?\d{2})?$"
)


def parse_start_time(text: str) -> int:
    """Return the instant as epoch milliseconds, or raise BadRequest."""
    value = text.strip()
    if not _SHAPE.match(value):
        raise BadRequest(
            f"start_time {text!r} is not a time: use 'YYYY-MM-DD HH:MM:SS' (UTC) "
            "or ISO 8601 with an offset, e.g. '2021-03-01T00:00:00+00:00'",
            code="invalid_start_time",
        )
    if value[-1] in "Zz":
        value = value[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadRequest(
            f"start_time {text!r} is not a valid date and time: {exc}",
            code="invalid_start_time",
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        year = dt.astimezone(UTC).year
    except OverflowError:
        # 9999-12-31T23:59:59-01:00 and the like fall off the calendar.
        year = 0
    if not 1970 <= year <= 9998:
        raise BadRequest(
            f"start_time {text!r} is out of range (1970 to 9998)", code="invalid_start_time"
        )
    # Integer arithmetic: exact to the millisecond, and cheaper than // timedelta.
    delta = dt - _EPOCH
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000
