-- Version 5: what the operator console's pages read, kept so that each view
-- reads a few rows instead of scanning the events or attempts tables.

-- Events per environment and state (the overview's tiles), kept by triggers.
-- SQLite has one writer, so the counters are updated in place.
CREATE TABLE console_event_states (
    i_env  INTEGER NOT NULL,
    state  TEXT NOT NULL,
    events INTEGER NOT NULL,
    PRIMARY KEY (i_env, state)
) WITHOUT ROWID;
INSERT INTO console_event_states (i_env, state, events)
SELECT i_env, state, count(*) FROM events GROUP BY i_env, state;

CREATE TRIGGER console_event_inserted AFTER INSERT ON events
BEGIN
    INSERT INTO console_event_states (i_env, state, events) VALUES (NEW.i_env, NEW.state, 1)
    ON CONFLICT (i_env, state) DO UPDATE SET events = events + 1;
END;

CREATE TRIGGER console_event_moved AFTER UPDATE OF state ON events
WHEN OLD.state IS NOT NEW.state
BEGIN
    UPDATE console_event_states SET events = events - 1
    WHERE i_env = OLD.i_env AND state = OLD.state;
    INSERT INTO console_event_states (i_env, state, events) VALUES (NEW.i_env, NEW.state, 1)
    ON CONFLICT (i_env, state) DO UPDATE SET events = events + 1;
END;

CREATE TRIGGER console_event_deleted AFTER DELETE ON events
BEGIN
    UPDATE console_event_states SET events = events - 1
    WHERE i_env = OLD.i_env AND state = OLD.state;
END;

-- Attempts per environment, minute and outcome (the overview's charts).
CREATE TABLE console_attempt_minutes (
    i_env    INTEGER NOT NULL,
    minute   INTEGER NOT NULL,
    outcome  TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    PRIMARY KEY (i_env, minute, outcome)
) WITHOUT ROWID;
INSERT INTO console_attempt_minutes (i_env, minute, outcome, attempts)
SELECT h.i_env, a.started_at / 60000 * 60000, a.outcome, count(*)
FROM attempts a
JOIN deliveries d ON d.i_delivery = a.i_delivery
JOIN handlers h ON h.i_handler = d.i_handler
GROUP BY 1, 2, 3;

CREATE TRIGGER console_attempt_counted AFTER INSERT ON attempts
BEGIN
    INSERT INTO console_attempt_minutes (i_env, minute, outcome, attempts)
    SELECT h.i_env, NEW.started_at / 60000 * 60000, NEW.outcome, 1
    FROM deliveries d JOIN handlers h ON h.i_handler = d.i_handler
    WHERE d.i_delivery = NEW.i_delivery
    ON CONFLICT (i_env, minute, outcome) DO UPDATE SET attempts = attempts + 1;
END;

-- The lateness of recent deliveries reads a time range of delivered ones.
CREATE INDEX deliveries_delivered_by_time ON deliveries (finished_at) WHERE state = 'delivered';

-- The console's filter by account (console_event_list_by_account): the same
-- expression as the query, newest first within an account. It costs each
-- insert one JSON lookup; without it, finding an account's events reads every
-- event's variables.
CREATE INDEX events_by_account
    ON events (i_env, CAST(json_extract(variables, '$.i_account') AS TEXT), i_event);
