-- Queries that are the same on every backend, loaded by name together with
-- each backend's own queries.sql (see espf/store/sql_loader.py); a name is
-- defined in one of the two files, never both. Parameters are named (:name);
-- PostgreSQL's loader turns them into $n once, at load. Instants are epoch
-- milliseconds.

-- name: env_get
SELECT i_env, name FROM environments WHERE i_env = :i_env;

-- name: env_list
SELECT i_env, name FROM environments ORDER BY i_env;

-- name: user_get_by_login
SELECT i_user, i_env, login, password_hash, role, weak_password FROM api_users WHERE login = :login;

-- name: user_count
SELECT count(*) FROM api_users;

-- name: event_type_get_by_name
SELECT i_event_type, name, builtin FROM event_types WHERE name = :name;

-- name: event_type_list
SELECT i_event_type, name, builtin FROM event_types ORDER BY i_event_type;

-- Subscriptions are checked here; events (and, on PostgreSQL, a subscription
-- committed meanwhile) by the foreign keys, which the store turns into "in use"
-- (no index on events.i_event_type: it would cost every insert, and deleting a
-- type is rare).
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

-- name: handler_insert
INSERT INTO handlers (i_env, name, kind, created_at, updated_at, {handler_setting_columns})
VALUES (:i_env, :name, 'EventSender', :now, :now, {handler_setting_values})
RETURNING i_handler;

-- name: handler_update
UPDATE handlers SET updated_at = :now, {handler_setting_assignments}
WHERE i_handler = :i_handler;

-- name: handler_get
SELECT {handler_columns}
FROM handlers WHERE i_env = :i_env AND name = :name AND deleted_at IS NULL;

-- name: handler_count_unfinished
SELECT count(*) FROM deliveries
WHERE i_handler = :i_handler AND state IN ('pending', 'in_flight', 'held', 'waiting');

-- name: subscription_delete_all
DELETE FROM subscriptions WHERE i_handler = :i_handler;

-- A paused or disabled handler's waiting deliveries are held, not dropped, and
-- go out when it runs again.
-- name: delivery_hold_for_handler
UPDATE deliveries SET state = 'held' WHERE i_handler = :i_handler AND state = 'pending'
RETURNING i_delivery, i_event;

-- name: delivery_unhold_for_handler
UPDATE deliveries SET state = 'pending' WHERE i_handler = :i_handler AND state = 'held'
RETURNING i_delivery, i_event;

-- Deleting keeps the row for the history of its finished deliveries, under a
-- name no live handler can have, and wipes its secrets: nothing will be sent
-- with them again.
-- name: handler_mark_deleted
UPDATE handlers SET deleted_at = :now, updated_at = :now, enabled = false, name = :deleted_name,
    password = NULL, auth_token = NULL, signing_secrets = NULL, tls_client_key = NULL
WHERE i_handler = :i_handler AND deleted_at IS NULL;

-- The run of failures grows by :failures; the circuit's state comes along
-- (circuit_breaker.py). Only failing handlers run this.
-- name: handler_note_failure
UPDATE handlers SET failing_since = coalesce(failing_since, :at),
    failures_in_row = failures_in_row + :failures
WHERE i_handler = :i_handler
RETURNING i_handler, i_env, name, failing_since, auto_pause_after_s, paused, enabled,
    failures_in_row, breaker_after,
    (SELECT l.circuit_opened_at FROM handler_limits l WHERE l.i_handler = handlers.i_handler);

-- Writes, and answers a row, only when the handler was failing: a healthy
-- handler's batch costs no write.
-- name: handler_note_success
UPDATE handlers SET failing_since = NULL, failures_in_row = 0
WHERE i_handler = :i_handler AND failing_since IS NOT NULL
RETURNING {handler_columns};

-- name: subscription_insert
INSERT INTO subscriptions (i_handler, i_event_type) VALUES (:i_handler, :i_event_type)
ON CONFLICT DO NOTHING;

-- name: subscription_delete
DELETE FROM subscriptions WHERE i_handler = :i_handler AND i_event_type = :i_event_type;

-- name: subscription_list
SELECT t.name FROM subscriptions s JOIN event_types t ON t.i_event_type = s.i_event_type
WHERE s.i_handler = :i_handler ORDER BY t.i_event_type;

-- On PostgreSQL, other nodes learn of the new event from a NOTIFY sent after
-- the commit (see espf/store/postgres_wakeups.py), not from one inside this
-- transaction: PostgreSQL serialises the commits of notifying transactions,
-- which would give up the group commit that concurrent inserts get.
-- name: event_insert
INSERT INTO events (i_env, i_event_type, variables, start_at, created_at, state, coalesce_key,
                    created_by, local_start, time_zone)
VALUES (:i_env, :i_event_type, :variables, :start_at, :now, 'scheduled', :coalesce_key,
        :created_by, :local_start, :time_zone)
RETURNING i_event;

-- name: idempotency_key_get
SELECT request_hash, i_event FROM idempotency_keys
WHERE i_env = :i_env AND key = :key AND created_at >= :not_before;

-- name: idempotency_key_put
INSERT INTO idempotency_keys (i_env, key, request_hash, i_event, created_at)
VALUES (:i_env, :key, :request_hash, :i_event, :now)
ON CONFLICT (i_env, key) DO UPDATE SET request_hash = excluded.request_hash,
    i_event = excluded.i_event, created_at = excluded.created_at;

-- name: idempotency_key_prune
DELETE FROM idempotency_keys WHERE created_at < :not_before;

-- name: transition_insert
INSERT INTO transitions (i_event, i_delivery, state, at, reason)
VALUES (:i_event, :i_delivery, :state, :at, :reason);

-- name: transition_list_for_event
SELECT i_event, i_delivery, state, at, reason FROM transitions
WHERE i_event = :i_event ORDER BY i_transition;

-- name: event_count_by_state
SELECT state, count(*) FROM events GROUP BY state;

-- name: attempt_insert
INSERT INTO attempts (i_delivery, attempt_no, started_at, duration_ms, status_code, error, outcome)
VALUES (:i_delivery, :attempt_no, :started_at, :duration_ms, :status_code, :error, :outcome);

-- name: delivery_list_for_event
SELECT d.i_delivery, d.i_event, d.i_handler, h.name, d.state, d.attempts, d.next_at,
       d.finished_at, d.last_status, d.last_error, d.order_key, d.created_at
FROM deliveries d JOIN handlers h ON h.i_handler = d.i_handler
WHERE d.i_event = :i_event ORDER BY d.i_delivery;

-- name: event_cancel_scheduled
UPDATE events SET state = 'cancelled'
WHERE i_event = :i_event AND i_env = :i_env AND state = 'scheduled'
RETURNING i_event;

-- name: delivery_cancel_for_event
UPDATE deliveries SET state = 'cancelled', finished_at = :now, next_at = NULL
WHERE i_event = :i_event AND state IN ('pending', 'held', 'waiting')
RETURNING i_delivery, i_event, i_handler, order_key;

-- name: event_reschedule_scheduled
UPDATE events SET start_at = :start_at
WHERE i_event = :i_event AND i_env = :i_env AND state = 'scheduled'
RETURNING i_event;

-- name: event_count_unfinished_deliveries
SELECT count(*) FILTER (WHERE state IN ('pending', 'held', 'waiting')),
       count(*) FILTER (WHERE state NOT IN ('pending', 'held', 'waiting'))
FROM deliveries WHERE i_event = :i_event;

-- name: event_reschedule_dispatched
UPDATE events SET start_at = :start_at WHERE i_event = :i_event AND i_env = :i_env;

-- name: delivery_reschedule_for_event
UPDATE deliveries SET next_at = :start_at, budget_from_at = :start_at
WHERE i_event = :i_event AND state IN ('pending', 'held', 'waiting')
RETURNING i_delivery;

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

-- name: node_delete_dead
DELETE FROM nodes WHERE heartbeat_at < :cutoff;

-- A node that stops gracefully hands back what it still holds.
-- name: delivery_release_node
UPDATE deliveries SET
    state = CASE WHEN (SELECT NOT h.enabled OR h.paused FROM handlers h
                       WHERE h.i_handler = deliveries.i_handler)
                 THEN 'held' ELSE 'pending' END,
    next_at = :now, claimed_by = NULL, claimed_at = NULL
WHERE state = 'in_flight' AND claimed_by = :node_id
RETURNING i_event;

-- A node gives back deliveries it claimed and did not send, as they were:
-- no attempt spent (dispatch/breaker_gate.py).
-- name: delivery_hand_back
UPDATE deliveries SET
    state = CASE WHEN (SELECT NOT h.enabled OR h.paused FROM handlers h
                       WHERE h.i_handler = deliveries.i_handler)
                 THEN 'held' ELSE 'pending' END,
    next_at = :next_at, claimed_by = NULL, claimed_at = NULL
WHERE i_delivery {in_ids} AND state = 'in_flight' AND claimed_by = :node_id
RETURNING i_delivery, i_event, i_handler, state;

-- name: node_delete
DELETE FROM nodes WHERE node_id = :node_id;

-- Copying a whole database (espf copy, see espf/copy.py): every table is read
-- in pages ordered by its key (the first column; :after is the last key of
-- the previous page) and written with its ids kept. The writes that differ
-- (booleans, built-in types) are in each backend's queries.sql.

-- name: copy_row_counts
SELECT 'environments', count(*) FROM environments
UNION ALL SELECT 'api_users', count(*) FROM api_users
UNION ALL SELECT 'api_tokens', count(*) FROM api_tokens
UNION ALL SELECT 'event_types', count(*) FROM event_types
UNION ALL SELECT 'handlers', count(*) FROM handlers
UNION ALL SELECT 'handler_limits', count(*) FROM handler_limits
UNION ALL SELECT 'maintenance_windows', count(*) FROM maintenance_windows
UNION ALL SELECT 'subscriptions', count(*) FROM subscriptions
UNION ALL SELECT 'events', count(*) FROM events
UNION ALL SELECT 'deliveries', count(*) FROM deliveries
UNION ALL SELECT 'attempts', count(*) FROM attempts
UNION ALL SELECT 'transitions', count(*) FROM transitions
UNION ALL SELECT 'idempotency_keys', count(*) FROM idempotency_keys
UNION ALL SELECT 'deleted_event_types', count(*) FROM deleted_event_types
UNION ALL SELECT 'account_status_history', count(*) FROM account_status_history
UNION ALL SELECT 'account_statuses', count(*) FROM account_statuses
UNION ALL SELECT 'schedules', count(*) FROM schedules
UNION ALL SELECT 'schedule_occurrences', count(*) FROM schedule_occurrences
UNION ALL SELECT 'account_expunges', count(*) FROM account_expunges
UNION ALL SELECT 'console_attempt_minutes', count(*) FROM console_attempt_minutes;

-- name: copy_read_environments
SELECT i_env, name, created_at
FROM environments WHERE i_env > :after ORDER BY i_env LIMIT :limit;

-- name: copy_write_environments
INSERT INTO environments (i_env, name, created_at)
VALUES (:i_env, :name, :created_at);

-- name: copy_read_api_users
SELECT i_user, i_env, login, password_hash, role, created_at, weak_password
FROM api_users WHERE i_user > :after ORDER BY i_user LIMIT :limit;

-- name: copy_read_event_types
SELECT i_event_type, name, builtin, created_at
FROM event_types WHERE i_event_type > :after ORDER BY i_event_type LIMIT :limit;

-- name: copy_read_handlers
SELECT {handler_columns}, created_at, updated_at, deleted_at
FROM handlers WHERE i_handler > :after ORDER BY i_handler LIMIT :limit;

-- The booleans of SQLite (0/1) become booleans on PostgreSQL (handler_columns.py).
-- name: copy_write_handlers
INSERT INTO handlers ({handler_columns}, created_at, updated_at, deleted_at)
VALUES ({handler_copy_values}, :created_at, :updated_at, :deleted_at);

-- name: copy_read_handler_limits
SELECT i_handler, tokens, refilled_at, ready_at, window_from, window_until, effective_rate,
       rate_adjusted_at, overloaded_at, circuit_opened_at, probe_at, probe_interval_ms
FROM handler_limits WHERE i_handler > :after ORDER BY i_handler LIMIT :limit;

-- name: copy_write_handler_limits
INSERT INTO handler_limits (i_handler, tokens, refilled_at, ready_at, window_from, window_until,
                            effective_rate, rate_adjusted_at, overloaded_at, circuit_opened_at,
                            probe_at, probe_interval_ms)
VALUES (:i_handler, :tokens, :refilled_at, :ready_at, :window_from, :window_until,
        :effective_rate, :rate_adjusted_at, :overloaded_at, :circuit_opened_at, :probe_at,
        :probe_interval_ms);

-- name: copy_read_maintenance_windows
SELECT i_window, i_handler, starts_at, ends_at, rule, time_zone, duration_s, created_at
FROM maintenance_windows WHERE i_window > :after ORDER BY i_window LIMIT :limit;

-- name: copy_write_maintenance_windows
INSERT INTO maintenance_windows (i_window, i_handler, starts_at, ends_at, rule, time_zone,
                                 duration_s, created_at)
VALUES (:i_window, :i_handler, :starts_at, :ends_at, :rule, :time_zone, :duration_s,
        :created_at);

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
SELECT i_event, i_env, i_event_type, variables, start_at, created_at, state, dispatched_at,
       coalesce_key, created_by, local_start, time_zone
FROM events WHERE i_event > :after ORDER BY i_event LIMIT :limit;

-- name: copy_write_events
INSERT INTO events (i_event, i_env, i_event_type, variables, start_at, created_at, state,
    dispatched_at, coalesce_key, created_by, local_start, time_zone)
VALUES (:i_event, :i_env, :i_event_type, :variables, :start_at, :created_at, :state,
        :dispatched_at, :coalesce_key, :created_by, :local_start, :time_zone);

-- name: copy_read_deliveries
SELECT i_delivery, i_event, i_handler, state, attempts, next_at, claimed_by, claimed_at,
       finished_at, last_status, last_error, coalesce_key, order_key, created_at,
       budget_from_attempt, budget_from_at, limited
FROM deliveries WHERE i_delivery > :after ORDER BY i_delivery LIMIT :limit;

-- name: copy_write_deliveries
INSERT INTO deliveries (i_delivery, i_event, i_handler, state, attempts, next_at, claimed_by,
    claimed_at, finished_at, last_status, last_error, coalesce_key, order_key, created_at,
    budget_from_attempt, budget_from_at, limited)
VALUES (:i_delivery, :i_event, :i_handler, :state, :attempts, :next_at, :claimed_by,
        :claimed_at, :finished_at, :last_status, :last_error, :coalesce_key, :order_key,
        :created_at, :budget_from_attempt, :budget_from_at,
        -- SQLite's 0/1 and PostgreSQL's booleans alike
        CAST(:limited AS integer) <> 0);

-- name: copy_read_attempts
SELECT i_attempt, i_delivery, attempt_no, started_at, duration_ms, status_code, error, outcome
FROM attempts WHERE i_attempt > :after ORDER BY i_attempt LIMIT :limit;

-- name: copy_write_attempts
INSERT INTO attempts (i_attempt, i_delivery, attempt_no, started_at, duration_ms, status_code, error, outcome)
VALUES (:i_attempt, :i_delivery, :attempt_no, :started_at, :duration_ms, :status_code, :error,
        :outcome);

-- name: copy_read_transitions
SELECT i_transition, i_event, i_delivery, state, at, reason
FROM transitions WHERE i_transition > :after ORDER BY i_transition LIMIT :limit;

-- name: copy_write_transitions
INSERT INTO transitions (i_transition, i_event, i_delivery, state, at, reason)
VALUES (:i_transition, :i_event, :i_delivery, :state, :at, :reason);

-- Keyed by (i_env, key), not by one number: a page is a whole environment.
-- name: copy_read_idempotency_keys
SELECT i_env, key, request_hash, i_event, created_at
FROM idempotency_keys
WHERE i_env = (SELECT min(i_env) FROM idempotency_keys WHERE i_env > :after)
  AND :limit > 0
ORDER BY key;

-- name: copy_write_idempotency_keys
INSERT INTO idempotency_keys (i_env, key, request_hash, i_event, created_at)
VALUES (:i_env, :key, :request_hash, :i_event, :created_at);

-- Provisioning status of accounts: the history keeps every report, the
-- current table points at the latest one per service group.
-- name: account_status_insert
INSERT INTO account_status_history (i_env, account_kind, account, service_group, status, message,
                                    reported_at, reported_by)
VALUES (:i_env, :account_kind, :account, :service_group, :status, :message, :now, :reported_by)
RETURNING i_status_change, service_group, status, message, reported_at, reported_by;

-- name: account_status_current
SELECT h.i_status_change, h.service_group, h.status, h.message, h.reported_at, h.reported_by
FROM account_statuses c
JOIN account_status_history h ON h.i_status_change = c.i_status_change
WHERE c.i_env = :i_env AND c.account_kind = :account_kind AND c.account = :account
ORDER BY h.service_group;

-- name: copy_read_deleted_event_types
SELECT i_event_type, name, deleted_at
FROM deleted_event_types WHERE i_event_type > :after ORDER BY i_event_type LIMIT :limit;

-- name: copy_write_deleted_event_types
INSERT INTO deleted_event_types (i_event_type, name, deleted_at)
VALUES (:i_event_type, :name, :deleted_at);

-- name: copy_read_account_status_history
SELECT i_status_change, i_env, account_kind, account, service_group, status, message,
       reported_at, reported_by
FROM account_status_history WHERE i_status_change > :after
ORDER BY i_status_change LIMIT :limit;

-- name: copy_write_account_status_history
INSERT INTO account_status_history (i_status_change, i_env, account_kind, account, service_group,
    status, message, reported_at, reported_by)
VALUES (:i_status_change, :i_env, :account_kind, :account, :service_group, :status, :message,
        :reported_at, :reported_by);

-- Keyed by (i_env, account, group), not by one number: a page is a whole environment.
-- name: copy_read_account_statuses
SELECT i_env, account_kind, account, service_group, i_status_change
FROM account_statuses
WHERE i_env = (SELECT min(i_env) FROM account_statuses WHERE i_env > :after)
  AND :limit > 0
ORDER BY account_kind, account, service_group;

-- name: copy_write_account_statuses
INSERT INTO account_statuses (i_env, account_kind, account, service_group, i_status_change)
VALUES (:i_env, :account_kind, :account, :service_group, :i_status_change);

-- name: copy_read_schedules
SELECT i_schedule, i_env, key, i_event_type, variables, rule, time_zone, start_at, end_at,
       catch_up, catch_up_window_s, paused, last_at, next_at, created_at, updated_at
FROM schedules WHERE i_schedule > :after ORDER BY i_schedule LIMIT :limit;

-- name: copy_write_schedules
INSERT INTO schedules (i_schedule, i_env, key, i_event_type, variables, rule, time_zone,
                       start_at, end_at, catch_up, catch_up_window_s, paused, last_at, next_at,
                       created_at, updated_at)
VALUES (:i_schedule, :i_env, :key, :i_event_type, :variables, :rule, :time_zone, :start_at,
        :end_at, :catch_up, :catch_up_window_s, CAST(:paused AS integer) <> 0, :last_at, :next_at,
        :created_at, :updated_at);

-- A page holds every occurrence of the schedules it reaches: the key is i_schedule.
-- name: copy_read_schedule_occurrences
SELECT i_schedule, at FROM schedule_occurrences
WHERE i_schedule > :after
  AND i_schedule <= (SELECT max(i_schedule) FROM (
      SELECT i_schedule FROM schedule_occurrences WHERE i_schedule > :after
      ORDER BY i_schedule LIMIT :limit) AS page)
ORDER BY i_schedule, at;

-- name: copy_write_schedule_occurrences
INSERT INTO schedule_occurrences (i_schedule, at) VALUES (:i_schedule, :at);

-- name: copy_read_account_expunges
SELECT i_expunge, i_env, account_kind, account, expunged_at, events, status_reports, expunged_by
FROM account_expunges WHERE i_expunge > :after ORDER BY i_expunge LIMIT :limit;

-- name: copy_write_account_expunges
INSERT INTO account_expunges (i_expunge, i_env, account_kind, account, expunged_at, events,
                              status_reports, expunged_by)
VALUES (:i_expunge, :i_env, :account_kind, :account, :expunged_at, :events, :status_reports,
        :expunged_by);

-- The console's attempts per minute. Keyed by (i_env, minute, outcome): a
-- page is a whole environment. The copied attempts already built counts in
-- the target (its triggers); the source's replace them, since they also
-- count attempts pruned or expunged since.
-- name: copy_read_console_attempt_minutes
SELECT i_env, minute, outcome, attempts
FROM console_attempt_minutes
WHERE i_env = (SELECT min(i_env) FROM console_attempt_minutes WHERE i_env > :after)
  AND :limit > 0
ORDER BY minute, outcome;

-- name: copy_write_console_attempt_minutes
INSERT INTO console_attempt_minutes (i_env, minute, outcome, attempts)
VALUES (:i_env, :minute, :outcome, :attempts)
ON CONFLICT (i_env, minute, outcome) DO UPDATE SET attempts = excluded.attempts;

-- Fan-out, ordering, claiming and replay: {in_ids} and {greatest} are spelled
-- per dialect by the loader (sql_loader.py).

-- name: event_mark_unrouted
UPDATE events SET state = 'unrouted'
WHERE i_event {in_ids}
  AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.i_event = events.i_event)
RETURNING i_event;

-- Ordering: a new delivery queues behind any earlier one of its key that is
-- not finished. On PostgreSQL callers hold the key's lock (ordering_key_lock in
-- backend_only.sql) so that this and the promotion below never miss each
-- other's uncommitted work.
-- name: delivery_queue_behind_key
UPDATE deliveries SET state = 'waiting'
WHERE i_delivery {in_ids}
  AND order_key IS NOT NULL AND state IN ('pending', 'held')
  AND EXISTS (SELECT 1 FROM deliveries earlier
              WHERE earlier.i_handler = deliveries.i_handler
                AND earlier.order_key = deliveries.order_key
                AND earlier.i_event < deliveries.i_event
                AND earlier.state IN ('pending', 'in_flight', 'held', 'waiting'))
RETURNING i_delivery, i_event;

-- Once a key's head is finished, the earliest waiting delivery of the key goes.
-- name: delivery_promote_next_of_key
UPDATE deliveries SET state = CASE WHEN (SELECT paused FROM handlers h
                                         WHERE h.i_handler = deliveries.i_handler)
                                   THEN 'held' ELSE 'pending' END,
    next_at = {greatest}(coalesce(next_at, :now), :now)
WHERE i_delivery = (SELECT i_delivery FROM deliveries
                    WHERE i_handler = :i_handler AND order_key = :order_key AND state = 'waiting'
                    ORDER BY i_event LIMIT 1)
  AND NOT EXISTS (SELECT 1 FROM deliveries active
                  WHERE active.i_handler = :i_handler AND active.order_key = :order_key
                    AND active.state IN ('pending', 'in_flight', 'held'))
RETURNING i_delivery, i_event;

-- name: delivery_claimed_detail
SELECT d.i_delivery, d.i_event, e.i_env, t.name, e.variables, d.attempts,
       d.budget_from_attempt, coalesce(d.budget_from_at, d.created_at),
       {handler_columns:h}
FROM deliveries d
JOIN events e ON e.i_event = d.i_event
JOIN event_types t ON t.i_event_type = e.i_event_type
JOIN handlers h ON h.i_handler = d.i_handler
WHERE d.i_delivery {in_ids}
ORDER BY d.next_at;

-- Claimed deliveries make their events in flight: the cheap form of
-- event_refresh_state for the one change a claim makes.
-- name: event_mark_in_flight
UPDATE events SET state = 'in_flight'
WHERE i_event {in_ids} AND state = 'pending';

-- An operator's retry: due now, with a fresh retry budget. Never for a
-- deleted handler: its secrets are gone and nobody expects its traffic.
-- name: delivery_reopen
UPDATE deliveries SET state = CASE WHEN (SELECT paused FROM handlers h
                                         WHERE h.i_handler = deliveries.i_handler)
                                   THEN 'held' ELSE 'pending' END,
    next_at = :now, finished_at = NULL, budget_from_attempt = attempts, budget_from_at = :now
WHERE i_delivery {in_ids}
  AND state IN ('pending', 'delivered', 'rejected', 'failed', 'cancelled', 'superseded')
  AND NOT EXISTS (SELECT 1 FROM handlers h
                  WHERE h.i_handler = deliveries.i_handler AND h.deleted_at IS NOT NULL)
RETURNING i_delivery, i_event, i_handler, order_key;

-- An environment always keeps an administrator: the last one is not deleted.
-- On PostgreSQL the store locks the environment's row first (backend_only.sql),
-- so that two administrators deleting each other at once cannot both succeed.
-- name: user_delete
DELETE FROM api_users
WHERE i_env = :i_env AND login = :login
  AND (role <> 'admin'
       OR (SELECT count(*) FROM api_users WHERE i_env = :i_env AND role = 'admin') > 1)
RETURNING i_user;

-- name: event_type_event_counts
SELECT count(*) FILTER (WHERE i_env = :i_env), count(*) FILTER (WHERE i_env <> :i_env)
FROM events WHERE i_event_type = :i_event_type;

-- "Only the latest event is processed": a delivery that has not gone out yet
-- is superseded when the same handler has one for a newer event of the same
-- type and account (the coalesce key carries both).
-- name: delivery_supersede_older
UPDATE deliveries SET state = 'superseded', finished_at = :now, next_at = NULL
WHERE coalesce_key IS NOT NULL AND state IN ('pending', 'held', 'waiting')
  AND (i_handler, coalesce_key) IN (SELECT i_handler, coalesce_key FROM deliveries
                                    WHERE i_delivery {in_ids})
  AND EXISTS (SELECT 1 FROM deliveries newer
              WHERE newer.i_handler = deliveries.i_handler
                AND newer.coalesce_key = deliveries.coalesce_key
                AND newer.i_event > deliveries.i_event
                AND newer.state <> 'superseded')
RETURNING i_delivery, i_event, i_handler, order_key;

-- -- Passwords, server keys, sessions and API tokens (migration 0004) ------------

-- name: sessions_revoke_for_user
UPDATE sessions SET revoked_at = :now WHERE i_user = :i_user AND revoked_at IS NULL;

-- name: server_key_insert
INSERT INTO server_keys (purpose, key, created_at) VALUES (:purpose, :key, :now)
ON CONFLICT (purpose) DO NOTHING;

-- name: server_key_get
SELECT key FROM server_keys WHERE purpose = :purpose;

-- name: session_get
SELECT s.session_id, u.i_user, u.i_env, u.login, u.password_hash, u.role, u.weak_password,
       s.i_api_token, s.refresh_hash, s.created_at, s.expires_at, s.revoked_at
FROM sessions s JOIN api_users u ON u.i_user = s.i_user
WHERE s.session_id = :session_id;

-- name: session_refresh
UPDATE sessions SET refresh_hash = :new_refresh_hash, expires_at = :expires_at
WHERE session_id = :session_id AND refresh_hash = :refresh_hash
  AND revoked_at IS NULL AND expires_at > :now
RETURNING session_id;

-- name: session_revoke
UPDATE sessions SET revoked_at = :now WHERE session_id = :session_id AND revoked_at IS NULL
RETURNING session_id;

-- name: api_token_insert
INSERT INTO api_tokens (i_user, name, token_hash, created_at)
VALUES (:i_user, :name, :token_hash, :now)
RETURNING i_api_token;

-- name: api_token_find
SELECT t.i_api_token, u.i_user, u.i_env, u.login, u.password_hash, u.role, u.weak_password
FROM api_tokens t JOIN api_users u ON u.i_user = t.i_user
WHERE t.token_hash = :token_hash;

-- name: api_token_used
UPDATE api_tokens SET last_used_at = :now WHERE i_api_token = :i_api_token;

-- name: api_token_delete
DELETE FROM api_tokens
WHERE i_api_token = :i_api_token
  AND i_user = (SELECT i_user FROM api_users WHERE i_env = :i_env AND login = :login)
RETURNING i_api_token;

-- name: copy_read_api_tokens
SELECT i_api_token, i_user, name, token_hash, created_at, last_used_at
FROM api_tokens WHERE i_api_token > :after ORDER BY i_api_token LIMIT :limit;

-- name: copy_write_api_tokens
INSERT INTO api_tokens (i_api_token, i_user, name, token_hash, created_at, last_used_at)
VALUES (:i_api_token, :i_user, :name, :token_hash, :created_at, :last_used_at);
-- Schedules (docs/calendar.md). Columns in the order rows.schedule reads.
-- name: schedule_get
SELECT s.i_schedule, s.i_env, s.key, s.i_event_type, t.name, s.variables, s.rule, s.time_zone,
       s.start_at, s.end_at, s.catch_up, s.catch_up_window_s, s.paused, s.last_at, s.next_at,
       s.created_at, s.updated_at
FROM schedules s JOIN event_types t ON t.i_event_type = s.i_event_type
WHERE s.i_env = :i_env AND s.i_schedule = :i_schedule;

-- name: schedule_get_by_key
SELECT s.i_schedule, s.i_env, s.key, s.i_event_type, t.name, s.variables, s.rule, s.time_zone,
       s.start_at, s.end_at, s.catch_up, s.catch_up_window_s, s.paused, s.last_at, s.next_at,
       s.created_at, s.updated_at
FROM schedules s JOIN event_types t ON t.i_event_type = s.i_event_type
WHERE s.i_env = :i_env AND s.key = :key;

-- name: schedule_list
SELECT s.i_schedule, s.i_env, s.key, s.i_event_type, t.name, s.variables, s.rule, s.time_zone,
       s.start_at, s.end_at, s.catch_up, s.catch_up_window_s, s.paused, s.last_at, s.next_at,
       s.created_at, s.updated_at
FROM schedules s JOIN event_types t ON t.i_event_type = s.i_event_type
WHERE s.i_env = :i_env AND s.i_schedule > :after
  AND (:key_prefix = '' OR substr(s.key, 1, length(:key_prefix)) = :key_prefix)
ORDER BY s.i_schedule LIMIT :limit;

-- name: schedule_insert
INSERT INTO schedules (i_env, key, i_event_type, variables, rule, time_zone, start_at, end_at,
                       catch_up, catch_up_window_s, paused, last_at, next_at, created_at,
                       updated_at)
VALUES (:i_env, :key, :i_event_type, :variables, :rule, :time_zone, :start_at, :end_at,
        :catch_up, :catch_up_window_s, false, :now, :next_at, :now, :now)
RETURNING i_schedule;

-- Replacing keeps the id, so an occurrence materialized before is not made again.
-- name: schedule_upsert
INSERT INTO schedules (i_env, key, i_event_type, variables, rule, time_zone, start_at, end_at,
                       catch_up, catch_up_window_s, paused, last_at, next_at, created_at,
                       updated_at)
VALUES (:i_env, :key, :i_event_type, :variables, :rule, :time_zone, :start_at, :end_at,
        :catch_up, :catch_up_window_s, false, :now, :next_at, :now, :now)
ON CONFLICT (i_env, key) DO UPDATE SET
    i_event_type = excluded.i_event_type, variables = excluded.variables, rule = excluded.rule,
    time_zone = excluded.time_zone, start_at = excluded.start_at, end_at = excluded.end_at,
    catch_up = excluded.catch_up, catch_up_window_s = excluded.catch_up_window_s,
    paused = false, last_at = {greatest}(schedules.last_at, excluded.last_at),
    next_at = excluded.next_at, updated_at = excluded.updated_at
RETURNING i_schedule;

-- name: schedule_set_paused
UPDATE schedules SET paused = :paused, next_at = :next_at, updated_at = :now
WHERE i_env = :i_env AND i_schedule = :i_schedule;

-- name: schedule_delete
DELETE FROM schedules WHERE i_env = :i_env AND i_schedule = :i_schedule RETURNING i_schedule;

-- name: schedule_occurrences_delete
DELETE FROM schedule_occurrences WHERE i_schedule = :i_schedule;

-- name: schedule_next_due_at
SELECT min(next_at) FROM schedules WHERE next_at IS NOT NULL;
-- Retention (store/retention_plans.py). An event may go when it is in a
-- final state and everything about it happened before the cutoff: created,
-- every delivery final and finished, every transition. An event created
-- after the cutoff cannot qualify, so the scan reads only old events.
-- name: prune_count
SELECT count(*) FROM events e
WHERE e.state = :state AND e.created_at < :cutoff
  AND (CAST(:only_env AS BIGINT) IS NULL OR e.i_env = CAST(:only_env AS BIGINT)) AND NOT (e.i_env {in_ids})
  AND NOT EXISTS (
    SELECT 1 FROM deliveries d WHERE d.i_event = e.i_event
      AND (d.state NOT IN ('delivered', 'rejected', 'failed', 'cancelled', 'superseded')
           OR d.finished_at IS NULL OR d.finished_at >= :cutoff))
  AND NOT EXISTS (SELECT 1 FROM transitions t WHERE t.i_event = e.i_event AND t.at >= :cutoff);

-- The candidates, looked at again in a later statement (on PostgreSQL a
-- fresh snapshot, after their rows were locked): an event whose delivery
-- was reopened meanwhile is no longer final and is kept whole.
-- name: prune_still_final
SELECT e.i_event FROM events e
WHERE e.i_event {in_ids}
  AND e.state IN ('delivered', 'superseded', 'rejected', 'failed', 'cancelled', 'unrouted')
  AND NOT EXISTS (
    SELECT 1 FROM deliveries d WHERE d.i_event = e.i_event
      AND d.state NOT IN ('delivered', 'rejected', 'failed', 'cancelled', 'superseded'));

-- Children first: transitions and attempts name deliveries, deliveries name events.
-- name: prune_transitions
DELETE FROM transitions WHERE i_event {in_ids};

-- name: prune_attempts
DELETE FROM attempts
WHERE i_delivery IN (SELECT i_delivery FROM deliveries WHERE i_event {in_ids});

-- name: prune_deliveries
DELETE FROM deliveries WHERE i_event {in_ids};

-- name: prune_events
DELETE FROM events WHERE i_event {in_ids};

-- Superseded status reports older than the cutoff; the current one of each
-- account and service group (account_statuses) stays, however old.
-- name: prune_account_history_count
SELECT count(*) FROM account_status_history h
WHERE h.reported_at < :cutoff
  AND (CAST(:only_env AS BIGINT) IS NULL OR h.i_env = CAST(:only_env AS BIGINT)) AND NOT (h.i_env {in_ids})
  AND NOT EXISTS (SELECT 1 FROM account_statuses s WHERE s.i_status_change = h.i_status_change);

-- name: prune_account_history
DELETE FROM account_status_history
WHERE i_status_change IN (
  SELECT h.i_status_change FROM account_status_history h
  WHERE h.reported_at < :cutoff
    AND (CAST(:only_env AS BIGINT) IS NULL OR h.i_env = CAST(:only_env AS BIGINT)) AND NOT (h.i_env {in_ids})
    AND NOT EXISTS (SELECT 1 FROM account_statuses s WHERE s.i_status_change = h.i_status_change)
  ORDER BY h.reported_at LIMIT :limit);

-- The console's attempts per minute (migration 0008) of minutes before the
-- scope's longest window: no attempt of theirs is kept any more. Few rows
-- (one per environment, minute and outcome), in batches all the same.
-- name: prune_console_attempt_minutes
DELETE FROM console_attempt_minutes
WHERE (i_env, minute, outcome) IN (
  SELECT m.i_env, m.minute, m.outcome FROM console_attempt_minutes m
  WHERE m.minute < :cutoff
    AND (CAST(:only_env AS BIGINT) IS NULL OR m.i_env = CAST(:only_env AS BIGINT)) AND NOT (m.i_env {in_ids})
  ORDER BY m.minute LIMIT :limit);

-- `espf db stats` (store/sql_retention.py).
-- name: stats_table_rows
SELECT 'events', count(*) FROM events
UNION ALL SELECT 'deliveries', count(*) FROM deliveries
UNION ALL SELECT 'attempts', count(*) FROM attempts
UNION ALL SELECT 'transitions', count(*) FROM transitions
UNION ALL SELECT 'account_status_history', count(*) FROM account_status_history
UNION ALL SELECT 'account_statuses', count(*) FROM account_statuses
UNION ALL SELECT 'idempotency_keys', count(*) FROM idempotency_keys;

-- name: stats_events_by_state
SELECT state, count(*), min(created_at) FROM events GROUP BY state ORDER BY state;

-- name: stats_deliveries_by_state
SELECT state, count(*), min(created_at) FROM deliveries GROUP BY state ORDER BY state;

-- An account's history, for export and expunge (store/account_history.py).
-- name: account_export_events
SELECT e.i_event, e.i_env, t.name, e.variables, e.start_at, e.created_at, e.state,
       e.dispatched_at
FROM events e JOIN event_types t ON t.i_event_type = e.i_event_type
WHERE e.i_event {in_ids} ORDER BY e.i_event;

-- name: account_export_deliveries
SELECT d.i_delivery, d.i_event, d.i_handler, d.state, d.attempts, d.next_at, d.finished_at,
       d.last_status, d.last_error, d.created_at
FROM deliveries d WHERE d.i_event {in_ids} ORDER BY d.i_event, d.i_delivery;

-- name: account_export_attempts
SELECT a.i_attempt, a.i_delivery, a.attempt_no, a.started_at, a.duration_ms, a.status_code,
       a.error, a.outcome
FROM attempts a JOIN deliveries d ON d.i_delivery = a.i_delivery
WHERE d.i_event {in_ids} ORDER BY a.i_delivery, a.i_attempt;

-- name: account_export_transitions
SELECT i_transition, i_event, i_delivery, state, at, reason
FROM transitions WHERE i_event {in_ids} ORDER BY i_event, i_transition;

-- name: account_export_statuses
SELECT i_status_change, service_group, status, message, reported_at, reported_by
FROM account_status_history
WHERE i_env = :i_env AND account_kind = :kind AND account = :account
ORDER BY i_status_change;

-- name: account_statuses_delete
DELETE FROM account_statuses WHERE i_env = :i_env AND account_kind = :kind AND account = :account;

-- name: account_status_history_delete
DELETE FROM account_status_history
WHERE i_env = :i_env AND account_kind = :kind AND account = :account;

-- name: account_expunge_record
INSERT INTO account_expunges (i_env, account_kind, account, expunged_at, events, status_reports,
                              expunged_by)
VALUES (:i_env, :kind, :account, :now, :events, :status_reports, :by)
RETURNING i_expunge;
-- Delivery limits (rate_limits.py). A limited handler has a limiter row with
-- its token bucket; its deliveries are marked limited, so that the claim of
-- everyone else's work never reads past them.
-- Whether any handler has limits, windows or an open circuit (see
-- SqlBackend._limiters_seen).
-- name: limiters_exist
SELECT EXISTS (SELECT 1 FROM handler_limits);

-- name: limiter_insert
INSERT INTO handler_limits (i_handler, tokens, refilled_at, ready_at)
VALUES (:i_handler, :tokens, :now, 0)
ON CONFLICT (i_handler) DO NOTHING;

-- The requests open to a limited handler on every node, read after its
-- limiter row is locked (see limiter_ready).
-- name: limiter_in_flight
SELECT count(*) FROM deliveries WHERE i_handler = :i_handler AND state = 'in_flight';

-- name: limiter_delete
DELETE FROM handler_limits WHERE i_handler = :i_handler;

-- name: limiter_update
UPDATE handler_limits SET tokens = :tokens, refilled_at = :refilled_at, ready_at = :ready_at,
    window_from = :window_from, window_until = :window_until, probe_at = :probe_at,
    probe_interval_ms = :probe_interval_ms, sender = :sender, sender_until = :sender_until
WHERE i_handler = :i_handler;

-- A node stopping cleanly ends its turns at once.
-- name: limiter_end_turns
UPDATE handler_limits SET sender = NULL, sender_until = 0 WHERE sender = :node_id;

-- Adaptive back-off (adaptive_rate.py), in the outcome-recording transaction.
-- name: limiter_rate_read
SELECT h.max_rate, l.effective_rate, l.rate_adjusted_at, l.overloaded_at
FROM handler_limits l JOIN handlers h ON h.i_handler = l.i_handler
WHERE l.i_handler = :i_handler;

-- Only if no other node changed it since it was read: one change per interval.
-- name: limiter_set_rate
UPDATE handler_limits SET effective_rate = :effective_rate, rate_adjusted_at = :adjusted_at,
    overloaded_at = :overloaded_at
WHERE i_handler = :i_handler
  AND (rate_adjusted_at = :read_at OR (rate_adjusted_at IS NULL AND :never_adjusted));

-- The circuit breaker (circuit_breaker.py). Opening gives a handler without
-- limits a limiter row for the time it is open; only the transaction that
-- opens it gets a row back (it logs the opening, once).
-- name: limiter_open_circuit
INSERT INTO handler_limits (i_handler, tokens, refilled_at, ready_at, circuit_opened_at, probe_at,
                            probe_interval_ms)
VALUES (:i_handler, 0, :now, :probe_at, :now, :probe_at, :probe_interval_ms)
ON CONFLICT (i_handler) DO UPDATE SET circuit_opened_at = excluded.circuit_opened_at,
    probe_at = excluded.probe_at, probe_interval_ms = excluded.probe_interval_ms,
    ready_at = excluded.ready_at
WHERE handler_limits.circuit_opened_at IS NULL
RETURNING i_handler;

-- name: limiter_close_circuit
UPDATE handler_limits SET circuit_opened_at = NULL, probe_at = NULL, probe_interval_ms = NULL,
    ready_at = 0
WHERE i_handler = :i_handler AND circuit_opened_at IS NOT NULL
RETURNING i_handler;

-- name: limiter_circuit_open
SELECT circuit_opened_at FROM handler_limits
WHERE i_handler = :i_handler AND circuit_opened_at IS NOT NULL;

-- What the service shows of a handler's flow: its effective rate, its circuit.
-- name: limiter_flows
SELECT h.i_handler, h.name, h.max_rate, h.failures_in_row, l.effective_rate, l.circuit_opened_at,
       l.probe_at
FROM handlers h LEFT JOIN handler_limits l ON l.i_handler = h.i_handler
WHERE h.i_handler {in_ids}
ORDER BY h.i_handler;

-- For the gauges: handlers with a rate or a limiter row.
-- name: limiter_flows_all
SELECT h.i_handler, h.name, h.max_rate, h.failures_in_row, l.effective_rate, l.circuit_opened_at,
       l.probe_at
FROM handlers h LEFT JOIN handler_limits l ON l.i_handler = h.i_handler
WHERE h.deleted_at IS NULL AND (h.max_rate > 0 OR l.i_handler IS NOT NULL)
ORDER BY h.i_handler;

-- After a handler's limits or windows change: look again at once.
-- name: limiter_set_window
UPDATE handler_limits SET window_from = :window_from, window_until = :window_until, ready_at = 0
WHERE i_handler = :i_handler;

-- name: maintenance_insert
INSERT INTO maintenance_windows (i_handler, starts_at, ends_at, rule, time_zone, duration_s,
                                 created_at)
VALUES (:i_handler, :starts_at, :ends_at, :rule, :time_zone, :duration_s, :now)
RETURNING i_window;

-- name: maintenance_list_for_handler
SELECT i_window, i_handler, starts_at, ends_at, rule, time_zone, duration_s
FROM maintenance_windows WHERE i_handler = :i_handler ORDER BY i_window;

-- name: maintenance_list_all
SELECT h.name, w.i_window, w.i_handler, w.starts_at, w.ends_at, w.rule, w.time_zone, w.duration_s
FROM maintenance_windows w JOIN handlers h ON h.i_handler = w.i_handler
WHERE h.deleted_at IS NULL
ORDER BY w.i_handler, w.i_window;

-- name: maintenance_delete
DELETE FROM maintenance_windows WHERE i_window = :i_window AND i_handler = :i_handler;

-- name: delivery_mark_limited
UPDATE deliveries SET limited = :limited WHERE i_handler = :i_handler AND limited <> :limited;

-- While a circuit is open: deliveries that came back from flight to wait
-- go through the limiter too (only the pending ones: the rows in flight are
-- another node's to write).
-- name: delivery_mark_pending_limited
UPDATE deliveries SET limited = TRUE
WHERE i_handler = :i_handler AND state = 'pending' AND limited = FALSE;

-- == The operator console (espf/web) ==========================================

-- name: console_event_counts
SELECT state, events FROM console_event_states WHERE i_env = :i_env AND events <> 0;

-- A producer's own events: no summary per creator, so this one counts.
-- name: console_event_counts_by_creator
SELECT state, count(*) FROM events
WHERE i_env = :i_env AND created_by = :created_by
GROUP BY state;

-- Delivery time minus start_time of the latest deliveries finished since :since.
-- name: console_lateness
SELECT d.finished_at - e.start_at
FROM deliveries d
JOIN events e ON e.i_event = d.i_event
WHERE d.finished_at >= :since AND d.state = 'delivered' AND e.i_env = :i_env
ORDER BY d.finished_at DESC LIMIT :limit;

-- Per handler: deliveries waiting (backlog) and the last successful one.
-- name: console_handler_stats
SELECT h.i_handler,
       (SELECT count(*) FROM deliveries d
        WHERE d.i_handler = h.i_handler AND d.state IN ('pending', 'held', 'waiting', 'in_flight')),
       (SELECT max(d.finished_at) FROM deliveries d
        WHERE d.i_handler = h.i_handler AND d.state = 'delivered')
FROM handlers h WHERE h.i_env = :i_env AND h.deleted_at IS NULL;
