-- Version 10: the console's account page lists the account's schedules
-- (console_account_schedules): the same expression as the query, so it reads
-- that account's schedules instead of every schedule's variables.
CREATE INDEX schedules_by_account
    ON schedules (i_env, CAST(json_extract(variables, '$.i_account') AS TEXT), i_schedule);
