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

-- name: user_list
SELECT i_user, i_env, login, password_hash, role, weak_password FROM api_users
WHERE :i_env::bigint IS NULL OR i_env = :i_env ORDER BY i_user;

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

-- name: handler_list
SELECT {handler_columns}
FROM handlers WHERE (:i_env::bigint IS NULL OR i_env = :i_env) AND deleted_at IS NULL
ORDER BY i_env, name;

-- name: handler_set_paused
UPDATE handlers SET paused = :paused, paused_at = :paused_at, paused_reason = :reason,
    failing_since = CASE WHEN :paused::boolean THEN failing_since END,
    failures_in_row = CASE WHEN :paused::boolean THEN failures_in_row ELSE 0 END, updated_at = :now
WHERE i_handler = :i_handler AND paused <> :paused::boolean;

-- name: subscription_insert_all
INSERT INTO subscriptions (i_handler, i_event_type)
SELECT :i_handler, i_event_type FROM event_types
ON CONFLICT DO NOTHING;

-- name: event_get
SELECT e.i_event, e.i_env, t.name, e.variables, e.start_at, e.created_at, e.state,
       e.created_by, e.local_start, e.time_zone
FROM events e JOIN event_types t ON t.i_event_type = e.i_event_type
WHERE e.i_event = :i_event AND (:i_env::bigint IS NULL OR e.i_env = :i_env);

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
                        budget_from_at, coalesce_key, limited, order_key)
SELECT e.i_event, h.i_handler, CASE WHEN h.paused THEN 'held' ELSE 'pending' END, 0,
       e.start_at, :now, :now, e.coalesce_key,
       EXISTS (SELECT 1 FROM handler_limits l WHERE l.i_handler = h.i_handler),
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
WHERE e.i_event {in_ids}
-- A handler being deleted or disabled right now: wait for it, then see it
-- disabled, rather than add a delivery to a handler that is going away.
FOR SHARE OF h
ON CONFLICT DO NOTHING
RETURNING i_delivery, i_event, i_handler, state, coalesce_key, order_key;

-- Claim and change state in one statement. SKIP LOCKED: two dispatchers
-- never wait for each other and never hold the same delivery; a row another
-- dispatcher has just claimed no longer matches state = 'pending' when
-- PostgreSQL re-reads it after the lock.
-- name: delivery_claim_due
WITH due AS MATERIALIZED (
    SELECT i_delivery FROM deliveries WHERE state = 'pending' AND limited = FALSE
      AND next_at <= :now
    ORDER BY next_at LIMIT :limit
    FOR UPDATE SKIP LOCKED
)
UPDATE deliveries d SET state = 'in_flight', claimed_by = :node_id, claimed_at = :now
FROM due WHERE d.i_delivery = due.i_delivery
RETURNING d.i_delivery;

-- Limited handlers with due work whose bucket is ready: the bucket, the
-- maintenance window, the handler. The limiter row stays locked until the
-- claim commits, so that nodes take a shared budget in turns; a node finding
-- it locked leaves that handler to the node holding it. The requests open
-- are counted by limiter_in_flight, a statement of its own: this one's
-- snapshot is taken before the lock is granted, so it would not see what
-- the node that held the lock has just claimed.
-- name: limiter_ready
SELECT l.tokens, l.refilled_at, l.window_from, l.window_until, l.effective_rate,
       l.circuit_opened_at, l.probe_at, l.probe_interval_ms, l.sender, l.sender_until,
       {handler_columns:h}
FROM handler_limits l JOIN handlers h ON h.i_handler = l.i_handler
WHERE l.ready_at <= :now
  AND EXISTS (SELECT 1 FROM deliveries d WHERE d.i_handler = l.i_handler
                AND d.state = 'pending' AND d.limited = TRUE AND d.next_at <= :now)
ORDER BY l.i_handler
FOR UPDATE OF l SKIP LOCKED;

-- name: delivery_claim_due_limited
WITH due AS MATERIALIZED (
    SELECT i_delivery FROM deliveries
    WHERE i_handler = :i_handler AND state = 'pending' AND limited = TRUE AND next_at <= :now
    ORDER BY next_at LIMIT :limit
    FOR UPDATE SKIP LOCKED
)
UPDATE deliveries d SET state = 'in_flight', claimed_by = :node_id, claimed_at = :now
FROM due WHERE d.i_delivery = due.i_delivery
RETURNING d.i_delivery;

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
WHERE i_event {in_ids}
  AND state NOT IN ('scheduled', 'unrouted');

-- least() ignores NULLs: either side may have nothing waiting.
-- A limited handler's work is due when its bucket is ready too; one with
-- every allowed request open waits for an outcome, which wakes its node.
-- Another node's turn at a rate-limited handler (rate_limits.py) lasts
-- until its sender_until. The second column says whether any handler has
-- limits (see SqlBackend._limiters_seen).
-- name: next_due_at
SELECT least((SELECT min(start_at) FROM events WHERE state = 'scheduled'),
             (SELECT min(next_at) FROM deliveries WHERE state = 'pending' AND limited = FALSE),
             (SELECT min(greatest(x.ready_at, x.due)) FROM (
                  SELECT greatest(l.ready_at, CASE WHEN l.sender <> :node_id
                                                   THEN l.sender_until ELSE 0 END) AS ready_at,
                         (SELECT min(d.next_at) FROM deliveries d
                                      WHERE d.i_handler = l.i_handler AND d.state = 'pending'
                                        AND d.limited = TRUE) AS due
                  FROM handler_limits l JOIN handlers h ON h.i_handler = l.i_handler
                  WHERE coalesce(h.max_in_flight, 0) = 0
                     OR (SELECT count(*) FROM deliveries f
                         WHERE f.i_handler = l.i_handler AND f.state = 'in_flight')
                        < h.max_in_flight) x
              WHERE x.due IS NOT NULL)),
       EXISTS (SELECT 1 FROM handler_limits);

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

-- name: delivery_get
SELECT d.i_delivery, d.i_event, d.i_handler, h.name, d.state, d.attempts, d.next_at,
       d.finished_at, d.last_status, d.last_error, d.order_key, d.created_at
FROM deliveries d JOIN handlers h ON h.i_handler = d.i_handler
WHERE d.i_delivery = :i_delivery AND (:i_env::bigint IS NULL OR h.i_env = :i_env);

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

-- What is due but not sent yet: scheduled events past their start time and
-- pending deliveries past their next attempt.
-- name: due_backlog
SELECT (SELECT count(*) FROM events WHERE state = 'scheduled' AND start_at <= :now)
     + (SELECT count(*) FROM deliveries WHERE state = 'pending' AND next_at <= :now),
       least((SELECT min(start_at) FROM events WHERE state = 'scheduled'),
             (SELECT min(next_at) FROM deliveries WHERE state = 'pending'));

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

-- greatest: of two reports racing, the later one stays current whichever
-- commits last.
-- name: account_status_set_current
INSERT INTO account_statuses (i_env, account_kind, account, service_group, i_status_change)
VALUES (:i_env, :account_kind, :account, :service_group, :i_status_change)
ON CONFLICT (i_env, account_kind, account, service_group)
DO UPDATE SET i_status_change = greatest(account_statuses.i_status_change,
                                         excluded.i_status_change);

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

-- name: copy_write_event_types
-- The target already has the built-in types (migrate adds them): keep those.
INSERT INTO event_types (i_event_type, name, builtin, created_at)
VALUES (:i_event_type, :name, CAST(:builtin AS integer) <> 0, :created_at)
ON CONFLICT (i_event_type) DO NOTHING;

-- -- Passwords, server keys, sessions and API tokens (migration 0004) ------------

-- name: user_insert
INSERT INTO api_users (i_env, login, password_hash, role, created_at, weak_password)
VALUES (:i_env, :login, :password_hash, :role, :now, :weak_password::boolean)
RETURNING i_user, i_env, login, password_hash, role, weak_password;

-- name: copy_write_api_users
INSERT INTO api_users (i_user, i_env, login, password_hash, role, created_at, weak_password)
VALUES (:i_user, :i_env, :login, :password_hash, :role, :created_at,
        CAST(:weak_password AS integer) <> 0);

-- name: user_set_password
UPDATE api_users SET password_hash = :password_hash, weak_password = :weak_password::boolean
WHERE i_env = :i_env AND login = :login
RETURNING i_user, i_env, login, password_hash, role, weak_password;

-- name: session_insert
INSERT INTO sessions (session_id, i_user, i_api_token, refresh_hash, created_at, expires_at)
VALUES (:session_id, :i_user, :i_api_token::bigint, :refresh_hash, :now, :expires_at);

-- name: sessions_prune_for_user
DELETE FROM sessions
WHERE i_user = :i_user
  AND (expires_at < :now OR revoked_at IS NOT NULL
       OR session_id NOT IN (SELECT session_id FROM sessions WHERE i_user = :i_user
                             ORDER BY created_at DESC, session_id LIMIT :keep::bigint - 1));

-- name: api_token_list
SELECT t.i_api_token, t.i_user, u.i_env, u.login, t.name, t.created_at, t.last_used_at
FROM api_tokens t JOIN api_users u ON u.i_user = t.i_user
WHERE (:i_env::bigint IS NULL OR u.i_env = :i_env)
  AND (:login::text IS NULL OR u.login = :login)
ORDER BY t.i_api_token;
-- The schedules due at :now, oldest first. SKIP LOCKED: several dispatcher
-- nodes share the due schedules instead of queueing behind each other.
-- name: schedule_claim_due
SELECT s.i_schedule, s.i_env, s.key, s.i_event_type, t.name, s.variables, s.rule, s.time_zone,
       s.start_at, s.end_at, s.catch_up, s.catch_up_window_s, s.paused, s.last_at, s.next_at,
       s.created_at, s.updated_at
FROM schedules s JOIN event_types t ON t.i_event_type = s.i_event_type
WHERE s.next_at IS NOT NULL AND s.next_at <= :now
ORDER BY s.next_at LIMIT :limit
FOR UPDATE OF s SKIP LOCKED;

-- name: schedule_occurrence_insert
INSERT INTO schedule_occurrences (i_schedule, at)
SELECT (o->>0)::bigint, (o->>1)::bigint FROM jsonb_array_elements(:occurrences::jsonb) AS o
ON CONFLICT DO NOTHING
RETURNING i_schedule, at;

-- name: schedule_event_insert
INSERT INTO events (i_env, i_event_type, variables, start_at, created_at, state, coalesce_key,
                    local_start, time_zone)
SELECT (e->>0)::bigint, (e->>1)::bigint, e->>2, (e->>3)::bigint, :now::bigint, 'scheduled',
       e->>4, e->>5, e->>6
FROM jsonb_array_elements(:events::jsonb) AS e;

-- name: schedule_advance
UPDATE schedules SET last_at = (a->>1)::bigint, next_at = (a->>2)::bigint
FROM jsonb_array_elements(:advances::jsonb) AS a
WHERE schedules.i_schedule = (a->>0)::bigint;
-- Retention (store/retention_plans.py). One node prunes at a time: a
-- transaction-scoped advisory lock, given up at commit; a node that does
-- not get it skips this round. The key names the schema: one installation per schema.
-- name: prune_try_lock
SELECT pg_try_advisory_xact_lock(hashtext(current_schema() || '.espf_prune'));

-- The candidates' rows are locked (rows a live transaction holds are left
-- for the next round), so that a replay waits for the prune or the prune
-- for the replay, never half of each.
-- name: prune_candidates
SELECT e.i_event FROM events e
WHERE e.state = :state AND e.created_at < :cutoff
  AND (CAST(:only_env AS BIGINT) IS NULL OR e.i_env = CAST(:only_env AS BIGINT)) AND NOT (e.i_env {in_ids})
  AND NOT EXISTS (
    SELECT 1 FROM deliveries d WHERE d.i_event = e.i_event
      AND (d.state NOT IN ('delivered', 'rejected', 'failed', 'cancelled', 'superseded')
           OR d.finished_at IS NULL OR d.finished_at >= :cutoff))
  AND NOT EXISTS (SELECT 1 FROM transitions t WHERE t.i_event = e.i_event AND t.at >= :cutoff)
ORDER BY e.created_at LIMIT :limit
FOR UPDATE OF e SKIP LOCKED;

-- The installation's tables with their indexes and TOAST, in its schema;
-- the space autovacuum made reusable inside them is not told apart.
-- name: stats_database_size
SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint, NULL::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind = 'r';

-- An account's events (store/account_history.py): those whose variables
-- name its i_account. No index: export and expunge are rare requests.
-- name: account_event_ids
SELECT i_event FROM events
WHERE i_env = :i_env AND (variables::jsonb ->> 'i_account') = :account::text
ORDER BY i_event;

-- Locked, so that a claim in progress finishes first and is then seen as
-- in flight (expunge refuses), rather than its delivery vanishing under it.
-- name: account_deliveries_lock
SELECT i_delivery, state FROM deliveries WHERE i_event {in_ids} ORDER BY i_delivery FOR UPDATE;

-- == The operator console (espf/web) ==========================================

-- Events, newest first, by every filter of the API's event/list and the
-- console's two more: a subscribed handler (one of the event's deliveries)
-- and a start_time range. The API's list passes NULL for those two.
-- name: console_event_list
SELECT e.i_event, e.i_env, t.name, e.variables, e.start_at, e.created_at, e.state,
       e.created_by, e.local_start, e.time_zone
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
-- is the one the events_by_account index holds (migration 0008), so a filter by
-- account reads only that account's events instead of every event's JSON.
-- name: console_event_list_by_account
SELECT e.i_event, e.i_env, t.name, e.variables, e.start_at, e.created_at, e.state,
       e.created_by, e.local_start, e.time_zone
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

-- Scheduled events becoming due within the next hour and the next day.
-- name: console_due_soon
SELECT count(*) FILTER (WHERE start_at < :hour_end), count(*) FROM events
WHERE state = 'scheduled' AND start_at >= :now AND start_at < :day_end
  AND i_env = :i_env AND (:created_by::bigint IS NULL OR created_by = :created_by);

-- Attempts per bucket and outcome, from the per-minute summary (migration 0008).
-- name: console_attempt_buckets
SELECT (minute / :bucket_ms::bigint) * :bucket_ms::bigint AS bucket, outcome, sum(attempts)
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
WHERE s.i_env = :i_env AND (s.variables::jsonb ->> 'i_account') = :i_account::text
ORDER BY s.i_schedule LIMIT :limit;
