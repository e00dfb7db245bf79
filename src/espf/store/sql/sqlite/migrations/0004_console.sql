-- The operator console's overview: attempts per minute over the last day and
-- the lateness of recent deliveries read a time range through an index, never
-- the whole attempts or deliveries table.
CREATE INDEX attempts_by_time ON attempts (started_at);
CREATE INDEX deliveries_delivered_by_time ON deliveries (finished_at) WHERE state = 'delivered';

-- Secret keys the service signs with, one per purpose (the console's session
-- cookie): in the database, so that every node accepts what another signed
-- and a restart keeps them. Made once, by whichever process needs it first.
CREATE TABLE server_keys (
    purpose    TEXT PRIMARY KEY,
    secret     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
