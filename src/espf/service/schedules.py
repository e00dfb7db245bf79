"""Recurring schedules: create (or replace by key), read, list, pause,
resume, delete, preview; and materializing the due ones into events."""

from __future__ import annotations

from dataclasses import dataclass

from espf.calendar.occurrences import Occurrence, next_occurrence, preview
from espf.errors import BadRequest, NotFound
from espf.schedule_model import Materialized, NewSchedule, Schedule
from espf.schedules.decide import next_at_after, recurrence_of
from espf.schedules.request import ScheduleSpec, check_schedule, validate_key
from espf.service.event_types import EventTypeOperations
from espf.service.request_parsing import check_page_limit
from espf.store.schedule_plans import Decide


@dataclass(frozen=True, slots=True)
class ScheduleRef:
    """A schedule named by its id or by its key (exactly one)."""

    i_schedule: int | None = None
    key: str | None = None


@dataclass(frozen=True, slots=True)
class SchedulePage:
    schedules: list[Schedule]
    # The i_schedule to continue after, None when this is the last page.
    next_after: int | None


class ScheduleOperations(EventTypeOperations):
    async def schedule_create(
        self, i_env: int, spec: ScheduleSpec, replace: bool = False
    ) -> Schedule:
        """Create a schedule, or with ``replace`` replace the one with its key."""
        await self._require_env(i_env)
        checked = check_schedule(spec)
        event_type = await self.type_get(spec.event_type)
        now = self.clock.now_ms()
        following = next_occurrence(checked.recurrence, now)
        new = NewSchedule(
            i_env=i_env,
            key=checked.key,
            i_event_type=event_type.i_event_type,
            variables_json=checked.variables_json,
            rule=checked.recurrence.rule.text,
            time_zone=checked.recurrence.zone.key,
            start_at=checked.start_at,
            end_at=checked.end_at,
            catch_up=checked.catch_up.policy.value,
            catch_up_window_s=(
                checked.catch_up.window_ms // 1000 if checked.catch_up.window_ms else None
            ),
            next_at=following.instant_ms if following is not None else None,
        )
        return await self.store.schedule_create(new, replace, now)

    async def schedule_get(self, i_env: int, ref: ScheduleRef) -> Schedule:
        if (ref.i_schedule is None) == (ref.key is None):
            raise BadRequest(
                "name the schedule by i_schedule or by key (one of them)", code="missing_field"
            )
        if ref.i_schedule is not None:
            found = await self.store.schedule_get(i_env, ref.i_schedule)
            what = f"schedule {ref.i_schedule}"
        else:
            key = validate_key(ref.key or "")
            found = await self.store.schedule_get_by_key(i_env, key)
            what = f"schedule with key {key!r}"
        if found is None:
            raise NotFound(f"{what} does not exist", code="unknown_schedule")
        return found

    async def schedule_page(
        self, i_env: int, after: int = 0, limit: int = 100, key_prefix: str = ""
    ) -> SchedulePage:
        check_page_limit(limit)
        found = await self.store.schedule_list(i_env, after, limit + 1, key_prefix)
        page = found[:limit]
        return SchedulePage(page, page[-1].i_schedule if len(found) > limit else None)

    async def schedules_of_account(
        self, i_env: int, i_account: int, limit: int = 100
    ) -> list[Schedule]:
        """The schedules whose variables name this i_account, oldest first."""
        check_page_limit(limit)
        return await self.store.console_account_schedules(i_env, i_account, limit)

    async def schedule_pause(self, i_env: int, ref: ScheduleRef) -> Schedule:
        schedule = await self.schedule_get(i_env, ref)
        now = self.clock.now_ms()
        await self.store.schedule_set_paused(i_env, schedule.i_schedule, True, None, now)
        return await self.schedule_get(i_env, ScheduleRef(schedule.i_schedule))

    async def schedule_resume(self, i_env: int, ref: ScheduleRef) -> Schedule:
        """The occurrences missed while paused follow the schedule's policy:
        next_at goes back to the first occurrence after the last one made."""
        schedule = await self.schedule_get(i_env, ref)
        next_at = next_at_after(schedule, schedule.last_at)
        now = self.clock.now_ms()
        await self.store.schedule_set_paused(i_env, schedule.i_schedule, False, next_at, now)
        return await self.schedule_get(i_env, ScheduleRef(schedule.i_schedule))

    async def schedule_delete(self, i_env: int, ref: ScheduleRef) -> Schedule:
        schedule = await self.schedule_get(i_env, ref)
        if not await self.store.schedule_delete(i_env, schedule.i_schedule):
            raise NotFound(
                f"schedule {schedule.i_schedule} does not exist", code="unknown_schedule"
            )
        return schedule

    async def schedule_preview(
        self, i_env: int, ref: ScheduleRef, count: int = 10
    ) -> list[Occurrence]:
        """The next ``count`` occurrences from now (from its last one when that is later)."""
        schedule = await self.schedule_get(i_env, ref)
        recurrence = recurrence_of(
            schedule.rule, schedule.time_zone, schedule.start_at, schedule.end_at
        )
        return preview(recurrence, max(self.clock.now_ms(), schedule.last_at), count)

    async def schedules_materialize(
        self, decider: Decide, limit: int = 1000, now: int | None = None
    ) -> Materialized:
        """One batch of due schedules into events, in one transaction; wakes
        the dispatchers (this process's and other nodes') for the events made."""
        at = self.clock.now_ms() if now is None else now
        done = await self.store.schedule_materialize_due(at, limit, decider)
        if done.earliest_start is not None:
            self.wakeups.due(done.earliest_start)
        return done
