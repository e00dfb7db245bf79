"""How long finished events (and account status history) are kept.

The setting ``retention`` (``ESPF_RETENTION``, or ``retention`` in the
settings file) lists windows by final state, e.g.
``"delivered=7d,superseded=7d,rejected=30d"``; a state left out keeps its
default. Durations take a unit: ``s``, ``m``, ``h`` or ``d``.

Pending, scheduled and in-flight events are never pruned, however old: they
are work still to do, so naming them is refused, like an unknown state or a
window that is not positive. ``account_history`` is the window of superseded
provisioning status reports; an account's current status is kept for ever.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

DAY_S = 86_400

# Final event states: an event in one of these has nothing left to send.
PRUNABLE_STATES = ("delivered", "superseded", "rejected", "failed", "cancelled", "unrouted")
ACCOUNT_HISTORY = "account_history"
NEVER_PRUNED = ("scheduled", "pending", "in_flight")

DEFAULT_RETENTION_S: Mapping[str, int] = MappingProxyType(
    {
        "delivered": 7 * DAY_S,
        "superseded": 7 * DAY_S,
        "rejected": 30 * DAY_S,
        "failed": 30 * DAY_S,
        "cancelled": 30 * DAY_S,
        "unrouted": 30 * DAY_S,
        ACCOUNT_HISTORY: 30 * DAY_S,
    }
)

_UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": DAY_S}
_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([smhd])\s*$")


class RetentionError(ValueError):
    """The retention setting cannot be used; the message says why."""


def parse_duration_s(text: str) -> float:
    match = _DURATION.match(text)
    if match is None:
        raise RetentionError(f"{text!r} is not a duration: write a number and s, m, h or d (7d)")
    return float(match.group(1)) * _UNITS_S[match.group(2)]


def parse_retention(text: str) -> dict[str, float]:
    """The windows in seconds, per state and for ``account_history``: the
    defaults with ``text``'s entries in their place."""
    windows: dict[str, float] = dict(DEFAULT_RETENTION_S)
    for entry in filter(None, (part.strip() for part in text.split(","))):
        name, equals, value = entry.partition("=")
        name = name.strip()
        if not equals:
            raise RetentionError(f"{entry!r}: write state=duration, e.g. delivered=7d")
        if name in NEVER_PRUNED:
            raise RetentionError(
                f"{name} events are never pruned (they are work still to do); "
                f"retention applies to {', '.join(PRUNABLE_STATES)} and {ACCOUNT_HISTORY}"
            )
        if name not in windows:
            raise RetentionError(
                f"unknown state {name!r}; retention applies to "
                f"{', '.join(PRUNABLE_STATES)} and {ACCOUNT_HISTORY}"
            )
        seconds = parse_duration_s(value)
        if seconds <= 0:
            raise RetentionError(f"{name}={value.strip()}: a retention window must be positive")
        windows[name] = seconds
    return windows


def cutoffs_ms(windows: Mapping[str, float], now_ms: int) -> dict[str, int]:
    """Per state (and account_history): rows finished before this instant go."""
    return {name: now_ms - int(seconds * 1000) for name, seconds in windows.items()}
