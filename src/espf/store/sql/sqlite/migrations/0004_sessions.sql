-- Version 4: drop-in for existing Applications. Passwords below the length
-- rule that an operator allowed explicitly, keys the server signs with,
-- login sessions of Applications that use /rest/Session/, and API tokens.

-- 1 when the password was set below the length rule, allowed explicitly
-- (--allow-weak-password); shown in `user list` and the API.
ALTER TABLE api_users ADD COLUMN weak_password INTEGER NOT NULL DEFAULT 0;

-- Secret keys by purpose ('session': the HS256 key of access tokens), made
-- once by whichever process needs one first and then shared by every node.
CREATE TABLE server_keys (
    purpose    TEXT PRIMARY KEY,
    key        BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

-- Long-lived secrets a user can log in with instead of its password. Only
-- a SHA-256 of the token is kept: tokens are 256 random bits, so a slow
-- hash adds nothing, and the lookup is by hash.
CREATE TABLE api_tokens (
    i_api_token  INTEGER PRIMARY KEY AUTOINCREMENT,
    i_user       INTEGER NOT NULL REFERENCES api_users (i_user) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX api_tokens_by_user ON api_tokens (i_user);

-- A login session: access tokens name it (claim sid) and are honoured only
-- while it is neither revoked nor expired, so a logout or a password change
-- ends it on every node. The refresh token is kept as a SHA-256 only.
CREATE TABLE sessions (
    session_id   TEXT PRIMARY KEY,
    i_user       INTEGER NOT NULL REFERENCES api_users (i_user) ON DELETE CASCADE,
    i_api_token  INTEGER REFERENCES api_tokens (i_api_token) ON DELETE CASCADE,
    refresh_hash TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER
);
CREATE INDEX sessions_by_user ON sessions (i_user);
CREATE INDEX sessions_by_token ON sessions (i_api_token);
