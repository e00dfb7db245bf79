-- Version 4: calendar time. The local start time an event was asked for, and
-- recurring schedules that materialize events exactly once per occurrence
-- (docs/calendar.md).

-- event/create with time_zone: the local time asked for ('YYYY-MM-DD
-- HH:MM:SS[.mmm]', naive) and its IANA zone; NULL for a UTC start_time.
ALTER TABLE events ADD COLUMN local_start TEXT;
ALTER TABLE events ADD COLUMN time_zone TEXT;

-- One schedule per (environment, key), e.g. 'i_account=541'. next_at is the
-- instant of the next occurrence to materialize; NULL when paused or past the
-- end. last_at is the last materialized occurrence (or the moment the
-- schedule was created or resumed): only occurrences after it count.
CREATE TABLE schedules (
    i_schedule        INTEGER PRIMARY KEY AUTOINCREMENT,
    i_env             INTEGER NOT NULL REFERENCES environments (i_env),
    key               TEXT NOT NULL,
    i_event_type      INTEGER NOT NULL REFERENCES event_types (i_event_type),
    variables         TEXT NOT NULL,
    rule              TEXT NOT NULL,
    time_zone         TEXT NOT NULL,
    start_at          INTEGER,
    end_at            INTEGER,
    catch_up          TEXT NOT NULL CHECK (catch_up IN ('skip', 'latest', 'all')),
    catch_up_window_s INTEGER,
    paused            INTEGER NOT NULL DEFAULT 0,
    last_at           INTEGER NOT NULL,
    next_at           INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    UNIQUE (i_env, key)
);
-- The materializer reads only the schedules that are due: a million
-- schedules cost it one index range, not a scan.
CREATE INDEX schedules_due ON schedules (next_at) WHERE next_at IS NOT NULL;
-- Listing by environment, in id order.
CREATE INDEX schedules_by_env ON schedules (i_env, i_schedule);

-- The identity of an occurrence: one row per (schedule, instant), so one
-- occurrence never produces two events whatever restarts or nodes do. The
-- event itself carries schedule_id and the occurrence's time in its
-- variables. No foreign key to schedules: a deleted schedule's rows are
-- deleted with it (ids are never reused), the events stay.
CREATE TABLE schedule_occurrences (
    i_schedule INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    PRIMARY KEY (i_schedule, at)
) WITHOUT ROWID;
