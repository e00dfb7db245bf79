"""IANA time zones by name, refused with a helpful message when unknown.

Zone data comes from the operating system (/usr/share/zoneinfo) when it has
it, else from the ``tzdata`` package, which espf depends on so that a slim
container without system zone data still knows every zone.
"""

from __future__ import annotations

import difflib
import zoneinfo
from functools import cache

from espf.errors import BadRequest

# Names that exist as files but are not zones a schedule should name: one is
# whatever the machine is set to, the other a placeholder zone.
_NOT_FOR_SCHEDULES = frozenset({"localtime", "Factory"})


@cache
def _known_zone_names() -> frozenset[str]:
    # One scan of the zone directories (tens of milliseconds), then a set
    # lookup. Checking against the list also refuses what the file system
    # would forgive, such as 'europe/prague' on a case-insensitive disk.
    return frozenset(zoneinfo.available_timezones()) - _NOT_FOR_SCHEDULES


def load_zone(name: str) -> zoneinfo.ZoneInfo:
    """The zone called ``name`` (e.g. ``Europe/Prague``), or BadRequest."""
    known = _known_zone_names()
    if name not in known:
        raise BadRequest(_unknown_zone_message(name, known), code="invalid_time_zone")
    return zoneinfo.ZoneInfo(name)


def _unknown_zone_message(name: str, known: frozenset[str]) -> str:
    message = (
        f"unknown time zone {name!r}: use an IANA zone name, Area/Location such as "
        "'Europe/Prague', 'America/New_York' or 'Asia/Kolkata', or 'UTC'"
    )
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.8)
    if not close:
        close = [zone for zone in known if zone.lower() == name.lower()]
    if close:
        message += f" (did you mean {close[0]!r}?)"
    return message
