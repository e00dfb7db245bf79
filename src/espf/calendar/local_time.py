"""Local wall-clock times and the instants they name.

The fixed rules, documented in docs/calendar.md:

* a local time that does not exist (the spring-forward gap) means the first
  instant after the gap, i.e. the instant the clocks jumped;
* a local time that occurs twice (fall-back) means its first occurrence.

``datetime`` with ``zoneinfo`` does not do this by itself: a time in the gap
gets an instant computed with the offset before (fold=0) or after (fold=1)
the jump, neither of which is the jump itself, so the gap is resolved here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def to_ms(instant: datetime) -> int:
    """Epoch milliseconds of an aware datetime, exact (no float rounding)."""
    delta = instant - _EPOCH
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def from_ms(ms: int) -> datetime:
    """The UTC datetime of epoch milliseconds, exact."""
    return _EPOCH + ms * _MS


def local_at(ms: int, zone: ZoneInfo) -> datetime:
    """The aware local time in ``zone`` at instant ``ms`` (``fold`` set in a repeated hour)."""
    return from_ms(ms).astimezone(zone)


def instants_of(wall: datetime, zone: ZoneInfo) -> tuple[int, ...]:
    """Every instant at which the clocks in ``zone`` read ``wall`` (a naive time).

    Empty in a spring-forward gap, two instants (first pass first) in a
    repeated hour, one otherwise.
    """
    wall = wall.replace(tzinfo=None, fold=0)
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    # PEP 495: ``fold`` changes the offset only for a time in a gap or in a
    # repeated hour. The clocks went back (a repeated hour) when the offset
    # before is the larger, forward (a gap) when it is the smaller.
    before, after = first.utcoffset(), second.utcoffset()
    if before == after:
        return (to_ms(first),)
    assert before is not None and after is not None
    if before > after:
        return (to_ms(first), to_ms(second))
    return ()


def resolve_local(wall: datetime, zone: ZoneInfo) -> int:
    """The instant a naive local time means, by the fixed rules above."""
    real = instants_of(wall, zone)
    if real:
        return real[0]  # the only one, or the first of a repeated hour
    return _end_of_gap(wall.replace(tzinfo=None, fold=0), zone)


def _end_of_gap(wall: datetime, zone: ZoneInfo) -> int:
    # With fold=0 Python reads a time in the gap with the offset in force
    # before the jump, which lands on an instant inside the gap's span of
    # real time (or right at its end). The jump happens at the first instant
    # whose offset is the new one; search for it between that instant minus
    # the widest possible gap and the instant read with the new offset.
    before = to_ms(wall.replace(tzinfo=zone, fold=0))
    after = to_ms(wall.replace(tzinfo=zone, fold=1))
    low, high = min(before, after), max(before, after)
    old_offset = local_at(low, zone).utcoffset()
    # Invariant: the offset at ``low`` is the old one, at ``high`` the new one.
    if local_at(high, zone).utcoffset() == old_offset:
        raise AssertionError(f"{wall} in {zone.key} is not in a gap")  # pragma: no cover
    while high - low > 1:
        middle = (low + high) // 2
        if local_at(middle, zone).utcoffset() == old_offset:
            low = middle
        else:
            high = middle
    return high
