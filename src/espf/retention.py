"""How long finished events (and account status history) are kept.

The setting ``retention`` (``ESPF_RETENTION``, or ``retention`` in the
settings file) lists windows by final state, e.g.
``"delivered=7d,superseded=7d,rejected=30d"``; a state left out keeps its
default. Durations take a unit: ``s``, ``m``, ``h`` or ``d``.

Pending, scheduled and in-flight events are never pruned, however old: they
are work still to do, so naming them is refused, like an unknown state or a
window that is not positive. ``account_history`` is the window of superseded
provisioning status reports; an account's current status is kept for ever.

The setting ``retention_by_env`` (``ESPF_RETENTION_BY_ENV``) gives some
environments windows of their own, e.g. ``"3: delivered=1d; 5: failed=90d"``:
each environment named takes the installation's windows with its entries in
their place; every other environment keeps the installation's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
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


def parse_retention(text: str, base: Mapping[str, float] = DEFAULT_RETENTION_S) -> dict[str, float]:
    """The windows in seconds, per state and for ``account_history``: the
    ``base`` windows (the defaults) with ``text``'s entries in their place."""
    windows: dict[str, float] = dict(base)
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


def parse_retention_by_env(text: str, base: Mapping[str, float]) -> dict[int, dict[str, float]]:
    """``"3: delivered=1d; 5: failed=90d"``: per environment id, ``base``
    (the installation's windows) with that environment's entries in place."""
    by_env: dict[int, dict[str, float]] = {}
    for group in filter(None, (part.strip() for part in text.split(";"))):
        env_text, colon, entries = group.partition(":")
        env_text = env_text.strip()
        if not colon or not env_text.isdigit() or int(env_text) <= 0:
            raise RetentionError(
                f"{group!r}: write the environment's id, a colon and its windows, "
                "e.g. 3: delivered=1d, failed=2d (groups separated by ;)"
            )
        i_env = int(env_text)
        if i_env in by_env:
            raise RetentionError(f"environment {i_env} is named twice; give it one group")
        if not entries.strip():
            raise RetentionError(
                f"environment {i_env}: no windows given, e.g. {i_env}: delivered=1d"
            )
        try:
            by_env[i_env] = parse_retention(entries, base)
        except RetentionError as exc:
            raise RetentionError(f"environment {i_env}: {exc}") from None
    return by_env


def cutoffs_ms(windows: Mapping[str, float], now_ms: int) -> dict[str, int]:
    """Per state (and account_history): rows finished before this instant go."""
    return {name: now_ms - int(seconds * 1000) for name, seconds in windows.items()}


@dataclass(frozen=True, slots=True)
class PruneScope:
    """The events one set of cutoffs applies to: one environment
    (``only_env``), or every environment but those with windows of their
    own (``only_env`` None, ``except_envs``)."""

    cutoffs: Mapping[str, int]
    only_env: int | None = None
    except_envs: tuple[int, ...] = ()

    @property
    def oldest_cutoff(self) -> int:
        """Before this instant no event of any final state is kept (the
        longest of their windows; account_history's does not count)."""
        return min(self.cutoffs[state] for state in PRUNABLE_STATES)


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    windows_s: Mapping[str, float]
    by_env: Mapping[int, Mapping[str, float]]

    def scopes(self, now_ms: int) -> list[PruneScope]:
        """Each environment with its own windows, then all the others."""
        scopes = [
            PruneScope(cutoffs_ms(windows, now_ms), only_env=i_env)
            for i_env, windows in sorted(self.by_env.items())
        ]
        scopes.append(
            PruneScope(cutoffs_ms(self.windows_s, now_ms), None, tuple(sorted(self.by_env)))
        )
        return scopes

    def windows_of(self, i_env: int) -> Mapping[str, float]:
        return self.by_env.get(i_env, self.windows_s)
