-- Version 11: adaptive back-off and the circuit breaker (adaptive_rate.py, circuit_breaker.py).
-- breaker_after: a handler setting, the failures in a row that open its
-- circuit (NULL: the default, 0: never). failures_in_row counts them; it is
-- written only while a handler fails, so healthy handlers pay nothing.
ALTER TABLE handlers ADD COLUMN breaker_after INTEGER;
ALTER TABLE handlers ADD COLUMN failures_in_row INTEGER NOT NULL DEFAULT 0;

-- In the limiter row, shared by every node: the rate the claim uses now
-- (NULL: max_rate, no back-off in effect), when it last changed and when the
-- handler last asked for less; the circuit, open since circuit_opened_at
-- (NULL: closed), and its next probe. A handler without limits gets a
-- limiter row while its circuit is open.
ALTER TABLE handler_limits ADD COLUMN effective_rate REAL;
ALTER TABLE handler_limits ADD COLUMN rate_adjusted_at INTEGER;
ALTER TABLE handler_limits ADD COLUMN overloaded_at INTEGER;
ALTER TABLE handler_limits ADD COLUMN circuit_opened_at INTEGER;
ALTER TABLE handler_limits ADD COLUMN probe_at INTEGER;
ALTER TABLE handler_limits ADD COLUMN probe_interval_ms INTEGER;
