-- Version 3: the whole API. Who created an event, user ids that are never
-- reused, deleted handlers kept for their history, retired custom type ids,
-- and the provisioning status of accounts.

-- The API user who created the event (NULL: the CLI, or espf itself). A
-- producer sees only its own events. No foreign key: deleting a user leaves
-- the events, which belong to the environment, as they are; user ids are
-- never reused (below), so a later user never sees a deleted user's events.
-- No index either: it would cost every insert on the ingest path, and a
-- producer's listing walks i_event backwards through its environment, where
-- most events are usually its own.
ALTER TABLE events ADD COLUMN created_by INTEGER;

-- AUTOINCREMENT: a plain INTEGER PRIMARY KEY may hand a deleted user's id to
-- the next user, who would then see the deleted user's events. SQLite cannot
-- add it to a table, so the table is rebuilt (nothing references it yet).
CREATE TABLE api_users_v3 (
    i_user        INTEGER PRIMARY KEY AUTOINCREMENT,
    i_env         INTEGER NOT NULL REFERENCES environments (i_env),
    login         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'producer')),
    created_at    INTEGER NOT NULL
);
INSERT INTO api_users_v3 (i_user, i_env, login, password_hash, role, created_at)
SELECT i_user, i_env, login, password_hash, role, created_at FROM api_users;
DROP TABLE api_users;
ALTER TABLE api_users_v3 RENAME TO api_users;
CREATE INDEX api_users_by_env ON api_users (i_env, role);

-- A deleted handler stays, renamed '<name> (deleted #<i_handler>)' and with
-- its secrets wiped, so that the history of its finished deliveries still
-- names it; its name is free for a new handler.
ALTER TABLE handlers ADD COLUMN deleted_at INTEGER;

-- Ids of deleted custom event types: never given again, so that nothing
-- holding an old id (a cache in another process, a script) can mistake a
-- new type for the deleted one.
CREATE TABLE deleted_event_types (
    i_event_type INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    deleted_at   INTEGER NOT NULL
);

-- Provisioning status that the Application reports per account and service
-- group. An account is named by its i_account or by its id: espf keeps no
-- directory of accounts, so the two are separate keys.
CREATE TABLE account_status_history (
    i_status_change INTEGER PRIMARY KEY,
    i_env           INTEGER NOT NULL REFERENCES environments (i_env),
    account_kind    TEXT NOT NULL CHECK (account_kind IN ('i_account', 'id')),
    account         TEXT NOT NULL,
    service_group   TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('OK', 'IN_PROGRESS', 'RETRY', 'FAILED')),
    message         TEXT NOT NULL,
    reported_at     INTEGER NOT NULL,
    reported_by     INTEGER
);
CREATE INDEX account_status_history_by_account
    ON account_status_history (i_env, account_kind, account, i_status_change);

-- The latest report per group, so that reading the current status does not
-- walk the history.
CREATE TABLE account_statuses (
    i_env           INTEGER NOT NULL REFERENCES environments (i_env),
    account_kind    TEXT NOT NULL,
    account         TEXT NOT NULL,
    service_group   TEXT NOT NULL,
    i_status_change INTEGER NOT NULL REFERENCES account_status_history (i_status_change),
    PRIMARY KEY (i_env, account_kind, account, service_group)
);
