-- Version 5 (PostgreSQL): what the operator console's pages read, kept so that
-- each view reads a few rows instead of scanning the events or attempts tables.
-- See the SQLite migration of the same number. Here many writers run at once,
-- so the triggers only append changes (no row is contended on the hot path);
-- a console view folds them into the totals (console_fold_* queries).

CREATE TABLE console_event_states (
    i_env  BIGINT NOT NULL,
    state  TEXT NOT NULL,
    events BIGINT NOT NULL,
    PRIMARY KEY (i_env, state)
);
CREATE TABLE console_event_state_changes (
    i_env  BIGINT NOT NULL,
    state  TEXT NOT NULL,
    events BIGINT NOT NULL
);
INSERT INTO console_event_states (i_env, state, events)
SELECT i_env, state, count(*) FROM events GROUP BY i_env, state;

-- One statement-level trigger per change: a batch insert or update writes
-- one row per (environment, state) it touched, not one per event.
CREATE FUNCTION console_events_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO console_event_state_changes (i_env, state, events)
    SELECT i_env, state, count(*) FROM console_new GROUP BY i_env, state;
    RETURN NULL;
END $$;
CREATE TRIGGER console_events_inserted AFTER INSERT ON events
    REFERENCING NEW TABLE AS console_new
    FOR EACH STATEMENT EXECUTE FUNCTION console_events_inserted();

CREATE FUNCTION console_events_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO console_event_state_changes (i_env, state, events)
    SELECT i_env, state, sum(n) FROM (
        SELECT i_env, state, -1 AS n FROM console_old
        UNION ALL
        SELECT i_env, state, 1 AS n FROM console_new
    ) AS moved
    GROUP BY i_env, state HAVING sum(n) <> 0;
    RETURN NULL;
END $$;
CREATE TRIGGER console_events_updated AFTER UPDATE ON events
    REFERENCING OLD TABLE AS console_old NEW TABLE AS console_new
    FOR EACH STATEMENT EXECUTE FUNCTION console_events_updated();

CREATE FUNCTION console_events_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO console_event_state_changes (i_env, state, events)
    SELECT i_env, state, -count(*) FROM console_old GROUP BY i_env, state;
    RETURN NULL;
END $$;
CREATE TRIGGER console_events_deleted AFTER DELETE ON events
    REFERENCING OLD TABLE AS console_old
    FOR EACH STATEMENT EXECUTE FUNCTION console_events_deleted();

CREATE TABLE console_attempt_minutes (
    i_env    BIGINT NOT NULL,
    minute   BIGINT NOT NULL,
    outcome  TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    PRIMARY KEY (i_env, minute, outcome)
);
CREATE TABLE console_attempt_changes (
    i_env    BIGINT NOT NULL,
    minute   BIGINT NOT NULL,
    outcome  TEXT NOT NULL,
    attempts BIGINT NOT NULL
);
INSERT INTO console_attempt_minutes (i_env, minute, outcome, attempts)
SELECT h.i_env, a.started_at / 60000 * 60000, a.outcome, count(*)
FROM attempts a
JOIN deliveries d ON d.i_delivery = a.i_delivery
JOIN handlers h ON h.i_handler = d.i_handler
GROUP BY 1, 2, 3;

CREATE FUNCTION console_attempts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO console_attempt_changes (i_env, minute, outcome, attempts)
    SELECT h.i_env, n.started_at / 60000 * 60000, n.outcome, count(*)
    FROM console_new n
    JOIN deliveries d ON d.i_delivery = n.i_delivery
    JOIN handlers h ON h.i_handler = d.i_handler
    GROUP BY 1, 2, 3;
    RETURN NULL;
END $$;
CREATE TRIGGER console_attempts_inserted AFTER INSERT ON attempts
    REFERENCING NEW TABLE AS console_new
    FOR EACH STATEMENT EXECUTE FUNCTION console_attempts_inserted();

-- The lateness of recent deliveries reads a time range of delivered ones.
CREATE INDEX deliveries_delivered_by_time ON deliveries (finished_at) WHERE state = 'delivered';

-- The console's filter by account (console_event_list_by_account): the same
-- expression as the query, newest first within an account.
CREATE INDEX events_by_account ON events (i_env, (variables::jsonb ->> 'i_account'), i_event);
