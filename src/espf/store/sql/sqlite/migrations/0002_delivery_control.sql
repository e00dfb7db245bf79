-- Version 2: retry policy per handler, pause, ordering, coalescing,
-- idempotent create, signatures and TLS, and a log of every state change.

-- A paused handler still gets deliveries, but they wait (state 'held').
ALTER TABLE handlers ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;
ALTER TABLE handlers ADD COLUMN paused_at INTEGER;
ALTER TABLE handlers ADD COLUMN paused_reason TEXT;
-- Start of the current run of failed attempts (NULL: the last answer was fine).
ALTER TABLE handlers ADD COLUMN failing_since INTEGER;
ALTER TABLE handlers ADD COLUMN auto_pause_after_s REAL;
-- Retry policy overrides; NULL means the service default.
ALTER TABLE handlers ADD COLUMN retry_max_attempts INTEGER;
ALTER TABLE handlers ADD COLUMN retry_max_age_s REAL;
ALTER TABLE handlers ADD COLUMN retry_schedule TEXT;
ALTER TABLE handlers ADD COLUMN retry_base_s REAL;
ALTER TABLE handlers ADD COLUMN retry_factor REAL;
ALTER TABLE handlers ADD COLUMN retry_cap_s REAL;
-- Ordering: deliveries sharing a key go out one at a time, in i_event order.
ALTER TABLE handlers ADD COLUMN ordered INTEGER NOT NULL DEFAULT 0;
ALTER TABLE handlers ADD COLUMN order_key TEXT;
-- Signature auth (Standard Webhooks): a JSON list of secrets, newest first.
ALTER TABLE handlers ADD COLUMN signing_secrets TEXT;
ALTER TABLE handlers ADD COLUMN tls_verify INTEGER NOT NULL DEFAULT 1;
ALTER TABLE handlers ADD COLUMN tls_ca_file TEXT;
ALTER TABLE handlers ADD COLUMN tls_client_cert TEXT;
ALTER TABLE handlers ADD COLUMN tls_client_key TEXT;

-- "Only the latest event is processed": the account or customer it is about.
ALTER TABLE events ADD COLUMN coalesce_key TEXT;

ALTER TABLE deliveries ADD COLUMN coalesce_key TEXT;
ALTER TABLE deliveries ADD COLUMN order_key TEXT;
ALTER TABLE deliveries ADD COLUMN created_at INTEGER;
-- The retry budget counts from here: an operator's retry opens a new one.
ALTER TABLE deliveries ADD COLUMN budget_from_attempt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN budget_from_at INTEGER;

-- Events before this version were 'dispatched'; their state now follows
-- their deliveries.
UPDATE events SET state = CASE
    WHEN EXISTS (SELECT 1 FROM deliveries d WHERE d.i_event = events.i_event
                 AND d.state IN ('pending', 'held', 'in_flight')) THEN 'pending'
    WHEN EXISTS (SELECT 1 FROM deliveries d WHERE d.i_event = events.i_event
                 AND d.state = 'failed') THEN 'failed'
    WHEN EXISTS (SELECT 1 FROM deliveries d WHERE d.i_event = events.i_event
                 AND d.state = 'rejected') THEN 'rejected'
    ELSE 'delivered' END
WHERE state = 'dispatched';
UPDATE deliveries SET created_at = next_at, budget_from_at = next_at WHERE created_at IS NULL;

CREATE INDEX deliveries_coalesce ON deliveries (i_handler, coalesce_key)
    WHERE coalesce_key IS NOT NULL AND state IN ('pending', 'held', 'waiting');
CREATE INDEX deliveries_order ON deliveries (i_handler, order_key, i_event)
    WHERE order_key IS NOT NULL;
CREATE INDEX events_coalesce ON events (i_event_type, coalesce_key, i_event)
    WHERE coalesce_key IS NOT NULL;
CREATE INDEX events_by_state ON events (i_env, state, i_event);

-- Every state change of an event or a delivery, with its time and reason.
CREATE TABLE transitions (
    i_transition INTEGER PRIMARY KEY,
    i_event      INTEGER NOT NULL REFERENCES events (i_event),
    i_delivery   INTEGER REFERENCES deliveries (i_delivery),
    state        TEXT NOT NULL,
    at           INTEGER NOT NULL,
    reason       TEXT NOT NULL
);
CREATE INDEX transitions_by_event ON transitions (i_event, i_transition);

-- Idempotency-Key of event/create: a repeat within the window gets the first answer.
CREATE TABLE idempotency_keys (
    i_env        INTEGER NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    i_event      INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (i_env, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
