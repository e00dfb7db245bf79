-- PostgreSQL queries, loaded by name (see espf/store/sql_loader.py): the same
-- names as sql/sqlite/queries.sql, returning the same columns in the same
-- order. Parameters are written :name, as on SQLite, and turned into $n by
-- espf/store/pg_sql.py. Instants are BIGINT epoch milliseconds.
--
-- Casts on parameters (:i_env::bigint) are there where PostgreSQL could not
-- infer a parameter's type from its use alone (:x IS NULL).

-- name: env_insert
INSERT INTO environments (i_env, name, created_at)
VALUES (coalesce(:i_env::bigint, (SELECT coalesce(max(i_env), 0) + 1 FROM environments)),
        :name, :now)
RETURNING i_env, name;

-- name: env_get
SELECT i_env, name FROM environments WHERE i_env = :i_env;

-- name: env_list
SELECT i_env, name FROM environments ORDER BY i_env;

-- name: user_insert
INSERT INTO api_users (i_env, login, password_hash, role, created_at)
VALUES (:i_env, :login, :password_hash, :role, :now)
RETURNING i_user, i_env, login, password_hash, role;

-- name: user_get_by_login
SELECT i_user, i_env, login, password_hash, role FROM api_users WHERE login = :login;

-- name: user_list
SELECT i_user, i_env, login, password_hash, role FROM api_users
WHERE :i_env::bigint IS NULL OR i_env = :i_env ORDER BY i_user;

-- name: user_count
SELECT count(*) FROM api_users;

-- An environment always keeps an administrator: the last one is not deleted.
-- The store locks the environment's row first (backend_only.sql), so that two
-- administrators deleting each other at once cannot both succeed.
-- name: user_delete
DELETE FROM api_users
WHERE i_env = :i_env AND login = :login
  AND (role <> 'admin'
       OR (SELECT count(*) FROM api_users WHERE i_env = :i_env AND role = 'admin') > 1)
RETURNING i_user;

-- name: user_set_role
UPDATE api_users SET role = :role
WHERE i_env = :i_env AND login = :login
  AND (:role::text = 'admin' OR role <> 'admin'
       OR (SELECT count(*) FROM api_users WHERE i_env = :i_env AND role = 'admin') > 1)
RETURNING i_user, i_env, login, password_hash, role;

-- name: event_type_insert_builtin
INSERT INTO event_types (i_event_type, name, builtin, created_at)
VALUES (:i_event_type, :name, true, :now)
ON CONFLICT DO NOTHING;

-- Deleted types' ids count too: an id is never given twice.
-- name: event_type_next_custom_id
SELECT greatest(:first_custom_id::bigint, coalesce(max(i_event_type) + 1, 0)) FROM (
    SELECT i_event_type FROM event_types WHERE i_event_type >= :first_custom_id
    UNION ALL
    SELECT i_event_type FROM deleted_event_types) AS ids;

-- name: event_type_insert_custom
INSERT INTO event_types (i_event_type, name, builtin, created_at)
VALUES (:i_event_type, :name, false, :now)
RETURNING i_event_type, name, builtin;

-- name: event_type_get_by_name
SELECT i_event_type, name, builtin FROM event_types WHERE name = :name;

-- name: event_type_list
SELECT i_event_type, name, builtin FROM event_types ORDER BY i_event_type;

-- Subscriptions are checked here; events (and a subscription committed
-- meanwhile) by the foreign keys, which the store turns into "in use".
-- name: event_type_delete_unused
DELETE FROM event_types
WHERE i_event_type = :i_event_type AND NOT builtin
  AND NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.i_event_type = :i_event_type)
RETURNING i_event_type, name, builtin;

-- name: event_type_retire
INSERT INTO deleted_event_types (i_event_type, name, deleted_at)
VALUES (:i_event_type, :name, :now);

-- name: event_type_subscribers
SELECT h.i_env, h.name FROM subscriptions s JOIN handlers h ON h.i_handler = s.i_handler
WHERE s.i_event_type = :i_event_type ORDER BY h.i_env, h.name;

-- name: event_type_event_counts
SELECT count(*) FILTER (WHERE i_env = :i_env), count(*) FILTER (WHERE i_env <> :i_env)
FROM events WHERE i_event_type = :i_event_type;

-- name: handler_insert
INSERT INTO handlers (i_env, name, kind, enabled, url, auth_method, login, password, auth_scheme,
                      auth_token, auth_header, timeout_s, created_at, updated_at)
VALUES (:i_env, :name, 'EventSender', :enabled, :url, :auth_method, :login, :password,
        :auth_scheme, :auth_token, :auth_header, :timeout_s, :now, :now)
RETURNING i_handler;

-- name: handler_update
UPDATE handlers SET url = :url, auth_method = :auth_method, login = :login, password = :password,
    auth_scheme = :auth_scheme, auth_token = :auth_token, auth_header = :auth_header,
    timeout_s = :timeout_s, enabled = :enabled, updated_at = :now
WHERE i_handler = :i_handler;

-- name: handler_get
SELECT i_handler, i_env, name, kind, enabled, url, auth_method, login, password, auth_scheme,
       auth_token, auth_header, timeout_s
FROM handlers WHERE i_env = :i_env AND name = :name AND deleted_at IS NULL;

-- name: handler_list
SELECT i_handler, i_env, name, kind, enabled, url, auth_method, login, password, auth_scheme,
       auth_token, auth_header, timeout_s
FROM handlers WHERE (:i_env::bigint IS NULL OR i_env = :i_env) AND deleted_at IS NULL
ORDER BY i_env, name;

-- name: handler_count_unfinished
SELECT count(*) FROM deliveries
WHERE i_handler = :i_handler AND state IN ('pending', 'in_flight', 'held', 'waiting');

-- name: subscription_delete_all
DELETE FROM subscriptions WHERE i_handler = :i_handler;

-- Deleting keeps the row for the history of its finished deliveries, under a
-- name no live handler can have, and wipes its secrets.
-- For the port of migration 0002 (see sql/sqlite/queries.sql): delivery_reopen
-- and delivery_match_for_replay must skip deleted handlers (deleted_at IS
-- NULL), and delivery_fan_out should lock the handler rows it reads (FOR
-- SHARE OF h), so that a fan-out racing a deletion waits for it and then sees
-- the handler disabled, instead of adding a delivery to a deleted handler.
-- name: handler_mark_deleted
UPDATE handlers SET deleted_at = :now, updated_at = :now, enabled = false, name = :deleted_name,
    password = NULL, auth_token = NULL, signing_secrets = NULL, tls_client_key = NULL
WHERE i_handler = :i_handler AND deleted_at IS NULL;

-- A disabled handler's waiting deliveries are held, not dropped, and come back
-- when it is enabled again.
-- name: delivery_hold_for_handler
UPDATE deliveries SET state = 'held' WHERE i_handler = :i_handler AND state = 'pending';

-- name: delivery_unhold_for_handler
UPDATE deliveries SET state = 'pending' WHERE i_handler = :i_handler AND state = 'held';

-- name: subscription_insert
INSERT INTO subscriptions (i_handler, i_event_type) VALUES (:i_handler, :i_event_type)
ON CONFLICT DO NOTHING;

-- name: subscription_delete
DELETE FROM subscriptions WHERE i_handler = :i_handler AND i_event_type = :i_event_type;

-- name: subscription_insert_all
INSERT INTO subscriptions (i_handler, i_event_type)
SELECT :i_handler, i_event_type FROM event_types
ON CONFLICT DO NOTHING;

-- name: subscription_list
SELECT t.name FROM subscriptions s JOIN event_types t ON t.i_event_type = s.i_event_type
WHERE s.i_handler = :i_handler ORDER BY t.i_event_type;

-- Other nodes learn of the new event from a NOTIFY sent after the commit
-- (see espf/store/postgres_wakeups.py), not from one inside this
-- transaction: PostgreSQL serialises the commits of notifying transactions,
-- which would give up the group commit that concurrent inserts get.
-- name: event_insert
INSERT INTO events (i_env, i_event_type, variables, start_at, created_at, state, created_by)
VALUES (:i_env, :i_event_type, :variables, :start_at, :now, 'scheduled', :created_by)
RETURNING i_event;

-- name: event_get
SELECT e.i_event, e.i_env, t.name, e.variables, e.start_at, e.created_at, e.state,
       e.created_by
FROM events e JOIN event_types t ON t.i_event_type = e.i_event_type
WHERE e.i_event = :i_event AND (:i_env::bigint IS NULL OR e.i_env = :i_env);

-- name: event_list
SELECT e.i_event, e.i_env, t.name, e.variables, e.start_at, e.created_at, e.state,
       e.created_by
FROM events e JOIN event_types t ON t.i_event_type = e.i_event_type
WHERE (:i_env::bigint IS NULL OR e.i_env = :i_env)
  AND (:event_type::text IS NULL OR t.name = :event_type)
  AND (:state::text IS NULL OR e.state = :state)
  AND (:before::bigint IS NULL OR e.i_event < :before)
  AND (:var_name::text IS NULL OR e.variables::json ->> :var_name = :var_value::text)
  AND (:created_from::bigint IS NULL OR e.created_at >= :created_from)
  AND (:created_to::bigint IS NULL OR e.created_at < :created_to)
  AND (:created_by::bigint IS NULL OR e.created_by = :created_by)
ORDER BY e.i_event DESC LIMIT :limit;

-- name: event_count_by_state
SELECT state, count(*) FROM events GROUP BY state;

-- Take the due events off the schedule, oldest first. SKIP LOCKED: events
-- another dispatcher is taking right now are left to it, so no event is
-- fanned out twice (deliveries' UNIQUE (i_event, i_handler) is the second
-- guard). MATERIALIZED makes the locking subquery run exactly once.
-- name: event_take_due
WITH due AS MATERIALIZED (
    SELECT i_event FROM events WHERE state = 'scheduled' AND start_at <= :now
    ORDER BY start_at LIMIT :limit
    FOR UPDATE SKIP LOCKED
)
UPDATE events e SET state = 'dispatched', dispatched_at = :now
FROM due WHERE e.i_event = due.i_event
RETURNING e.i_event;

-- One delivery for every enabled handler subscribed to the event's type in the
-- event's environment, decided when the event is due, not when it was created.
-- name: delivery_fan_out
INSERT INTO deliveries (i_event, i_handler, state, attempts, next_at)
SELECT e.i_event, h.i_handler, 'pending', 0, e.start_at
FROM events e
JOIN subscriptions s ON s.i_event_type = e.i_event_type
JOIN handlers h ON h.i_handler = s.i_handler AND h.i_env = e.i_env AND h.enabled
WHERE e.i_event = ANY(:ids::bigint[])
ON CONFLICT DO NOTHING;

-- name: event_mark_unrouted
UPDATE events SET state = 'unrouted'
WHERE i_event = ANY(:ids::bigint[])
  AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.i_event = events.i_event);

-- Claim and change state in one statement. SKIP LOCKED: two dispatchers
-- never wait for each other and never hold the same delivery; a row another
-- dispatcher has just claimed no longer matches state = 'pending' when
-- PostgreSQL re-reads it after the lock.
-- name: delivery_claim_due
WITH due AS MATERIALIZED (
    SELECT i_delivery FROM deliveries WHERE state = 'pending' AND next_at <= :now
    ORDER BY next_at LIMIT :limit
    FOR UPDATE SKIP LOCKED
)
UPDATE deliveries d SET state = 'in_flight', claimed_by = :node_id, claimed_at = :now
FROM due WHERE d.i_delivery = due.i_delivery
RETURNING d.i_delivery;

-- name: delivery_claimed_detail
SELECT d.i_delivery, d.i_event, e.i_env, t.name, e.variables, d.attempts,
       h.i_handler, h.i_env, h.name, h.kind, h.enabled, h.url, h.auth_method, h.login, h.password,
       h.auth_scheme, h.auth_token, h.auth_header, h.timeout_s
FROM deliveries d
JOIN events e ON e.i_event = d.i_event
JOIN event_types t ON t.i_event_type = e.i_event_type
JOIN handlers h ON h.i_handler = d.i_handler
WHERE d.i_delivery = ANY(:ids::bigint[])
ORDER BY d.next_at;

-- least() ignores NULLs: either side may have nothing waiting.
-- name: next_due_at
SELECT least((SELECT min(start_at) FROM events WHERE state = 'scheduled'),
             (SELECT min(next_at) FROM deliveries WHERE state = 'pending'));

-- A retry for a handler disabled meanwhile is held rather than made pending.
-- The claimed_by guard ignores an outcome for a delivery another node has
-- taken over since (its attempt is still recorded).
-- name: delivery_record_outcome
UPDATE deliveries SET
    state = CASE WHEN :state::text = 'pending'
                  AND NOT (SELECT enabled FROM handlers h WHERE h.i_handler = deliveries.i_handler)
                 THEN 'held' ELSE :state::text END,
    attempts = :attempt_no, next_at = :next_at, last_status = :status_code,
    last_error = :error, finished_at = :finished_at, claimed_by = NULL, claimed_at = NULL
WHERE i_delivery = :i_delivery AND state = 'in_flight' AND claimed_by = :node_id;

-- name: attempt_insert
INSERT INTO attempts (i_delivery, attempt_no, started_at, duration_ms, status_code, error, outcome)
VALUES (:i_delivery, :attempt_no, :started_at, :duration_ms, :status_code, :error, :outcome);

-- name: delivery_list_for_event
SELECT d.i_delivery, d.i_event, d.i_handler, h.name, d.state, d.attempts, d.next_at,
       d.finished_at, d.last_status, d.last_error
FROM deliveries d JOIN handlers h ON h.i_handler = d.i_handler
WHERE d.i_event = :i_event ORDER BY d.i_delivery;

-- name: attempt_list_for_event
SELECT a.i_attempt, a.i_delivery, a.attempt_no, a.started_at, a.duration_ms, a.status_code,
       a.error, a.outcome
FROM attempts a JOIN deliveries d ON d.i_delivery = a.i_delivery
WHERE d.i_event = :i_event ORDER BY a.i_attempt;

-- name: delivery_count_by_state
SELECT state, count(*) FROM deliveries GROUP BY state;

-- name: node_upsert
INSERT INTO nodes (node_id, hostname, pid, started_at, heartbeat_at)
VALUES (:node_id, :hostname, :pid, :now, :now)
ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at;

-- name: node_list
SELECT node_id, hostname, pid, heartbeat_at FROM nodes;

-- name: node_mark_dead
UPDATE nodes SET heartbeat_at = 0 WHERE node_id = :node_id;

-- In-flight deliveries whose node is dead (stale heartbeat, or gone) go back
-- to pending, due at once; that is what makes delivery at-least-once. The
-- lost request counts as an attempt: it may well have reached the Application.
--
-- Every node runs this every heartbeat. One statement is already safe when
-- several run at once (a row rescued by one no longer matches state =
-- 'in_flight' when the other re-reads it after waiting for its lock), but the
-- waiting rescues would be wasted work and could deadlock on rows taken in
-- different orders: the first node to take the transaction-scoped try-lock
-- (one per schema: one per espf installation) does the work, the others
-- update nothing. The lock is released at commit.
-- name: delivery_rescue_orphans
WITH turn AS MATERIALIZED (
    SELECT pg_try_advisory_xact_lock(hashtext('espf.rescue_orphans.' || current_schema())) AS mine
)
UPDATE deliveries SET
    state = CASE WHEN NOT (SELECT enabled FROM handlers h WHERE h.i_handler = deliveries.i_handler)
                 THEN 'held' ELSE 'pending' END,
    attempts = attempts + 1, next_at = :now, claimed_by = NULL, claimed_at = NULL
WHERE (SELECT mine FROM turn)
  AND state = 'in_flight'
  AND claimed_by NOT IN (SELECT node_id FROM nodes WHERE heartbeat_at >= :cutoff)
RETURNING i_delivery, attempts, claimed_at;

-- name: node_delete_dead
DELETE FROM nodes WHERE heartbeat_at < :cutoff;

-- A node that stops gracefully hands back what it still holds.
-- name: delivery_release_node
UPDATE deliveries SET
    state = CASE WHEN NOT (SELECT enabled FROM handlers h WHERE h.i_handler = deliveries.i_handler)
                 THEN 'held' ELSE 'pending' END,
    next_at = :now, claimed_by = NULL, claimed_at = NULL
WHERE state = 'in_flight' AND claimed_by = :node_id;

-- name: node_delete
DELETE FROM nodes WHERE node_id = :node_id;


-- Provisioning status of accounts: the history keeps every report, the
-- current table points at the latest one per service group (greatest: of two
-- reports racing, the later one stays current whichever commits last).
-- name: account_status_insert
INSERT INTO account_status_history (i_env, account_kind, account, service_group, status, message,
                                    reported_at, reported_by)
VALUES (:i_env, :account_kind, :account, :service_group, :status, :message, :now, :reported_by)
RETURNING i_status_change, service_group, status, message, reported_at, reported_by;

-- name: account_status_set_current
INSERT INTO account_statuses (i_env, account_kind, account, service_group, i_status_change)
VALUES (:i_env, :account_kind, :account, :service_group, :i_status_change)
ON CONFLICT (i_env, account_kind, account, service_group)
DO UPDATE SET i_status_change = greatest(account_statuses.i_status_change,
                                         excluded.i_status_change);

-- name: account_status_current
SELECT h.i_status_change, h.service_group, h.status, h.message, h.reported_at, h.reported_by
FROM account_statuses c
JOIN account_status_history h ON h.i_status_change = c.i_status_change
WHERE c.i_env = :i_env AND c.account_kind = :account_kind AND c.account = :account
ORDER BY h.service_group;

-- name: account_status_history
SELECT i_status_change, service_group, status, message, reported_at, reported_by
FROM account_status_history
WHERE i_env = :i_env AND account_kind = :account_kind AND account = :account
  AND (:service_group::text IS NULL OR service_group = :service_group)
  AND (:before::bigint IS NULL OR i_status_change < :before)
ORDER BY i_status_change DESC LIMIT :limit;

-- Copying a whole database (espf copy, see espf/copy.py): every table is read
-- in pages ordered by its key (the first column; :after is the last key of
-- the previous page) and written with its ids kept.
-- Booleans are written from integers (SQLite stores 0/1) or booleans alike.

-- name: copy_row_counts
SELECT 'environments', count(*) FROM environments
UNION ALL SELECT 'api_users', count(*) FROM api_users
UNION ALL SELECT 'event_types', count(*) FROM event_types
UNION ALL SELECT 'handlers', count(*) FROM handlers
UNION ALL SELECT 'subscriptions', count(*) FROM subscriptions
UNION ALL SELECT 'events', count(*) FROM events
UNION ALL SELECT 'deliveries', count(*) FROM deliveries
UNION ALL SELECT 'attempts', count(*) FROM attempts;

-- name: copy_read_environments
SELECT i_env, name, created_at
FROM environments WHERE i_env > :after ORDER BY i_env LIMIT :limit;

-- name: copy_write_environments
INSERT INTO environments (i_env, name, created_at)
VALUES (:i_env, :name, :created_at);

-- name: copy_read_api_users
SELECT i_user, i_env, login, password_hash, role, created_at
FROM api_users WHERE i_user > :after ORDER BY i_user LIMIT :limit;

-- name: copy_write_api_users
INSERT INTO api_users (i_user, i_env, login, password_hash, role, created_at)
VALUES (:i_user, :i_env, :login, :password_hash, :role, :created_at);

-- name: copy_read_event_types
SELECT i_event_type, name, builtin, created_at
FROM event_types WHERE i_event_type > :after ORDER BY i_event_type LIMIT :limit;

-- name: copy_write_event_types
-- The target already has the built-in types (migrate adds them): keep those.
INSERT INTO event_types (i_event_type, name, builtin, created_at)
VALUES (:i_event_type, :name, CAST(:builtin AS integer) <> 0, :created_at)
ON CONFLICT (i_event_type) DO NOTHING;

-- name: copy_read_handlers
SELECT i_handler, i_env, name, kind, enabled, url, auth_method, login, password, auth_scheme,
       auth_token, auth_header, timeout_s, created_at, updated_at
FROM handlers WHERE i_handler > :after ORDER BY i_handler LIMIT :limit;

-- name: copy_write_handlers
INSERT INTO handlers (i_handler, i_env, name, kind, enabled, url, auth_method, login, password, auth_scheme,
    auth_token, auth_header, timeout_s, created_at, updated_at)
VALUES (:i_handler, :i_env, :name, :kind, CAST(:enabled AS integer) <> 0, :url, :auth_method,
        :login, :password, :auth_scheme, :auth_token, :auth_header, :timeout_s, :created_at,
        :updated_at);

-- name: copy_read_subscriptions
-- Paged by handler: a page holds every subscription of up to :limit handlers.
SELECT i_handler, i_event_type FROM subscriptions
WHERE i_handler IN (SELECT DISTINCT i_handler FROM subscriptions WHERE i_handler > :after
                    ORDER BY i_handler LIMIT :limit)
ORDER BY i_handler, i_event_type;

-- name: copy_write_subscriptions
INSERT INTO subscriptions (i_handler, i_event_type)
VALUES (:i_handler, :i_event_type);

-- name: copy_read_events
SELECT i_event, i_env, i_event_type, variables, start_at, created_at, state, dispatched_at
FROM events WHERE i_event > :after ORDER BY i_event LIMIT :limit;

-- name: copy_write_events
INSERT INTO events (i_event, i_env, i_event_type, variables, start_at, created_at, state, dispatched_at)
VALUES (:i_event, :i_env, :i_event_type, :variables, :start_at, :created_at, :state,
        :dispatched_at);

-- name: copy_read_deliveries
SELECT i_delivery, i_event, i_handler, state, attempts, next_at, claimed_by, claimed_at,
       finished_at, last_status, last_error
FROM deliveries WHERE i_delivery > :after ORDER BY i_delivery LIMIT :limit;

-- name: copy_write_deliveries
INSERT INTO deliveries (i_delivery, i_event, i_handler, state, attempts, next_at, claimed_by, claimed_at,
    finished_at, last_status, last_error)
VALUES (:i_delivery, :i_event, :i_handler, :state, :attempts, :next_at, :claimed_by,
        :claimed_at, :finished_at, :last_status, :last_error);

-- name: copy_read_attempts
SELECT i_attempt, i_delivery, attempt_no, started_at, duration_ms, status_code, error, outcome
FROM attempts WHERE i_attempt > :after ORDER BY i_attempt LIMIT :limit;

-- name: copy_write_attempts
INSERT INTO attempts (i_attempt, i_delivery, attempt_no, started_at, duration_ms, status_code, error, outcome)
VALUES (:i_attempt, :i_delivery, :attempt_no, :started_at, :duration_ms, :status_code, :error,
        :outcome);
