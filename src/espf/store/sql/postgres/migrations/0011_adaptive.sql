-- Version 11 (PostgreSQL): adaptive back-off and the circuit breaker. The same
-- columns as the SQLite migration of the same number; see it for the reasons.
ALTER TABLE handlers ADD COLUMN breaker_after INTEGER;
ALTER TABLE handlers ADD COLUMN failures_in_row INTEGER NOT NULL DEFAULT 0;

ALTER TABLE handler_limits ADD COLUMN effective_rate DOUBLE PRECISION;
ALTER TABLE handler_limits ADD COLUMN rate_adjusted_at BIGINT;
ALTER TABLE handler_limits ADD COLUMN overloaded_at BIGINT;
ALTER TABLE handler_limits ADD COLUMN circuit_opened_at BIGINT;
ALTER TABLE handler_limits ADD COLUMN probe_at BIGINT;
ALTER TABLE handler_limits ADD COLUMN probe_interval_ms BIGINT;
