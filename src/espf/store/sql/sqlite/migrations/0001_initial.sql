-- espf schema, version 1. Instants are epoch milliseconds (UTC).

CREATE TABLE environments (
    i_env       INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE api_users (
    i_user        INTEGER PRIMARY KEY,
    i_env         INTEGER NOT NULL REFERENCES environments (i_env),
    login         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'producer')),
    created_at    INTEGER NOT NULL
);

-- Event types are shared by all environments, as in the original.
CREATE TABLE event_types (
    i_event_type INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    builtin      INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
);

CREATE TABLE handlers (
    i_handler    INTEGER PRIMARY KEY,
    i_env        INTEGER NOT NULL REFERENCES environments (i_env),
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL DEFAULT 'EventSender',
    enabled      INTEGER NOT NULL,
    url          TEXT NOT NULL,
    auth_method  TEXT NOT NULL,
    login        TEXT,
    password     TEXT,
    auth_scheme  TEXT,
    auth_token   TEXT,
    auth_header  TEXT NOT NULL DEFAULT 'Authorization',
    timeout_s    REAL NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (i_env, name)
);

CREATE TABLE subscriptions (
    i_handler    INTEGER NOT NULL REFERENCES handlers (i_handler) ON DELETE CASCADE,
    i_event_type INTEGER NOT NULL REFERENCES event_types (i_event_type),
    PRIMARY KEY (i_handler, i_event_type)
);
CREATE INDEX subscriptions_by_type ON subscriptions (i_event_type);

CREATE TABLE events (
    i_event      INTEGER PRIMARY KEY,
    i_env        INTEGER NOT NULL REFERENCES environments (i_env),
    i_event_type INTEGER NOT NULL REFERENCES event_types (i_event_type),
    variables    TEXT NOT NULL,
    start_at     INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    state        TEXT NOT NULL,
    dispatched_at INTEGER
);
-- The timer and the fan-out read only the events still waiting.
CREATE INDEX events_scheduled ON events (start_at) WHERE state = 'scheduled';
CREATE INDEX events_by_env ON events (i_env, i_event);

CREATE TABLE deliveries (
    i_delivery  INTEGER PRIMARY KEY,
    i_event     INTEGER NOT NULL REFERENCES events (i_event),
    i_handler   INTEGER NOT NULL REFERENCES handlers (i_handler),
    state       TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     INTEGER,
    claimed_by  TEXT,
    claimed_at  INTEGER,
    finished_at INTEGER,
    last_status INTEGER,
    last_error  TEXT,
    UNIQUE (i_event, i_handler)
);
CREATE INDEX deliveries_pending ON deliveries (next_at) WHERE state = 'pending';
CREATE INDEX deliveries_in_flight ON deliveries (claimed_by) WHERE state = 'in_flight';
CREATE INDEX deliveries_by_handler ON deliveries (i_handler, state);

CREATE TABLE attempts (
    i_attempt   INTEGER PRIMARY KEY,
    i_delivery  INTEGER NOT NULL REFERENCES deliveries (i_delivery),
    attempt_no  INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    status_code INTEGER,
    error       TEXT,
    outcome     TEXT NOT NULL
);
CREATE INDEX attempts_by_delivery ON attempts (i_delivery);

-- Dispatcher processes; a node whose heartbeat is older than the TTL is dead.
CREATE TABLE nodes (
    node_id      TEXT PRIMARY KEY,
    hostname     TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
);
