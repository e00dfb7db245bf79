-- Version 4: per-handler delivery limits (max_in_flight, max_rate with its
-- burst) and maintenance windows. A limited handler's deliveries are marked, so that the claim of
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
-- instant a claim may find something to send (the bucket holds a whole
-- token again, or a maintenance window ends; 0: now). window_from and
-- window_until: the maintenance window open now or next (NULL: none),
-- worked out again once it is over.
CREATE TABLE handler_limits (
    i_handler    INTEGER PRIMARY KEY REFERENCES handlers (i_handler) ON DELETE CASCADE,
    tokens       REAL NOT NULL,
    refilled_at  INTEGER NOT NULL,
    ready_at     INTEGER NOT NULL DEFAULT 0,
    window_from  INTEGER,
    window_until INTEGER
);

-- Maintenance windows: one-off (starts_at, ends_at) or recurring (rule,
-- time_zone, duration_s), see maintenance.py. A handler with a window is
-- claimed through its limiter row, like a handler with limits.
CREATE TABLE maintenance_windows (
    i_window   INTEGER PRIMARY KEY AUTOINCREMENT,
    i_handler  INTEGER NOT NULL REFERENCES handlers (i_handler) ON DELETE CASCADE,
    starts_at  INTEGER,
    ends_at    INTEGER,
    rule       TEXT,
    time_zone  TEXT,
    duration_s INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX maintenance_windows_by_handler ON maintenance_windows (i_handler);
