-- The operator console's overview: attempts per minute over the last day and
-- the lateness of recent deliveries read a time range through an index, never
-- the whole attempts or deliveries table. See the SQLite migration of the same number.
CREATE INDEX attempts_by_time ON attempts (started_at);
CREATE INDEX deliveries_delivered_by_time ON deliveries (finished_at) WHERE state = 'delivered';

