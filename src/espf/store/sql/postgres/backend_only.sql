-- Statements that only the PostgreSQL store needs, with no SQLite
-- counterpart (queries.sql holds the Store's operations, the same names on
-- both backends). Loaded by name like queries.sql.

-- Wakes the dispatchers of every node (see espf/store/postgres_wakeups.py):
-- the payload is the earliest start time announced since the last one.
-- name: due_announce
SELECT pg_notify('espf_due', CAST(:due_at AS bigint)::text);

-- Is the listening connection still alive? Sent now and then, since a
-- connection that silently died would otherwise never tell.
-- name: connection_check
SELECT 1;

-- After `espf copy` wrote rows with their ids, the identity sequences must
-- continue past the largest copied id, or the next insert would collide.
-- Every table of the schema with a serial or identity column, read from the
-- catalog, so that a new table cannot be forgotten; copy_finish resets each.
-- name: identity_columns
SELECT c.table_name::text, c.column_name::text
FROM information_schema.columns c
WHERE c.table_schema = current_schema()
  AND pg_get_serial_sequence(quote_ident(c.table_name), c.column_name) IS NOT NULL
ORDER BY c.table_name;

-- The changes the copied attempts' triggers appended: the copied
-- console_attempt_minutes already hold the source's totals.
-- name: copy_console_changes_drop
DELETE FROM console_attempt_changes;

-- Custom event type ids and environment ids left out are max + 1. Two
-- processes computing max + 1 at once would both pick the same id: this
-- transaction-scoped lock (one per table and schema) makes them take turns.
-- Under READ COMMITTED the next statement's snapshot is taken after the lock
-- is granted, so it sees the id the previous holder committed.
-- name: id_allocation_lock
SELECT pg_advisory_xact_lock(hashtext('espf.ids.' || :table_name::text || '.'
                                      || coalesce(current_schema(), '')));

-- A claim whose COMMIT was sent but whose answer never came (the connection
-- died) may have committed: its deliveries would sit in flight under a live
-- node that never received them, and no rescue would ever touch them. The
-- next claim of that node hands them back first; they were never sent, so
-- no attempt is counted. (claimed_at is the `now` of the lost claim.)
-- name: delivery_release_lost_claim
UPDATE deliveries SET
    state = CASE WHEN (SELECT NOT h.enabled OR h.paused FROM handlers h
                       WHERE h.i_handler = deliveries.i_handler)
                 THEN 'held' ELSE 'pending' END,
    next_at = :now, claimed_by = NULL, claimed_at = NULL
WHERE state = 'in_flight' AND claimed_by = :node_id AND claimed_at = :claimed_at;

-- Requests with the same Idempotency-Key wait for each other here, until commit.
-- name: idempotency_key_lock
SELECT pg_advisory_xact_lock(hashtext('espf.idempotency.' || (:i_env::bigint)::text || '.' || :key));

-- Fan-out, promotion and cancellation of one ordering key (handler and key)
-- take turns, until commit: otherwise a new delivery could queue behind a
-- head that another transaction is finishing, and neither would see the
-- other's uncommitted rows.
-- name: ordering_key_lock
SELECT pg_advisory_xact_lock(hashtext('espf.order.' || (:i_handler::bigint)::text || '.' || :order_key));

-- Serialises changes to an environment's users (the last administrator is
-- never deleted or demoted), held until the transaction ends.
-- name: environment_lock
SELECT 1 FROM environments WHERE i_env = :i_env FOR UPDATE;

-- Taken before deleting a handler: a fan-out inserting a delivery for it
-- holds a key-share lock on the row (its foreign key), so the deletion waits
-- for it and then sees the new delivery.
-- name: handler_lock
SELECT 1 FROM handlers WHERE i_handler = :i_handler FOR UPDATE;

-- delivery_record_outcome for a whole batch at once, the outcomes given as
-- parallel arrays (one element per delivery, sorted by i_delivery). A retry
-- for a handler paused or disabled meanwhile is held, not pending; a
-- delivery another node holds now does not match (its attempt is still
-- recorded by the caller).
-- name: delivery_record_outcomes
UPDATE deliveries d SET
    state = CASE WHEN o.state = 'pending'
                  AND (SELECT NOT h.enabled OR h.paused FROM handlers h
                       WHERE h.i_handler = d.i_handler)
                 THEN 'held' ELSE o.state END,
    attempts = o.attempt_no, next_at = o.next_at, last_status = o.status_code,
    last_error = o.error, finished_at = o.finished_at, claimed_by = NULL, claimed_at = NULL
FROM unnest(:i_deliverys::bigint[], :states::text[], :attempt_nos::integer[],
            :next_ats::bigint[], :status_codes::integer[], :errors::text[],
            :finished_ats::bigint[])
     AS o(i_delivery, state, attempt_no, next_at, status_code, error, finished_at)
WHERE d.i_delivery = o.i_delivery AND d.state = 'in_flight' AND d.claimed_by = :node_id
RETURNING d.i_delivery, d.i_event, d.i_handler, d.order_key, d.state;

-- Group commit of event inserts (espf/store/pg_batch_insert.py): ids first,
-- then every event of the batch in one INSERT from parallel arrays, so that
-- which id went to which request never depends on the order RETURNING uses.
-- name: event_ids_next
SELECT nextval(pg_get_serial_sequence('events', 'i_event')) FROM generate_series(1, :n::integer);

-- name: event_insert_many
INSERT INTO events (i_event, i_env, i_event_type, variables, start_at, created_at, state,
                    coalesce_key, created_by, local_start, time_zone)
SELECT e.i_event, e.i_env, e.i_event_type, e.variables, e.start_at, e.created_at, 'scheduled',
       e.coalesce_key, e.created_by, e.local_start, e.time_zone
FROM unnest(:i_events::bigint[], :i_envs::bigint[], :i_event_types::bigint[], :variabless::text[],
            :start_ats::bigint[], :nows::bigint[], :coalesce_keys::text[], :created_bys::bigint[],
            :local_starts::text[], :time_zones::text[])
     AS e(i_event, i_env, i_event_type, variables, start_at, created_at, coalesce_key, created_by,
          local_start, time_zone);

-- The console's summaries (migration 0008): the changes the triggers appended
-- since the last view, added to the totals (SQLite's triggers update the
-- totals in place). Several nodes may fold at once: each change row is
-- deleted, so counted, by one of them; totals are locked in key order.
-- name: console_fold_event_states
WITH moved AS (DELETE FROM console_event_state_changes RETURNING i_env, state, events)
INSERT INTO console_event_states AS c (i_env, state, events)
SELECT i_env, state, sum(events) FROM moved GROUP BY i_env, state ORDER BY i_env, state
ON CONFLICT (i_env, state) DO UPDATE SET events = c.events + EXCLUDED.events;

-- name: console_fold_attempt_minutes
WITH moved AS (DELETE FROM console_attempt_changes RETURNING i_env, minute, outcome, attempts)
INSERT INTO console_attempt_minutes AS c (i_env, minute, outcome, attempts)
SELECT i_env, minute, outcome, sum(attempts) FROM moved
GROUP BY i_env, minute, outcome ORDER BY i_env, minute, outcome
ON CONFLICT (i_env, minute, outcome) DO UPDATE SET attempts = c.attempts + EXCLUDED.attempts;

-- Space freed by pruning (store/space_reuse.py). One node vacuums at a
-- time: a session lock (VACUUM cannot run in a transaction), given back
-- after. The tables with enough dead rows come from the statistics
-- autovacuum reads, kept whether or not autovacuum runs.
-- name: vacuum_try_lock
SELECT pg_try_advisory_lock(hashtext(current_schema() || '.espf_vacuum'));

-- name: vacuum_unlock
SELECT pg_advisory_unlock(hashtext(current_schema() || '.espf_vacuum'));

-- name: vacuum_due_tables
SELECT relname::text FROM pg_stat_user_tables
WHERE schemaname = current_schema() AND relname = ANY(:tables::text[])
  AND n_dead_tup > :min_dead + :dead_fraction * n_live_tup
ORDER BY relname;
