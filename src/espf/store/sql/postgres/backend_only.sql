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
-- name: identity_sequences_reset
SELECT setval(pg_get_serial_sequence('api_users', 'i_user'), coalesce(max(i_user), 0) + 1, false)
FROM api_users
UNION ALL
SELECT setval(pg_get_serial_sequence('handlers', 'i_handler'), coalesce(max(i_handler), 0) + 1,
              false)
FROM handlers
UNION ALL
SELECT setval(pg_get_serial_sequence('events', 'i_event'), coalesce(max(i_event), 0) + 1, false)
FROM events
UNION ALL
SELECT setval(pg_get_serial_sequence('deliveries', 'i_delivery'),
              coalesce(max(i_delivery), 0) + 1, false)
FROM deliveries
UNION ALL
SELECT setval(pg_get_serial_sequence('attempts', 'i_attempt'), coalesce(max(i_attempt), 0) + 1,
              false)
FROM attempts;

-- Serialises changes to an environment's users (the last administrator is
-- never deleted or demoted), held until the transaction ends.
-- name: environment_lock
SELECT 1 FROM environments WHERE i_env = :i_env FOR UPDATE;

-- Taken before deleting a handler: a fan-out inserting a delivery for it
-- holds a key-share lock on the row (its foreign key), so the deletion waits
-- for it and then sees the new delivery.
-- name: handler_lock
SELECT 1 FROM handlers WHERE i_handler = :i_handler FOR UPDATE;
