"""Recurrence rules: parsing and validating the text a schedule is given.

The grammar is small and strict (docs/calendar.md):

* five-field cron: ``minute hour day-of-month month day-of-week``;
* ``every N minutes`` / ``every N hours``: a fixed interval of elapsed time;
* ``hourly at :MM``, ``daily at HH:MM``, ``weekly on <weekday> at HH:MM``,
  ``monthly on day D at HH:MM`` (D from 1 to 28) and
  ``monthly on the last day at HH:MM``: calendar forms, translated to cron.

Cron fields are parsed and matched by ``cronsim``; what a match means at a
daylight-saving change is decided in ``occurrences.py``, not by the library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from cronsim import CronSim, CronSimError

from espf.errors import BadRequest

FORMS = (
    "a 5-field cron expression ('0 0 1 * *'), 'every N minutes', 'every N hours', "
    "'hourly at :15', 'daily at 02:30', 'weekly on monday at 09:00', "
    "'monthly on day 1 at 00:00' or 'monthly on the last day at 00:00'"
)

# Interval limits: at least a minute (the delivery precision is far finer,
# but a schedule is a calendar, not a busy loop), at most a week.
MAX_INTERVAL_MINUTES = 7 * 24 * 60
# "monthly on day 29..31" would silently skip the months that lack the day.
LAST_DAY_EVERY_MONTH_HAS = 28

_WEEKDAYS = {
    name: number
    for number, names in enumerate(
        [
            ("sunday", "sun"),
            ("monday", "mon"),
            ("tuesday", "tue"),
            ("wednesday", "wed"),
            ("thursday", "thu"),
            ("friday", "fri"),
            ("saturday", "sat"),
        ]
    )
    for name in names
}

_TIME = r"(?P<hour>\d{1,2}):(?P<minute>\d{2})"
_INTERVAL = re.compile(r"every (?P<count>\d+) (?P<unit>minutes?|hours?)")
_HOURLY = re.compile(r"hourly at :(?P<minute>\d{2})")
_DAILY = re.compile(rf"daily at {_TIME}")
_WEEKLY = re.compile(rf"weekly on (?P<weekday>[a-z]+) at {_TIME}")
_MONTHLY = re.compile(rf"monthly on day (?P<day>\d{{1,2}}) at {_TIME}")
_MONTHLY_LAST = re.compile(rf"monthly on the last day at {_TIME}")
# Only what five cron fields can hold; seconds, years and '?' are refused.
_CRON_FIELD = re.compile(r"[0-9A-Za-z*/,#-]+")
# A date cronsim's own search starts from when checking that a rule fires.
_PROBE_START = datetime(2000, 1, 1)


@dataclass(frozen=True)
class CalendarRule:
    """Fires at local wall-clock times matching a cron expression."""

    text: str
    cron: str
    # True when the rule fires in every hour of the day: such a rule follows
    # the clock through both passes of a repeated hour (see occurrences.py).
    every_hour: bool


@dataclass(frozen=True)
class IntervalRule:
    """Fires every ``interval_ms`` of elapsed time, whatever the local clock says."""

    text: str
    interval_ms: int


Rule = CalendarRule | IntervalRule


def parse_rule(text: str) -> Rule:
    """Parse and validate rule text, or raise BadRequest saying what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise _bad(f"a rule is required: use {FORMS}")
    normal = " ".join(text.split())
    lowered = normal.lower()
    if match := _INTERVAL.fullmatch(lowered):
        return _interval(normal, int(match["count"]), match["unit"])
    if match := _HOURLY.fullmatch(lowered):
        return _calendar(normal, f"{_minute(normal, match['minute'])} * * * *")
    if match := _DAILY.fullmatch(lowered):
        return _calendar(normal, f"{_clock(normal, match)} * * *")
    if match := _WEEKLY.fullmatch(lowered):
        weekday = _WEEKDAYS.get(match["weekday"])
        if weekday is None:
            raise _bad(
                f"rule {normal!r}: {match['weekday']!r} is not a weekday; "
                "use monday to sunday (or mon to sun)"
            )
        return _calendar(normal, f"{_clock(normal, match)} * * {weekday}")
    if match := _MONTHLY.fullmatch(lowered):
        day = int(match["day"])
        if not 1 <= day <= LAST_DAY_EVERY_MONTH_HAS:
            raise _bad(
                f"rule {normal!r}: day {day} is not in every month; use a day from 1 to "
                f"{LAST_DAY_EVERY_MONTH_HAS}, or 'monthly on the last day at HH:MM'"
            )
        return _calendar(normal, f"{_clock(normal, match)} {day} * *")
    if match := _MONTHLY_LAST.fullmatch(lowered):
        return _calendar(normal, f"{_clock(normal, match)} L * *")
    fields = normal.split(" ")
    if len(fields) == 5 and all(_CRON_FIELD.fullmatch(field) for field in fields):
        return _calendar(normal, normal)
    raise _bad(f"rule {text!r} is not understood: use {FORMS}")


def _interval(text: str, count: int, unit: str) -> IntervalRule:
    minutes = count * 60 if unit.startswith("hour") else count
    if not 1 <= minutes <= MAX_INTERVAL_MINUTES:
        raise _bad(
            f"rule {text!r}: the interval must be from 1 minute to "
            f"{MAX_INTERVAL_MINUTES // 60} hours (one week)"
        )
    return IntervalRule(text=text, interval_ms=minutes * 60_000)


def _calendar(text: str, cron: str) -> CalendarRule:
    try:
        probe = CronSim(cron, _PROBE_START)
    except CronSimError as exc:
        # cronsim reports a day no month of the rule has as a bad day field.
        if str(exc) == "Bad day-of-month" and _valid_in_some_month(cron):
            raise _never_fires(text) from None
        raise _bad(f"rule {text!r} is not a valid cron expression: {_cron_problem(exc)}") from None
    # cronsim refuses some impossible dates itself (day 30 in February) and
    # gives up after 50 years without a match for the rest.
    if next(probe, None) is None:
        raise _never_fires(text)
    return CalendarRule(text=text, cron=cron, every_hour=probe.hours == set(range(24)))


def _valid_in_some_month(cron: str) -> bool:
    """True when only the month field makes the expression impossible ('30 2 30 2 *')."""
    fields = cron.split(" ")
    try:
        CronSim(" ".join([*fields[:3], "*", fields[4]]), _PROBE_START)
    except CronSimError:
        return False
    return True


def _never_fires(text: str) -> BadRequest:
    return _bad(
        f"rule {text!r} never fires: none of its months has the day of the month it "
        "names (use 'L' for the last day of the month)"
    )


def _cron_problem(exc: CronSimError) -> str:
    detail = str(exc)
    if detail.startswith("Bad "):
        field = detail.removeprefix("Bad ")
        return (
            f"the {field} field is not valid; the fields are "
            "minute (0-59), hour (0-23), day of month (1-31, L), month (1-12 or jan-dec) "
            "and day of week (0-7 or sun-sat)"
        )
    return f"{detail.lower()}; a cron rule has 5 fields: minute hour day-of-month month weekday"


def _clock(text: str, match: re.Match[str]) -> str:
    """'MM HH' cron fields from a matched HH:MM, checked."""
    hour = int(match["hour"])
    if hour > 23:
        raise _bad(f"rule {text!r}: the hour must be from 00 to 23")
    return f"{_minute(text, match['minute'])} {hour}"


def _minute(text: str, digits: str) -> int:
    minute = int(digits)
    if minute > 59:
        raise _bad(f"rule {text!r}: the minute must be from 00 to 59")
    return minute


def _bad(message: str) -> BadRequest:
    return BadRequest(message, code="invalid_rule")
