-- Version 4 (PostgreSQL): per-handler delivery limits. The same tables and
-- columns as the SQLite migration of the same number; see it for the reasons.
ALTER TABLE handlers ADD COLUMN max_in_flight INTEGER;
ALTER TABLE handlers ADD COLUMN max_rate DOUBLE PRECISION;
ALTER TABLE handlers ADD COLUMN rate_burst INTEGER;

ALTER TABLE deliveries ADD COLUMN limited BOOLEAN NOT NULL DEFAULT FALSE;

DROP INDEX deliveries_pending;
CREATE INDEX deliveries_pending ON deliveries (next_at) WHERE state = 'pending' AND limited = FALSE;
CREATE INDEX deliveries_pending_limited ON deliveries (i_handler, next_at)
    WHERE state = 'pending' AND limited = TRUE;

CREATE TABLE handler_limits (
    i_handler   BIGINT PRIMARY KEY REFERENCES handlers (i_handler) ON DELETE CASCADE,
    tokens      DOUBLE PRECISION NOT NULL,
    refilled_at BIGINT NOT NULL,
    ready_at    BIGINT NOT NULL DEFAULT 0
);
