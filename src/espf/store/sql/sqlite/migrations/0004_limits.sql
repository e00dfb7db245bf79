-- Version 4: per-handler delivery limits (max_in_flight, max_rate with its
-- burst). A limited handler's deliveries are marked, so that the claim of
-- everyone else's work never reads past them and pays nothing for limits;
-- a limited handler is claimed through its limiter row (handler_limits),
-- which holds its token bucket, shared by every dispatcher node.
ALTER TABLE handlers ADD COLUMN max_in_flight INTEGER;
ALTER TABLE handlers ADD COLUMN max_rate REAL;
ALTER TABLE handlers ADD COLUMN rate_burst INTEGER;

ALTER TABLE deliveries ADD COLUMN limited INTEGER NOT NULL DEFAULT 0;

DROP INDEX deliveries_pending;
CREATE INDEX deliveries_pending ON deliveries (next_at) WHERE state = 'pending' AND limited = FALSE;
CREATE INDEX deliveries_pending_limited ON deliveries (i_handler, next_at)
    WHERE state = 'pending' AND limited = TRUE;

-- tokens: the bucket's content at refilled_at; ready_at: the earliest
-- instant the bucket holds a whole token again (0: now).
CREATE TABLE handler_limits (
    i_handler   INTEGER PRIMARY KEY REFERENCES handlers (i_handler) ON DELETE CASCADE,
    tokens      REAL NOT NULL,
    refilled_at INTEGER NOT NULL,
    ready_at    INTEGER NOT NULL DEFAULT 0
);
