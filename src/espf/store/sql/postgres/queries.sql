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
INSERT INTO api_users (i_env, login, password_hash, role, created_at, weak_password)
VALUES (:i_env, :login, :password_hash, :role, :now, :weak_password::boolean)
RETURNING i_user, i_env, login, password_hash, role, weak_password;

-- name: user_get_by_login
SELECT i_user, i_env, login, password_hash, role, weak_password FROM api_users WHERE login = :login;

-- name: user_list
SELECT i_user, i_env, login, password_hash, role, weak_password FROM api_users
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
RETURNING i_user, i_env, login, password_hash, role, weak_password;

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
                      auth_token, auth_header, timeout_s, created_at, updated_at,
                      auto_pause_after_s, retry_max_attempts, retry_max_age_s, retry_schedule,
                      retry_base_s, retry_factor, retry_cap_s, ordered, order_key,
                      signing_secrets, tls_verify, tls_ca_file, tls_client_cert, tls_client_key)
VALUES (:i_env, :name, 'EventSender', :enabled, :url, :auth_method, :login, :password,
        :auth_scheme, :auth_token, :auth_header, :timeout_s, :now, :now,
        :auto_pause_after_s, :retry_max_attempts, :retry_max_age_s, :retry_schedule,
        :retry_base_s, :retry_factor, :retry_cap_s, :ordered, :order_key,
        :signing_secrets, :tls_verify, :tls_ca_file, :tls_client_cert, :tls_client_key)
RETURNING i_handler;

-- name: handler_update
UPDATE handlers SET url = :url, auth_method = :auth_method, login = :login, password = :password,
    auth_scheme = :auth_scheme, auth_token = :auth_token, auth_header = :auth_header,
    timeout_s = :timeout_s, enabled = :enabled, updated_at = :now,
    auto_pause_after_s = :auto_pause_after_s, retry_max_attempts = :retry_max_attempts,
    retry_max_age_s = :retry_max_age_s, retry_schedule = :retry_schedule,
    retry_base_s = :retry_base_s, retry_factor = :retry_factor, retry_cap_s = :retry_cap_s,
    ordered = :ordered, order_key = :order_key, signing_secrets = :signing_secrets,
    tls_verify = :tls_verify, tls_ca_file = :tls_ca_file, tls_client_cert = :tls_client_cert,
    tls_client_key = :tls_client_key
WHERE i_handler = :i_handler;

-- name: handler_get
SELECT i_handler, i_env, name, kind, enabled, url, auth_method, login, password, auth_scheme,
       auth_token, auth_header, timeout_s, paused, paused_at, paused_reason, failing_since,
       auto_pause_after_s, retry_max_attempts, retry_max_age_s, retry_schedule, retry_base_s,
       retry_factor, retry_cap_s, ordered, order_key, signing_secrets, tls_verify, tls_ca_file,
       tls_client_cert, tls_client_key
FROM handlers WHERE i_env = :i_env AND name = :name AND deleted_at IS NULL;

-- name: handler_list
SELECT i_handler, i_env, name, kind, enabled, url, auth_method, login, password, auth_scheme,
       auth_token, auth_header, timeout_s, paused, paused_at, paused_reason, failing_since,
       auto_pause_after_s, retry_max_attempts, retry_max_age_s, retry_schedule, retry_base_s,
       retry_factor, retry_cap_s, ordered, order_key, signing_secrets, tls_verify, tls_ca_file,
       tls_client_cert, tls_client_key
FROM handlers WHERE (:i_env::bigint IS NULL OR i_env = :i_env) AND deleted_at IS NULL
ORDER BY i_env, name;

-- name: handler_count_unfinished
SELECT count(*) FROM deliveries
WHERE i_handler = :i_handler AND state IN ('pending', 'in_flight', 'held', 'waiting');

-- name: subscription_delete_all
DELETE FROM subscriptions WHERE i_handler = :i_handler;

-- Deleting keeps the row for the history of its finished deliveries, under a
-- name no live handler can have, and wipes its secrets.
-- name: handler_mark_deleted
UPDATE handlers SET deleted_at = :now, updated_at = :now, enabled = false, name = :deleted_name,
    password = NULL, auth_token = NULL, signing_secrets = NULL, tls_client_key = NULL
WHERE i_handler = :i_handler AND deleted_at IS NULL;

-- A paused or disabled handler's waiting deliveries are held, not dropped, and
-- go out when it runs again.
-- name: delivery_hold_for_handler
UPDATE deliveries SET state = 'held' WHERE i_handler = :i_handler AND state = 'pending'
RETURNING i_delivery, i_event;

-- name: delivery_unhold_for_handler
UPDATE deliveries SET state = 'pending' WHERE i_handler = :i_handler AND state = 'held'
RETURNING i_delivery, i_event;

-- name: handler_set_paused
UPDATE handlers SET paused = :paused, paused_at = :paused_at, paused_reason = :reason,
    failing_since = CASE WHEN :paused::boolean THEN failing_since END, updated_at = :now
WHERE i_handler = :i_handler AND paused <> :paused::boolean;

-- name: handler_note_failure
UPDATE handlers SET failing_since = coalesce(failing_since, :at)
WHERE i_handler = :i_handler
RETURNING i_handler, i_env, name, failing_since, auto_pause_after_s, paused, enabled;

-- name: handler_note_success
UPDATE handlers SET failing_since = NULL WHERE i_handler = :i_handler AND failing_since IS NOT NULL;

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
INSERT INTO events (i_env, i_event_type, variables, start_at, created_at, state, coalesce_key,
                    created_by)
VALUES (:i_env, :i_event_type, :variables, :start_at, :now, 'scheduled', :coalesce_key,
        :created_by)
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
  AND (:var_name::text IS NULL OR (e.variables::jsonb ->> :var_name) = :var_value::text)
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
UPDATE events e SET state = 'pending', dispatched_at = :now
FROM due WHERE e.i_event = due.i_event
RETURNING e.i_event;

-- One delivery for every enabled handler subscribed to the event's type in the
-- event's environment, decided when the event is due, not when it was created.
-- A paused handler's delivery is held. An ordered handler's delivery carries
-- its key: the handler's variable, or by default i_account, else i_customer.
-- name: delivery_fan_out
INSERT INTO deliveries (i_event, i_handler, state, attempts, next_at, created_at,
                        budget_from_at, coalesce_key, order_key)
SELECT e.i_event, h.i_handler, CASE WHEN h.paused THEN 'held' ELSE 'pending' END, 0,
       e.start_at, :now, :now, e.coalesce_key,
       CASE WHEN h.ordered THEN coalesce(
           CASE WHEN h.order_key IS NOT NULL THEN
               h.order_key || '=' || (e.variables::jsonb ->> h.order_key) END,
           CASE WHEN h.order_key IS NULL THEN
               'i_account=' || (e.variables::jsonb ->> 'i_account') END,
           CASE WHEN h.order_key IS NULL THEN
               'i_customer=' || (e.variables::jsonb ->> 'i_customer') END) END
FROM events e
JOIN subscriptions s ON s.i_event_type = e.i_event_type
JOIN handlers h ON h.i_handler = s.i_handler AND h.i_env = e.i_env AND h.enabled
WHERE e.i_event = ANY(:ids::bigint[])
-- A handler being deleted or disabled right now: wait for it, then see it
-- disabled, rather than add a delivery to a handler that is going away.
FOR SHARE OF h
ON CONFLICT DO NOTHING
RETURNING i_delivery, i_event, i_handler, state, coalesce_key, order_key;

-- name: event_mark_unrouted
UPDATE events SET state = 'unrouted'
WHERE i_event = ANY(:ids::bigint[])
  AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.i_event = events.i_event)
RETURNING i_event;

-- Ordering: a new delivery queues behind any earlier one of its key that is
-- not finished. On PostgreSQL callers hold the key's lock (ordering_key_lock in
-- backend_only.sql) so that this and the promotion below never miss each
-- other's uncommitted work.
-- name: delivery_queue_behind_key
UPDATE deliveries SET state = 'waiting'
WHERE i_delivery = ANY(:ids::bigint[])
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
    next_at = greatest(coalesce(next_at, :now), :now)
WHERE i_delivery = (SELECT i_delivery FROM deliveries
                    WHERE i_handler = :i_handler AND order_key = :order_key AND state = 'waiting'
                    ORDER BY i_event LIMIT 1)
  AND NOT EXISTS (SELECT 1 FROM deliveries active
                  WHERE active.i_handler = :i_handler AND active.order_key = :order_key
                    AND active.state IN ('pending', 'in_flight', 'held'))
RETURNING i_delivery, i_event;

-- "Only the latest event is processed": a delivery that has not gone out yet
-- is superseded when the same handler has one for a newer event of the same
-- type and account (the coalesce key carries both).
-- name: delivery_supersede_older
UPDATE deliveries SET state = 'superseded', finished_at = :now, next_at = NULL
WHERE coalesce_key IS NOT NULL AND state IN ('pending', 'held', 'waiting')
  AND (i_handler, coalesce_key) IN (SELECT i_handler, coalesce_key FROM deliveries
                                    WHERE i_delivery = ANY(:ids::bigint[]))
  AND EXISTS (SELECT 1 FROM deliveries newer
              WHERE newer.i_handler = deliveries.i_handler
                AND newer.coalesce_key = deliveries.coalesce_key
                AND newer.i_event > deliveries.i_event
                AND newer.state <> 'superseded')
RETURNING i_delivery, i_event, i_handler, order_key;

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
       d.budget_from_attempt, coalesce(d.budget_from_at, d.created_at),
       h.i_handler, h.i_env, h.name, h.kind, h.enabled, h.url, h.auth_method, h.login, h.password,
       h.auth_scheme, h.auth_token, h.auth_header, h.timeout_s, h.paused, h.paused_at,
       h.paused_reason, h.failing_since, h.auto_pause_after_s, h.retry_max_attempts,
       h.retry_max_age_s, h.retry_schedule, h.retry_base_s, h.retry_factor, h.retry_cap_s,
       h.ordered, h.order_key, h.signing_secrets, h.tls_verify, h.tls_ca_file, h.tls_client_cert,
       h.tls_client_key
FROM deliveries d
JOIN events e ON e.i_event = d.i_event
JOIN event_types t ON t.i_event_type = e.i_event_type
JOIN handlers h ON h.i_handler = d.i_handler
WHERE d.i_delivery = ANY(:ids::bigint[])
ORDER BY d.next_at;

-- An event's state follows its deliveries: any in flight, else any still to
-- go, else the worst final outcome.
-- name: event_refresh_state
UPDATE events SET state = (
    SELECT CASE
        WHEN count(*) = 0 THEN events.state
        WHEN count(*) FILTER (WHERE d.state = 'in_flight') > 0 THEN 'in_flight'
        WHEN count(*) FILTER (WHERE d.state IN ('pending', 'held', 'waiting')) > 0 THEN 'pending'
        WHEN count(*) FILTER (WHERE d.state = 'failed') > 0 THEN 'failed'
        WHEN count(*) FILTER (WHERE d.state = 'rejected') > 0 THEN 'rejected'
        WHEN count(*) FILTER (WHERE d.state = 'delivered') > 0 THEN 'delivered'
        WHEN count(*) FILTER (WHERE d.state = 'superseded') > 0 THEN 'superseded'
        ELSE 'cancelled' END
    FROM deliveries d WHERE d.i_event = events.i_event)
WHERE i_event = ANY(:ids::bigint[])
  AND state NOT IN ('scheduled', 'unrouted');

-- Claimed deliveries make their events in flight: the cheap form of
-- event_refresh_state for the one change a claim makes.
-- name: event_mark_in_flight
UPDATE events SET state = 'in_flight'
WHERE i_event = ANY(:ids::bigint[]) AND state = 'pending';

-- least() ignores NULLs: either side may have nothing waiting.
-- name: next_due_at
SELECT least((SELECT min(start_at) FROM events WHERE state = 'scheduled'),
             (SELECT min(next_at) FROM deliveries WHERE state = 'pending'));

-- A retry for a handler paused or disabled meanwhile is held, not pending.
-- The claimed_by guard ignores an outcome for a delivery another node has
-- taken over since (its attempt is still recorded).
-- name: delivery_record_outcome
UPDATE deliveries SET
    state = CASE WHEN :state::text = 'pending'
                  AND (SELECT NOT h.enabled OR h.paused FROM handlers h
                       WHERE h.i_handler = deliveries.i_handler)
                 THEN 'held' ELSE :state::text END,
    attempts = :attempt_no, next_at = :next_at, last_status = :status_code,
    last_error = :error, finished_at = :finished_at, claimed_by = NULL, claimed_at = NULL
WHERE i_delivery = :i_delivery AND state = 'in_flight' AND claimed_by = :node_id
RETURNING i_delivery, i_event, i_handler, order_key, state;

-- name: attempt_insert
INSERT INTO attempts (i_delivery, attempt_no, started_at, duration_ms, status_code, error, outcome)
VALUES (:i_delivery, :attempt_no, :started_at, :duration_ms, :status_code, :error, :outcome);

-- name: delivery_list_for_event
SELECT d.i_delivery, d.i_event, d.i_handler, h.name, d.state, d.attempts, d.next_at,
       d.finished_at, d.last_status, d.last_error, d.order_key, d.created_at
FROM deliveries d JOIN handlers h ON h.i_handler = d.i_handler
WHERE d.i_event = :i_event ORDER BY d.i_delivery;

-- name: delivery_get
SELECT d.i_delivery, d.i_event, d.i_handler, h.name, d.state, d.attempts, d.next_at,
       d.finished_at, d.last_status, d.last_error, d.order_key, d.created_at
FROM deliveries d JOIN handlers h ON h.i_handler = d.i_handler
WHERE d.i_delivery = :i_delivery AND (:i_env::bigint IS NULL OR h.i_env = :i_env);

-- An operator's retry: due now, with a fresh retry budget. Never for a
-- deleted handler: its secrets are gone and nobody expects its traffic.
-- name: delivery_reopen
UPDATE deliveries SET state = CASE WHEN (SELECT paused FROM handlers h
                                         WHERE h.i_handler = deliveries.i_handler)
                                   THEN 'held' ELSE 'pending' END,
    next_at = :now, finished_at = NULL, budget_from_attempt = attempts, budget_from_at = :now
WHERE i_delivery = ANY(:ids::bigint[])
  AND state IN ('pending', 'delivered', 'rejected', 'failed', 'cancelled', 'superseded')
  AND NOT EXISTS (SELECT 1 FROM handlers h
                  WHERE h.i_handler = deliveries.i_handler AND h.deleted_at IS NOT NULL)
RETURNING i_delivery, i_event, i_handler, order_key;

-- name: delivery_match_for_replay
SELECT d.i_delivery FROM deliveries d
JOIN handlers h ON h.i_handler = d.i_handler
JOIN events e ON e.i_event = d.i_event
JOIN event_types t ON t.i_event_type = e.i_event_type
WHERE h.i_env = :i_env AND h.deleted_at IS NULL
  AND d.state IN (SELECT jsonb_array_elements_text(:states::jsonb))
  AND (:handler::text IS NULL OR h.name = :handler)
  AND (:event_type::text IS NULL OR t.name = :event_type)
  AND (:var_name::text IS NULL OR (e.variables::jsonb ->> :var_name) = :var_value::text)
  AND (:created_from::bigint IS NULL OR e.created_at >= :created_from)
  AND (:created_to::bigint IS NULL OR e.created_at < :created_to)
ORDER BY d.i_event;

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

-- name: delivery_blocked_keys
SELECT head.i_handler, h.name, head.order_key, head.i_delivery, head.i_event, head.state,
       head.attempts, head.last_error,
       (SELECT count(*) FROM deliveries w WHERE w.i_handler = head.i_handler
          AND w.order_key = head.order_key AND w.state = 'waiting')
FROM deliveries head JOIN handlers h ON h.i_handler = head.i_handler
WHERE h.i_env = :i_env AND (:handler::text IS NULL OR h.name = :handler)
  AND head.order_key IS NOT NULL AND head.state IN ('pending', 'in_flight', 'held')
  AND EXISTS (SELECT 1 FROM deliveries w WHERE w.i_handler = head.i_handler
                AND w.order_key = head.order_key AND w.state = 'waiting')
ORDER BY h.name, head.order_key;

-- name: attempt_list_for_event
SELECT a.i_attempt, a.i_delivery, a.attempt_no, a.started_at, a.duration_ms, a.status_code,
       a.error, a.outcome
FROM attempts a JOIN deliveries d ON d.i_delivery = a.i_delivery
WHERE d.i_event = :i_event ORDER BY a.i_attempt;

-- What is due but not sent yet: scheduled events past their start time and
-- pending deliveries past their next attempt.
-- name: due_backlog
SELECT (SELECT count(*) FROM events WHERE state = 'scheduled' AND start_at <= :now)
     + (SELECT count(*) FROM deliveries WHERE state = 'pending' AND next_at <= :now),
       least((SELECT min(start_at) FROM events WHERE state = 'scheduled'),
             (SELECT min(next_at) FROM deliveries WHERE state = 'pending'));

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
    state = CASE WHEN (SELECT NOT h.enabled OR h.paused FROM handlers h
                       WHERE h.i_handler = deliveries.i_handler)
                 THEN 'held' ELSE 'pending' END,
    attempts = attempts + 1, next_at = :now, claimed_by = NULL, claimed_at = NULL
WHERE (SELECT mine FROM turn)
  AND state = 'in_flight'
  AND claimed_by NOT IN (SELECT node_id FROM nodes WHERE heartbeat_at >= :cutoff)
RETURNING i_delivery, attempts, claimed_at, i_event;

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
UNION ALL SELECT 'attempts', count(*) FROM attempts
UNION ALL SELECT 'transitions', count(*) FROM transitions
UNION ALL SELECT 'idempotency_keys', count(*) FROM idempotency_keys
UNION ALL SELECT 'deleted_event_types', count(*) FROM deleted_event_types
UNION ALL SELECT 'account_status_history', count(*) FROM account_status_history
UNION ALL SELECT 'account_statuses', count(*) FROM account_statuses;

-- name: copy_read_environments
SELECT i_env, name, created_at
FROM environments WHERE i_env > :after ORDER BY i_env LIMIT :limit;

-- name: copy_write_environments
INSERT INTO environments (i_env, name, created_at)
VALUES (:i_env, :name, :created_at);

-- name: copy_read_api_users
SELECT i_user, i_env, login, password_hash, role, created_at, weak_password
FROM api_users WHERE i_user > :after ORDER BY i_user LIMIT :limit;

-- name: copy_write_api_users
INSERT INTO api_users (i_user, i_env, login, password_hash, role, created_at, weak_password)
VALUES (:i_user, :i_env, :login, :password_hash, :role, :created_at,
        CAST(:weak_password AS integer) <> 0);

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
       auth_token, auth_header, timeout_s, created_at, updated_at, paused, paused_at,
       paused_reason, failing_since, auto_pause_after_s, retry_max_attempts, retry_max_age_s,
       retry_schedule, retry_base_s, retry_factor, retry_cap_s, ordered, order_key,
       signing_secrets, tls_verify, tls_ca_file, tls_client_cert, tls_client_key, deleted_at
FROM handlers WHERE i_handler > :after ORDER BY i_handler LIMIT :limit;

-- name: copy_write_handlers
INSERT INTO handlers (i_handler, i_env, name, kind, enabled, url, auth_method, login, password,
    auth_scheme, auth_token, auth_header, timeout_s, created_at, updated_at, paused, paused_at,
    paused_reason, failing_since, auto_pause_after_s, retry_max_attempts, retry_max_age_s,
    retry_schedule, retry_base_s, retry_factor, retry_cap_s, ordered, order_key,
    signing_secrets, tls_verify, tls_ca_file, tls_client_cert, tls_client_key, deleted_at)
VALUES (:i_handler, :i_env, :name, :kind, CAST(:enabled AS integer) <> 0, :url, :auth_method,
        :login, :password, :auth_scheme, :auth_token, :auth_header, :timeout_s, :created_at,
        :updated_at, CAST(:paused AS integer) <> 0, :paused_at, :paused_reason, :failing_since,
        :auto_pause_after_s, :retry_max_attempts, :retry_max_age_s, :retry_schedule,
        :retry_base_s, :retry_factor, :retry_cap_s, CAST(:ordered AS integer) <> 0, :order_key,
        :signing_secrets, CAST(:tls_verify AS integer) <> 0, :tls_ca_file, :tls_client_cert,
        :tls_client_key, :deleted_at);

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
       coalesce_key, created_by
FROM events WHERE i_event > :after ORDER BY i_event LIMIT :limit;

-- name: copy_write_events
INSERT INTO events (i_event, i_env, i_event_type, variables, start_at, created_at, state,
    dispatched_at, coalesce_key, created_by)
VALUES (:i_event, :i_env, :i_event_type, :variables, :start_at, :created_at, :state,
        :dispatched_at, :coalesce_key, :created_by);

-- name: copy_read_deliveries
SELECT i_delivery, i_event, i_handler, state, attempts, next_at, claimed_by, claimed_at,
       finished_at, last_status, last_error, coalesce_key, order_key, created_at,
       budget_from_attempt, budget_from_at
FROM deliveries WHERE i_delivery > :after ORDER BY i_delivery LIMIT :limit;

-- name: copy_write_deliveries
INSERT INTO deliveries (i_delivery, i_event, i_handler, state, attempts, next_at, claimed_by,
    claimed_at, finished_at, last_status, last_error, coalesce_key, order_key, created_at,
    budget_from_attempt, budget_from_at)
VALUES (:i_delivery, :i_event, :i_handler, :state, :attempts, :next_at, :claimed_by,
        :claimed_at, :finished_at, :last_status, :last_error, :coalesce_key, :order_key,
        :created_at, :budget_from_attempt, :budget_from_at);

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
-- -- Passwords, server keys, sessions and API tokens (migration 0004) ------------

-- name: user_set_password
UPDATE api_users SET password_hash = :password_hash, weak_password = :weak_password
WHERE i_env = :i_env AND login = :login
RETURNING i_user, i_env, login, password_hash, role, weak_password;

-- A new password ends every session of its user, on every node.
-- name: sessions_revoke_for_user
UPDATE sessions SET revoked_at = :now WHERE i_user = :i_user AND revoked_at IS NULL;

-- Two processes may ask at once: the first insert wins, both read its key.
-- name: server_key_insert
INSERT INTO server_keys (purpose, key, created_at) VALUES (:purpose, :key, :now)
ON CONFLICT (purpose) DO NOTHING;

-- name: server_key_get
SELECT key FROM server_keys WHERE purpose = :purpose;

-- name: session_insert
INSERT INTO sessions (session_id, i_user, i_api_token, refresh_hash, created_at, expires_at)
VALUES (:session_id, :i_user, :i_api_token, :refresh_hash, :now, :expires_at);

-- Sessions of a user that ended long enough ago go when it logs in again:
-- the table holds about one row per live session.
-- name: sessions_prune_for_user
DELETE FROM sessions
WHERE i_user = :i_user AND (expires_at < :now OR revoked_at < :now - 86400000);

-- name: session_get
SELECT s.session_id, u.i_user, u.i_env, u.login, u.password_hash, u.role, u.weak_password,
       s.i_api_token, s.refresh_hash, s.created_at, s.expires_at, s.revoked_at
FROM sessions s JOIN api_users u ON u.i_user = s.i_user
WHERE s.session_id = :session_id;

-- Only the holder of the current refresh token moves the session on: an
-- old refresh token, used again, finds nothing to update.
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

-- name: api_token_list
SELECT t.i_api_token, t.i_user, u.i_env, u.login, t.name, t.created_at, t.last_used_at
FROM api_tokens t JOIN api_users u ON u.i_user = t.i_user
WHERE (:i_env IS NULL OR u.i_env = :i_env) AND (:login IS NULL OR u.login = :login)
ORDER BY t.i_api_token;

-- name: api_token_find
SELECT t.i_api_token, u.i_user, u.i_env, u.login, u.password_hash, u.role, u.weak_password
FROM api_tokens t JOIN api_users u ON u.i_user = t.i_user
WHERE t.token_hash = :token_hash;

-- name: api_token_used
UPDATE api_tokens SET last_used_at = :now WHERE i_api_token = :i_api_token;

-- Its sessions go with it (ON DELETE CASCADE).
-- name: api_token_delete
DELETE FROM api_tokens
WHERE i_api_token = :i_api_token
  AND i_user = (SELECT i_user FROM api_users WHERE i_env = :i_env AND login = :login)
RETURNING i_api_token;

-- == The operator console (espf/web) ==========================================

-- event_list with the console's two extra narrowings: a subscribed handler
-- (one of the event's deliveries) and a start_time range.
-- name: console_event_list
SELECT e.i_event, e.i_env, t.name, e.variables, e.start_at, e.created_at, e.state,
       e.created_by
FROM events e JOIN event_types t ON t.i_event_type = e.i_event_type
WHERE (:i_env::bigint IS NULL OR e.i_env = :i_env)
  AND (:event_type::text IS NULL OR t.name = :event_type)
  AND (:state::text IS NULL OR e.state = :state)
  AND (:before::bigint IS NULL OR e.i_event < :before)
  AND (:var_name::text IS NULL OR (e.variables::jsonb ->> :var_name) = :var_value::text)
  AND (:created_from::bigint IS NULL OR e.created_at >= :created_from)
  AND (:created_to::bigint IS NULL OR e.created_at < :created_to)
  AND (:created_by::bigint IS NULL OR e.created_by = :created_by)
  AND (:start_from::bigint IS NULL OR e.start_at >= :start_from)
  AND (:start_to::bigint IS NULL OR e.start_at < :start_to)
  AND (:handler::text IS NULL OR EXISTS (
        SELECT 1 FROM deliveries d JOIN handlers h ON h.i_handler = d.i_handler
        WHERE d.i_event = e.i_event AND h.name = :handler AND h.i_env = e.i_env))
ORDER BY e.i_event DESC LIMIT :limit;

-- The same for i_account, the variable operators look for most: its expression
-- is the one the events_by_account index holds (migration 0005), so a filter by
-- account reads only that account's events instead of every event's JSON.
-- name: console_event_list_by_account
SELECT e.i_event, e.i_env, t.name, e.variables, e.start_at, e.created_at, e.state,
       e.created_by
FROM events e JOIN event_types t ON t.i_event_type = e.i_event_type
WHERE e.i_env = :i_env
  AND (:event_type::text IS NULL OR t.name = :event_type)
  AND (:state::text IS NULL OR e.state = :state)
  AND (:before::bigint IS NULL OR e.i_event < :before)
  AND (e.variables::jsonb ->> 'i_account') = :var_value::text
  AND (:created_from::bigint IS NULL OR e.created_at >= :created_from)
  AND (:created_to::bigint IS NULL OR e.created_at < :created_to)
  AND (:created_by::bigint IS NULL OR e.created_by = :created_by)
  AND (:start_from::bigint IS NULL OR e.start_at >= :start_from)
  AND (:start_to::bigint IS NULL OR e.start_at < :start_to)
  AND (:handler::text IS NULL OR EXISTS (
        SELECT 1 FROM deliveries d JOIN handlers h ON h.i_handler = d.i_handler
        WHERE d.i_event = e.i_event AND h.name = :handler AND h.i_env = e.i_env))
ORDER BY e.i_event DESC LIMIT :limit;

-- name: console_event_counts
SELECT state, events FROM console_event_states WHERE i_env = :i_env AND events <> 0;

-- A producer's own events: no summary per creator, so this one counts.
-- name: console_event_counts_by_creator
SELECT state, count(*) FROM events
WHERE i_env = :i_env AND created_by = :created_by
GROUP BY state;

-- Scheduled events becoming due within the next hour and the next day.
-- name: console_due_soon
SELECT count(*) FILTER (WHERE start_at < :hour_end), count(*) FROM events
WHERE state = 'scheduled' AND start_at >= :now AND start_at < :day_end
  AND i_env = :i_env AND (:created_by::bigint IS NULL OR created_by = :created_by);

-- Attempts per bucket and outcome, from the per-minute summary (migration 0005).
-- name: console_attempt_buckets
SELECT (minute / :bucket_ms::bigint) * :bucket_ms::bigint AS bucket, outcome, sum(attempts)
FROM console_attempt_minutes
WHERE i_env = :i_env AND minute >= :since AND minute < :until
GROUP BY bucket, outcome;

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
