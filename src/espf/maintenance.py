"""Maintenance windows of a handler: while one is open nothing is sent to it;
its due deliveries wait, without spending attempts, and go out when it ends.

A window is one-off (from, to) or recurring (a calendar rule in a time zone,
calendar/, and a duration). Pure rules: which window is open or comes next,
and how the wait is worded.
"""

from __future__ import annotations

from dataclasses import dataclass

from espf.calendar.local_time import local_at
from espf.calendar.occurrences import latest_occurrence, make_recurrence, next_occurrence
from espf.calendar.zones import load_zone
from espf.errors import BadRequest

MAX_WINDOW_S = 31 * 86400  # a recurring window lasts at most a month
MAX_WINDOWS_PER_HANDLER = 50


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    i_window: int
    i_handler: int
    # one-off
    starts_at: int | None = None
    ends_at: int | None = None
    # recurring
    rule: str | None = None
    time_zone: str | None = None
    duration_s: int | None = None

    @property
    def recurring(self) -> bool:
        return self.rule is not None


@dataclass(frozen=True, slots=True)
class OpenWindow:
    """A span during which a handler is in maintenance; ``zone`` is the
    zone its end is worded in."""

    opens_at: int
    closes_at: int
    zone: str = "UTC"


def _bad(message: str) -> BadRequest:
    return BadRequest(message, code="invalid_maintenance_window")


def validate_window(window: MaintenanceWindow, now: int) -> None:
    """Raise BadRequest saying what is wrong with a window being added."""
    if window.recurring:
        if window.starts_at is not None or window.ends_at is not None:
            raise _bad("a window is either one-off (start, end) or recurring (rule), not both")
        if window.duration_s is None or not 0 < window.duration_s <= MAX_WINDOW_S:
            raise _bad(f"a recurring window needs a duration from 1 to {MAX_WINDOW_S} seconds")
        make_recurrence(window.rule or "", window.time_zone or "UTC")  # raises if wrong
        return
    if window.duration_s is not None or window.time_zone is not None:
        raise _bad("duration and time_zone belong to a recurring window (with a rule)")
    if window.starts_at is None or window.ends_at is None:
        raise _bad("a one-off window needs start and end; a recurring one needs a rule")
    if window.ends_at <= window.starts_at:
        raise _bad("a window must end after it starts")
    if window.ends_at <= now:
        raise _bad("that window is over already")


def window_span(window: MaintenanceWindow, now: int) -> OpenWindow | None:
    """The span of ``window`` open at ``now``, else its next one; None if none."""
    if not window.recurring:
        assert window.starts_at is not None and window.ends_at is not None
        if window.ends_at <= now:
            return None
        return OpenWindow(window.starts_at, window.ends_at)
    zone = window.time_zone or "UTC"
    recurrence = make_recurrence(window.rule or "", zone)
    length = (window.duration_s or 0) * 1000
    current = latest_occurrence(recurrence, now, now - length)
    if current is not None and current.instant_ms + length > now:
        return OpenWindow(current.instant_ms, current.instant_ms + length, zone)
    upcoming = next_occurrence(recurrence, now)
    if upcoming is None:
        return None
    return OpenWindow(upcoming.instant_ms, upcoming.instant_ms + length, zone)


def next_window(windows: list[MaintenanceWindow], now: int) -> OpenWindow | None:
    """The window open at ``now`` or, if none is, the next to open; windows
    that overlap or touch it make one longer window."""
    spans = sorted(
        (s for s in (window_span(w, now) for w in windows) if s is not None),
        key=lambda s: s.opens_at,
    )
    if not spans:
        return None
    merged = spans[0]
    for span in spans[1:]:
        if span.opens_at > merged.closes_at:
            break
        if span.closes_at > merged.closes_at:
            merged = OpenWindow(merged.opens_at, span.closes_at, span.zone)
    return merged


def is_open(window: OpenWindow | None, now: int) -> bool:
    return window is not None and window.opens_at <= now < window.closes_at


def waiting_reason(window: OpenWindow, now: int) -> str:
    """E.g. 'maintenance until 03:00 Europe/Prague', with the date when the
    window ends on another local day."""
    zone = load_zone(window.zone)
    end = local_at(window.closes_at, zone)
    same_day = local_at(now, zone).date() == end.date()
    when = end.strftime("%H:%M") if same_day else end.strftime("%Y-%m-%d %H:%M")
    return f"maintenance until {when} {window.zone}"
