"""What the store keeps about logins other than a password: API tokens and
the sessions of Applications that log in through ``/rest/Session/``."""

from __future__ import annotations

from dataclasses import dataclass

from espf.domain import ApiUser


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A long-lived secret a user can log in with instead of its password.
    The token itself is shown once, at creation; only its hash is kept."""

    i_api_token: int
    i_user: int
    i_env: int
    login: str
    name: str
    created_at: int
    last_used_at: int | None


@dataclass(frozen=True, slots=True)
class StoredSession:
    """A login session and its user, as the store has them now."""

    session_id: str
    user: ApiUser
    i_api_token: int | None
    refresh_hash: str
    created_at: int
    expires_at: int
    revoked_at: int | None

    def live(self, now_ms: int) -> bool:
        return self.revoked_at is None and now_ms < self.expires_at
