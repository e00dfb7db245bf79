"""What a schedule fires now: due occurrences, and those it missed.

A pure decision, taken each time a schedule is looked at. An occurrence is
*due* once its instant has come; it is *missed* when it is more than a grace
period late (espf was down, the schedule was paused, a backlog). Due
occurrences within the grace always fire; missed ones follow the schedule's
policy:

* ``skip`` (default): none of them fire;
* ``latest``: the most recent missed occurrence fires, once;
* ``all``: every missed occurrence inside the catch-up window (measured back
  from now) fires, oldest first.

The store makes each occurrence fire at most once with a unique key,
``OccurrenceKey`` (schedule id, instant in ms); nothing here holds state.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from espf.calendar.occurrences import (
    Occurrence,
    Recurrence,
    latest_occurrence,
    next_occurrence,
    occurrences_after,
)
from espf.errors import BadRequest

# Lateness that still counts as on time: enough for a burst of a hundred
# thousand schedules due at one instant to be worked through.
DEFAULT_GRACE_MS = 5 * 60_000
MAX_CATCH_UP_WINDOW_MS = 31 * 86_400_000


class MissedPolicy(StrEnum):
    SKIP = "skip"
    LATEST = "latest"
    ALL = "all"


@dataclass(frozen=True)
class CatchUp:
    """A schedule's missed-run policy; build it with parse_catch_up."""

    policy: MissedPolicy = MissedPolicy.SKIP
    window_ms: int | None = None  # only with ``all``


class OccurrenceKey(NamedTuple):
    """The identity of one occurrence: a store's unique key for it."""

    schedule_id: int
    instant_ms: int


@dataclass(frozen=True)
class DuePlan:
    fire: tuple[Occurrence, ...]  # to fire now, oldest first
    next: Occurrence | None  # the first occurrence after now; None past the end
    skipped_missed: bool  # some missed occurrence will never fire


def occurrence_key(schedule_id: int, occurrence: Occurrence) -> OccurrenceKey:
    return OccurrenceKey(schedule_id, occurrence.instant_ms)


def parse_catch_up(policy: str | None, window_s: int | None = None) -> CatchUp:
    """Validate a policy name and its window (seconds), or raise BadRequest."""
    names = ", ".join(repr(member.value) for member in MissedPolicy)
    try:
        chosen = MissedPolicy(policy if policy is not None else MissedPolicy.SKIP)
    except ValueError:
        raise BadRequest(
            f"missed-run policy {policy!r} is not known: use one of {names}",
            code="invalid_missed_policy",
        ) from None
    if chosen is not MissedPolicy.ALL:
        if window_s is not None:
            raise BadRequest(
                f"a catch-up window goes only with the 'all' policy, not {chosen.value!r}",
                code="invalid_missed_policy",
            )
        return CatchUp(chosen)
    if window_s is None or not 1 <= window_s * 1000 <= MAX_CATCH_UP_WINDOW_MS:
        raise BadRequest(
            "the 'all' policy needs a catch-up window from 1 second to "
            f"{MAX_CATCH_UP_WINDOW_MS // 86_400_000} days, in seconds",
            code="invalid_missed_policy",
        )
    return CatchUp(chosen, window_s * 1000)


def plan_due(
    recurrence: Recurrence,
    last_ms: int,
    now_ms: int,
    catch_up: CatchUp = CatchUp(),
    grace_ms: int = DEFAULT_GRACE_MS,
) -> DuePlan:
    """Which occurrences to fire at ``now_ms``, and the next one to wait for.

    ``last_ms`` is the instant of the last materialized occurrence or, for a
    schedule that has none yet, the moment it was created: only occurrences
    strictly after it count. A clock that stepped back (``now_ms`` before
    ``last_ms``) fires nothing and waits for the occurrence after ``last_ms``.
    """
    if now_ms <= last_ms:
        return DuePlan((), next_occurrence(recurrence, last_ms), skipped_missed=False)
    # Occurrences before ``on_time_from`` are missed.
    on_time_from = now_ms - grace_ms
    missed = _missed_to_fire(recurrence, last_ms, on_time_from, now_ms, catch_up)
    on_time: list[Occurrence] = []
    for occurrence in occurrences_after(recurrence, max(last_ms, on_time_from - 1)):
        if occurrence.instant_ms > now_ms:
            break
        on_time.append(occurrence)
    first_missed = next_occurrence(recurrence, last_ms)
    # The policies fire the newest missed occurrences, so if the oldest fires
    # they all do.
    skipped = (
        first_missed is not None
        and first_missed.instant_ms < on_time_from
        and (not missed or missed[0].instant_ms != first_missed.instant_ms)
    )
    return DuePlan(tuple(missed + on_time), next_occurrence(recurrence, now_ms), skipped)


def _missed_to_fire(
    recurrence: Recurrence, last_ms: int, on_time_from: int, now_ms: int, catch_up: CatchUp
) -> list[Occurrence]:
    if on_time_from - 1 <= last_ms or catch_up.policy is MissedPolicy.SKIP:
        return []
    if catch_up.policy is MissedPolicy.LATEST:
        latest = latest_occurrence(recurrence, on_time_from - 1, last_ms)
        return [latest] if latest is not None else []
    assert catch_up.window_ms is not None, "parse_catch_up gives 'all' a window"
    missed: list[Occurrence] = []
    for occurrence in occurrences_after(recurrence, max(last_ms, now_ms - catch_up.window_ms - 1)):
        if occurrence.instant_ms >= on_time_from:
            break
        missed.append(occurrence)
    return missed
