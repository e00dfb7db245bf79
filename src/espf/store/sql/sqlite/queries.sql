-- SQLite queries, loaded by name (see espf/store/sql_loader.py).
-- Instants are epoch milliseconds; parameters are named (:name).

-- name: env_insert
INSERT INTO environments (i_env, name, created_at) VALUES (:i_env, :name, :now)
RETURNING i_env, name;

-- name: user_list
SELECT i_user, i_env, login, password_hash, role, weak_password FROM api_users
WHERE :i_env IS NULL OR i_env = :i_env ORDER BY i_user;

-- name: user_set_role
UPDATE api_users SET role = :role
WHERE i_env = :i_env AND login = :login
  AND (:role = 'admin' OR role != 'admin'
       OR (SELECT count(*) FROM api_users WHERE i_env = :i_env AND role = 'admin') > 1)
RETURNING i_user, i_env, login, password_hash, role, weak_password;

-- name: event_type_insert_builtin
INSERT INTO event_types (i_event_type, name, builtin, created_at) VALUES (:i_event_type, :name, 1, :now)
ON CONFLICT DO NOTHING;

-- Deleted types' ids count too: an id is never given twice.
-- name: event_type_next_custom_id
SELECT max(:first_custom_id, coalesce(max(i_event_type) + 1, 0)) FROM (
    SELECT i_event_type FROM event_types WHERE i_event_type >= :first_custom_id
    UNION ALL
    SELECT i_event_type FROM deleted_event_types);

-- name: event_type_insert_custom
INSERT INTO event_types (i_event_type, name, builtin, created_at) VALUES (:i_event_type, :name, 0, :now)
RETURNING i_event_type, name, builtin;

-- name: handler_list
SELECT {handler_columns}
FROM handlers WHERE (:i_env IS NULL OR i_env = :i_env) AND deleted_at IS NULL
ORDER BY i_env, name;

-- name: handler_set_paused
UPDATE handlers SET paused = :paused, paused_at = :paused_at, paused_reason = :reason,
    failing_since = CASE WHEN :paused THEN failing_since END,
    failures_in_row = CASE WHEN :paused THEN failures_in_row ELSE 0 END, updated_at = :now
WHERE i_handler = :i_handler AND paused != :paused;

-- name: subscription_insert_all
INSERT INTO subscriptions (i_handler, i_event_type)
SELECT :i_handler, i_event_type FROM event_types WHERE true
ON CONFLICT DO NOTHING;

-- name: event_get
SELECT e.i_event, e.i_env, t.name, e.variables, e.start_at, e.created_at, e.state,
       e.created_by, e.local_start, e.time_zone
FROM events e JOIN event_types t ON t.i_event_type = e.i_event_type
WHERE e.i_event = :i_event AND (:i_env IS NULL OR e.i_env = :i_env);

-- Take the due events off the schedule, oldest first.
-- name: event_take_due
UPDATE events SET state = 'pending', dispatched_at = :now
WHERE i_event IN (SELECT i_event FROM events WHERE state = 'scheduled' AND start_at <= :now
                  ORDER BY start_at LIMIT :limit)
RETURNING i_event;

-- One delivery for every enabled handler subscribed to the event's type in the
-- event's environment, decided when the event is due, not when it was created.
-- A paused handler's delivery is held. An ordered handler's delivery carries
-- its key: the handler's variable, or by default i_account, else i_customer.
-- name: delivery_fan_out
INSERT INTO deliveries (i_event, i_handler, state, attempts, next_at, created_at,
                        budget_from_at, coalesce_key, limited, order_key)
SELECT e.i_event, h.i_handler, CASE WHEN h.paused THEN 'held' ELSE 'pending' END, 0,
       e.start_at, :now, :now, e.coalesce_key,
       EXISTS (SELECT 1 FROM handler_limits l WHERE l.i_handler = h.i_handler),
       CASE WHEN h.ordered THEN coalesce(
           CASE WHEN h.order_key IS NOT NULL THEN
               h.order_key || '=' || json_extract(e.variables, '$."' || h.order_key || '"') END,
           CASE WHEN h.order_key IS NULL THEN
               'i_account=' || json_extract(e.variables, '$.i_account') END,
           CASE WHEN h.order_key IS NULL THEN
               'i_customer=' || json_extract(e.variables, '$.i_customer') END) END
FROM events e
JOIN subscriptions s ON s.i_event_type = e.i_event_type
JOIN handlers h ON h.i_handler = s.i_handler AND h.i_env = e.i_env AND h.enabled = 1
WHERE e.i_event {in_ids}
ON CONFLICT DO NOTHING
RETURNING i_delivery, i_event, i_handler, state, coalesce_key, order_key;

-- name: delivery_claim_due
UPDATE deliveries SET state = 'in_flight', claimed_by = :node_id, claimed_at = :now
WHERE i_delivery IN (SELECT i_delivery FROM deliveries
                     WHERE state = 'pending' AND limited = FALSE AND next_at <= :now
                     ORDER BY next_at LIMIT :limit)
RETURNING i_delivery;

-- Limited handlers with due work whose bucket is ready: the bucket, the
-- maintenance window, the handler (the requests open: limiter_in_flight).
-- name: limiter_ready
SELECT l.tokens, l.refilled_at, l.window_from, l.window_until, l.effective_rate,
       l.circuit_opened_at, l.probe_at, l.probe_interval_ms, l.sender, l.sender_until,
       {handler_columns:h}
FROM handler_limits l JOIN handlers h ON h.i_handler = l.i_handler
WHERE l.ready_at <= :now
  AND EXISTS (SELECT 1 FROM deliveries d WHERE d.i_handler = l.i_handler
                AND d.state = 'pending' AND d.limited = TRUE AND d.next_at <= :now)
ORDER BY l.i_handler;

-- name: delivery_claim_due_limited
UPDATE deliveries SET state = 'in_flight', claimed_by = :node_id, claimed_at = :now
WHERE i_delivery IN (SELECT i_delivery FROM deliveries
                     WHERE i_handler = :i_handler AND state = 'pending' AND limited = TRUE
                       AND next_at <= :now
                     ORDER BY next_at LIMIT :limit)
RETURNING i_delivery;

-- An event's state follows its deliveries: any in flight, else any still to
-- go, else the worst final outcome.
-- name: event_refresh_state
UPDATE events SET state = (
    SELECT CASE
        WHEN count(*) = 0 THEN events.state
        WHEN sum(d.state = 'in_flight') > 0 THEN 'in_flight'
        WHEN sum(d.state IN ('pending', 'held', 'waiting')) > 0 THEN 'pending'
        WHEN sum(d.state = 'failed') > 0 THEN 'failed'
        WHEN sum(d.state = 'rejected') > 0 THEN 'rejected'
        WHEN sum(d.state = 'delivered') > 0 THEN 'delivered'
        WHEN sum(d.state = 'superseded') > 0 THEN 'superseded'
        ELSE 'cancelled' END
    FROM deliveries d WHERE d.i_event = events.i_event)
WHERE i_event {in_ids}
  AND state NOT IN ('scheduled', 'unrouted');

-- A limited handler's work is due when its bucket is ready too; one with
-- every allowed request open waits for an outcome, which wakes its node.
-- Another node's turn at a rate-limited handler (rate_limits.py) lasts
-- until its sender_until. The second column says whether any handler has
-- limits (see SqlBackend._limiters_seen).
-- name: next_due_at
SELECT min(due), EXISTS (SELECT 1 FROM handler_limits) FROM (
    SELECT min(start_at) AS due FROM events WHERE state = 'scheduled'
    UNION ALL
    SELECT min(next_at) FROM deliveries WHERE state = 'pending' AND limited = FALSE
    UNION ALL
    SELECT max(l.ready_at,
               CASE WHEN l.sender <> :node_id THEN l.sender_until ELSE 0 END,
               (SELECT min(d.next_at) FROM deliveries d
                WHERE d.i_handler = l.i_handler AND d.state = 'pending' AND d.limited = TRUE))
    FROM handler_limits l JOIN handlers h ON h.i_handler = l.i_handler
    WHERE coalesce(h.max_in_flight, 0) = 0
       OR (SELECT count(*) FROM deliveries f
           WHERE f.i_handler = l.i_handler AND f.state = 'in_flight') < h.max_in_flight
);

-- A retry for a handler paused or disabled meanwhile is held, not pending.
-- The claimed_by guard ignores an outcome for a delivery another node has
-- taken over since (its attempt is still recorded).
-- name: delivery_record_outcome
UPDATE deliveries SET
    state = CASE WHEN :state = 'pending'
                  AND (SELECT NOT h.enabled OR h.paused FROM handlers h
                       WHERE h.i_handler = deliveries.i_handler)
                 THEN 'held' ELSE :state END,
    attempts = :attempt_no, next_at = :next_at, last_status = :status_code,
    last_error = :error, finished_at = :finished_at, claimed_by = NULL, claimed_at = NULL
WHERE i_delivery = :i_delivery AND state = 'in_flight' AND claimed_by = :node_id
RETURNING i_delivery, i_event, i_handler, order_key, state;

-- name: delivery_get
SELECT d.i_delivery, d.i_event, d.i_handler, h.name, d.state, d.attempts, d.next_at,
       d.finished_at, d.last_status, d.last_error, d.order_key, d.created_at
FROM deliveries d JOIN handlers h ON h.i_handler = d.i_handler
WHERE d.i_delivery = :i_delivery AND (:i_env IS NULL OR h.i_env = :i_env);

-- name: delivery_match_for_replay
SELECT d.i_delivery FROM deliveries d
JOIN handlers h ON h.i_handler = d.i_handler
JOIN events e ON e.i_event = d.i_event
JOIN event_types t ON t.i_event_type = e.i_event_type
WHERE h.i_env = :i_env AND h.deleted_at IS NULL
  AND d.state IN (SELECT value FROM json_each(:states))
  AND (:handler IS NULL OR h.name = :handler)
  AND (:event_type IS NULL OR t.name = :event_type)
  AND (:var_name IS NULL OR CAST(json_extract(e.variables, '$."' || :var_name || '"') AS TEXT) = :var_value)
  AND (:created_from IS NULL OR e.created_at >= :created_from)
  AND (:created_to IS NULL OR e.created_at < :created_to)
ORDER BY d.i_event;

-- name: delivery_blocked_keys
SELECT head.i_handler, h.name, head.order_key, head.i_delivery, head.i_event, head.state,
       head.attempts, head.last_error,
       (SELECT count(*) FROM deliveries w WHERE w.i_handler = head.i_handler
          AND w.order_key = head.order_key AND w.state = 'waiting')
FROM deliveries head JOIN handlers h ON h.i_handler = head.i_handler
WHERE h.i_env = :i_env AND (:handler IS NULL OR h.name = :handler)
  AND head.order_key IS NOT NULL AND head.state IN ('pending', 'in_flight', 'held')
  AND EXISTS (SELECT 1 FROM deliveries w WHERE w.i_handler = head.i_handler
                AND w.order_key = head.order_key AND w.state = 'waiting')
ORDER BY h.name, head.order_key;

-- What is due but not sent yet: scheduled events past their start time and
-- pending deliveries past their next attempt.
-- name: due_backlog
SELECT (SELECT count(*) FROM events WHERE state = 'scheduled' AND start_at <= :now)
     + (SELECT count(*) FROM deliveries WHERE state = 'pending' AND next_at <= :now),
       (SELECT min(due) FROM (
            SELECT min(start_at) AS due FROM events WHERE state = 'scheduled'
            UNION ALL
            SELECT min(next_at) FROM deliveries WHERE state = 'pending'));

-- In-flight deliveries whose node is dead (stale heartbeat, or gone) go back
-- to pending, due at once; that is what makes delivery at-least-once. The
-- lost request counts as an attempt: it may well have reached the Application.
-- name: delivery_rescue_orphans
UPDATE deliveries SET
    state = CASE WHEN (SELECT NOT h.enabled OR h.paused FROM handlers h
                       WHERE h.i_handler = deliveries.i_handler)
                 THEN 'held' ELSE 'pending' END,
    attempts = attempts + 1, next_at = :now, claimed_by = NULL, claimed_at = NULL
WHERE state = 'in_flight'
  AND claimed_by NOT IN (SELECT node_id FROM nodes WHERE heartbeat_at >= :cutoff)
RETURNING i_delivery, attempts, claimed_at, i_event;

-- Copying a whole database (see common/queries.sql): the writes that differ.
-- Booleans from PostgreSQL are stored as 0/1, as everywhere on SQLite.

-- name: copy_write_event_types
-- The target already has the built-in types (migrate adds them): keep those.
INSERT INTO event_types (i_event_type, name, builtin, created_at)
VALUES (:i_event_type, :name, :builtin, :created_at)
ON CONFLICT (i_event_type) DO NOTHING;

-- name: account_status_set_current
INSERT INTO account_statuses (i_env, account_kind, account, service_group, i_status_change)
VALUES (:i_env, :account_kind, :account, :service_group, :i_status_change)
ON CONFLICT (i_env, account_kind, account, service_group)
DO UPDATE SET i_status_change = max(account_statuses.i_status_change, excluded.i_status_change);

-- name: account_status_history
SELECT i_status_change, service_group, status, message, reported_at, reported_by
FROM account_status_history
WHERE i_env = :i_env AND account_kind = :account_kind AND account = :account
  AND (:service_group IS NULL OR service_group = :service_group)
  AND (:before IS NULL OR i_status_change < :before)
ORDER BY i_status_change DESC LIMIT :limit;

-- -- Passwords, server keys, sessions and API tokens (migration 0004) ------------

-- name: user_insert
INSERT INTO api_users (i_env, login, password_hash, role, created_at, weak_password)
VALUES (:i_env, :login, :password_hash, :role, :now, :weak_password)
RETURNING i_user, i_env, login, password_hash, role, weak_password;

-- name: copy_write_api_users
INSERT INTO api_users (i_user, i_env, login, password_hash, role, created_at, weak_password)
VALUES (:i_user, :i_env, :login, :password_hash, :role, :created_at, :weak_password);

-- name: user_set_password
UPDATE api_users SET password_hash = :password_hash, weak_password = :weak_password
WHERE i_env = :i_env AND login = :login
RETURNING i_user, i_env, login, password_hash, role, weak_password;

-- name: session_insert
INSERT INTO sessions (session_id, i_user, i_api_token, refresh_hash, created_at, expires_at)
VALUES (:session_id, :i_user, :i_api_token, :refresh_hash, :now, :expires_at);

-- name: sessions_prune_for_user
DELETE FROM sessions
WHERE i_user = :i_user
  AND (expires_at < :now OR revoked_at IS NOT NULL
       OR session_id NOT IN (SELECT session_id FROM sessions WHERE i_user = :i_user
                             ORDER BY created_at DESC, session_id LIMIT :keep - 1));

-- name: api_token_list
SELECT t.i_api_token, t.i_user, u.i_env, u.login, t.name, t.created_at, t.last_used_at
FROM api_tokens t JOIN api_users u ON u.i_user = t.i_user
WHERE (:i_env IS NULL OR u.i_env = :i_env) AND (:login IS NULL OR u.login = :login)
ORDER BY t.i_api_token;
-- The schedules due at :now, oldest first; the one writer needs no lock.
-- name: schedule_claim_due
SELECT s.i_schedule, s.i_env, s.key, s.i_event_type, t.name, s.variables, s.rule, s.time_zone,
       s.start_at, s.end_at, s.catch_up, s.catch_up_window_s, s.paused, s.last_at, s.next_at,
       s.created_at, s.updated_at
FROM schedules s JOIN event_types t ON t.i_event_type = s.i_event_type
WHERE s.next_at IS NOT NULL AND s.next_at <= :now
ORDER BY s.next_at LIMIT :limit;

-- The identity of each occurrence; those already there come back as nothing.
-- :occurrences is a JSON array of [i_schedule, at].
-- name: schedule_occurrence_insert
INSERT INTO schedule_occurrences (i_schedule, at)
SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:occurrences)
WHERE true
ON CONFLICT DO NOTHING
RETURNING i_schedule, at;

-- :events is a JSON array of [i_env, i_event_type, variables, start_at, coalesce_key,
-- local_start, time_zone].
-- name: schedule_event_insert
INSERT INTO events (i_env, i_event_type, variables, start_at, created_at, state, coalesce_key,
                    local_start, time_zone)
SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
       json_extract(value, '$[3]'), :now, 'scheduled', json_extract(value, '$[4]'),
       json_extract(value, '$[5]'), json_extract(value, '$[6]')
FROM json_each(:events);

-- :advances is a JSON array of [i_schedule, last_at, next_at].
-- name: schedule_advance
UPDATE schedules SET last_at = json_extract(a.value, '$[1]'), next_at = json_extract(a.value, '$[2]')
FROM json_each(:advances) AS a
WHERE schedules.i_schedule = json_extract(a.value, '$[0]');
-- Retention (store/retention_plans.py): SQLite's one writer needs no lock
-- and no row locks.
-- name: prune_try_lock
SELECT 1;

-- name: prune_candidates
SELECT e.i_event FROM events e
WHERE e.state = :state AND e.created_at < :cutoff
  AND (CAST(:only_env AS BIGINT) IS NULL OR e.i_env = CAST(:only_env AS BIGINT)) AND NOT (e.i_env {in_ids})
  AND NOT EXISTS (
    SELECT 1 FROM deliveries d WHERE d.i_event = e.i_event
      AND (d.state NOT IN ('delivered', 'rejected', 'failed', 'cancelled', 'superseded')
           OR d.finished_at IS NULL OR d.finished_at >= :cutoff))
  AND NOT EXISTS (SELECT 1 FROM transitions t WHERE t.i_event = e.i_event AND t.at >= :cutoff)
ORDER BY e.created_at LIMIT :limit;

-- The file's size and its free pages (reused before the file grows).
-- name: stats_database_size
SELECT c.page_count * s.page_size, f.freelist_count * s.page_size
FROM pragma_page_count() AS c, pragma_page_size() AS s, pragma_freelist_count() AS f;

-- An account's events (store/account_history.py): those whose variables
-- name its i_account. No index: export and expunge are rare requests.
-- name: account_event_ids
SELECT i_event FROM events
WHERE i_env = :i_env AND CAST(json_extract(variables, '$.i_account') AS TEXT) = :account
ORDER BY i_event;

-- name: account_deliveries_lock
SELECT i_delivery, state FROM deliveries WHERE i_event {in_ids} ORDER BY i_delivery;

-- == The operator console (espf/web) ==========================================

-- Events, newest first, by every filter of the API's event/list and the
-- console's two more: a subscribed handler (one of the event's deliveries)
-- and a start_time range. The API's list passes NULL for those two.
-- name: console_event_list
SELECT e.i_event, e.i_env, t.name, e.variables, e.start_at, e.created_at, e.state,
       e.created_by, e.local_start, e.time_zone
FROM events e JOIN event_types t ON t.i_event_type = e.i_event_type
WHERE (:i_env IS NULL OR e.i_env = :i_env)
  AND (:event_type IS NULL OR t.name = :event_type)
  AND (:state IS NULL OR e.state = :state)
  AND (:before IS NULL OR e.i_event < :before)
  AND (:var_name IS NULL OR CAST(json_extract(e.variables, '$."' || :var_name || '"') AS TEXT) = :var_value)
  AND (:created_from IS NULL OR e.created_at >= :created_from)
  AND (:created_to IS NULL OR e.created_at < :created_to)
  AND (:created_by IS NULL OR e.created_by = :created_by)
  AND (:start_from IS NULL OR e.start_at >= :start_from)
  AND (:start_to IS NULL OR e.start_at < :start_to)
  AND (:handler IS NULL OR EXISTS (
        SELECT 1 FROM deliveries d JOIN handlers h ON h.i_handler = d.i_handler
        WHERE d.i_event = e.i_event AND h.name = :handler AND h.i_env = e.i_env))
ORDER BY e.i_event DESC LIMIT :limit;

-- The same for i_account, the variable operators look for most: its expression
-- is the one the events_by_account index holds (migration 0008), so a filter by
-- account reads only that account's events instead of every event's JSON.
-- name: console_event_list_by_account
SELECT e.i_event, e.i_env, t.name, e.variables, e.start_at, e.created_at, e.state,
       e.created_by, e.local_start, e.time_zone
FROM events e JOIN event_types t ON t.i_event_type = e.i_event_type
WHERE e.i_env = :i_env
  AND (:event_type IS NULL OR t.name = :event_type)
  AND (:state IS NULL OR e.state = :state)
  AND (:before IS NULL OR e.i_event < :before)
  AND CAST(json_extract(e.variables, '$.i_account') AS TEXT) = :var_value
  AND (:created_from IS NULL OR e.created_at >= :created_from)
  AND (:created_to IS NULL OR e.created_at < :created_to)
  AND (:created_by IS NULL OR e.created_by = :created_by)
  AND (:start_from IS NULL OR e.start_at >= :start_from)
  AND (:start_to IS NULL OR e.start_at < :start_to)
  AND (:handler IS NULL OR EXISTS (
        SELECT 1 FROM deliveries d JOIN handlers h ON h.i_handler = d.i_handler
        WHERE d.i_event = e.i_event AND h.name = :handler AND h.i_env = e.i_env))
ORDER BY e.i_event DESC LIMIT :limit;

-- Scheduled events becoming due within the next hour and the next day.
-- name: console_due_soon
SELECT coalesce(sum(start_at < :hour_end), 0), count(*) FROM events
WHERE state = 'scheduled' AND start_at >= :now AND start_at < :day_end
  AND i_env = :i_env AND (:created_by IS NULL OR created_by = :created_by);

-- Attempts per bucket and outcome, from the per-minute summary (migration 0008).
-- name: console_attempt_buckets
SELECT (minute / :bucket_ms) * :bucket_ms AS bucket, outcome, sum(attempts)
FROM console_attempt_minutes
WHERE i_env = :i_env AND minute >= :since AND minute < :until
GROUP BY bucket, outcome;

-- An account's schedules, oldest first: the expression is the one the
-- schedules_by_account index holds (migration 0009).
-- name: console_account_schedules
SELECT s.i_schedule, s.i_env, s.key, s.i_event_type, t.name, s.variables, s.rule, s.time_zone,
       s.start_at, s.end_at, s.catch_up, s.catch_up_window_s, s.paused, s.last_at, s.next_at,
       s.created_at, s.updated_at
FROM schedules s JOIN event_types t ON t.i_event_type = s.i_event_type
WHERE s.i_env = :i_env AND CAST(json_extract(s.variables, '$.i_account') AS TEXT) = :i_account
ORDER BY s.i_schedule LIMIT :limit;
