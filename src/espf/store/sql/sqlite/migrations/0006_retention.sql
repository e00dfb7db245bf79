-- Version 4: retention. Pruning looks for old finished events by state and
-- age, and for old account status reports; without these indexes each round
-- would read every event (or report) still kept.
CREATE INDEX events_by_state_age ON events (state, created_at);
CREATE INDEX account_status_history_by_age ON account_status_history (reported_at);
-- Deleting a delivery checks that no transition still names it: without an
-- index that check reads the whole transitions table, per delivery.
CREATE INDEX transitions_by_delivery ON transitions (i_delivery) WHERE i_delivery IS NOT NULL;

-- Every account expunged (a data-protection request): who, when, how much.
-- The account's own rows are gone; this record of the deletion stays.
CREATE TABLE account_expunges (
    i_expunge       INTEGER PRIMARY KEY,
    i_env           INTEGER NOT NULL REFERENCES environments (i_env),
    account_kind    TEXT NOT NULL,
    account         TEXT NOT NULL,
    expunged_at     INTEGER NOT NULL,
    events          INTEGER NOT NULL,
    status_reports  INTEGER NOT NULL,
    expunged_by     INTEGER
);
