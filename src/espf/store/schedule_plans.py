"""Schedules' multi-statement writes as plans (plan.py): one for both backends.

``materialize_due`` is the exactly-once step. In one transaction it claims a
batch of due schedules (SKIP LOCKED on PostgreSQL, so nodes share them; the
single writer on SQLite), asks ``decide`` (pure calendar arithmetic, no I/O)
what each fires, records each occurrence's identity (schedule, instant) in
``schedule_occurrences``, whose primary key refuses one already there,
inserts an event only for the identities that were new, and advances each
schedule's ``last_at``/``next_at``. A crash before the commit leaves nothing;
after it, the schedule's next_at has moved and a repeat finds the identities
taken, so an occurrence never makes two events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import orjson

from espf.schedule_model import Advance, Firing, Materialized, NewSchedule, Schedule
from espf.store import rows as read
from espf.store.plan import Plan, row, rows, run

Decide = Callable[[Sequence[Schedule], int], tuple[list[Firing], list[Advance]]]


def schedule_params(new: NewSchedule, now: int) -> dict[str, object]:
    return {
        "i_env": new.i_env,
        "key": new.key,
        "i_event_type": new.i_event_type,
        "variables": new.variables_json,
        "rule": new.rule,
        "time_zone": new.time_zone,
        "start_at": new.start_at,
        "end_at": new.end_at,
        "catch_up": new.catch_up,
        "catch_up_window_s": new.catch_up_window_s,
        "next_at": new.next_at,
        "now": now,
    }


def create(new: NewSchedule, replace: bool, now: int) -> Plan[Schedule]:
    query = "schedule_upsert" if replace else "schedule_insert"
    made = yield row(query, schedule_params(new, now))
    found = yield row("schedule_get", {"i_env": new.i_env, "i_schedule": made[0]})
    return read.schedule(found)


def delete(i_env: int, i_schedule: int) -> Plan[bool]:
    gone = yield row("schedule_delete", {"i_env": i_env, "i_schedule": i_schedule})
    if gone is None:
        return False
    # Its occurrences' identities matter only while it exists: ids are never reused.
    yield run("schedule_occurrences_delete", {"i_schedule": i_schedule})
    return True


def materialize_due(now: int, limit: int, decide: Decide) -> Plan[Materialized]:
    claimed = yield rows("schedule_claim_due", {"now": now, "limit": limit})
    if not claimed:
        return Materialized(0, 0, None)
    firings, advances = decide([read.schedule(r) for r in claimed], now)
    made: list[Firing] = []
    if firings:
        identities = [[f.i_schedule, f.at] for f in firings]
        fresh = yield rows("schedule_occurrence_insert", {"occurrences": _json(identities)})
        new = {(int(r[0]), int(r[1])) for r in fresh}
        made = [f for f in firings if (f.i_schedule, f.at) in new]
    if made:
        events = [
            [
                f.i_env,
                f.i_event_type,
                f.variables_json,
                f.at,
                f.coalesce_key,
                f.local_start,
                f.time_zone,
            ]
            for f in made
        ]
        yield run("schedule_event_insert", {"events": _json(events), "now": now})
    positions = [[a.i_schedule, a.last_at, a.next_at] for a in advances]
    yield run("schedule_advance", {"advances": _json(positions)})
    earliest = min((f.at for f in made), default=None)
    return Materialized(len(claimed), len(made), earliest)


def _json(value: object) -> str:
    return orjson.dumps(value).decode()
