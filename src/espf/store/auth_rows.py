"""Rows of the session and API token queries (migration 0004) as records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from espf.auth_records import ApiToken, StoredSession
from espf.domain import ApiUser, Role

Row = Sequence[Any]


def user_at(row: Row, start: int) -> ApiUser:
    """An ApiUser from the columns i_user, i_env, login, password_hash, role,
    weak_password beginning at ``start``."""
    return ApiUser(
        i_user=row[start],
        i_env=row[start + 1],
        login=row[start + 2],
        password_hash=row[start + 3],
        role=Role(row[start + 4]),
        weak_password=bool(row[start + 5]),
    )


def stored_session(row: Row) -> StoredSession:
    return StoredSession(
        session_id=row[0],
        user=user_at(row, 1),
        i_api_token=row[7],
        refresh_hash=row[8],
        created_at=row[9],
        expires_at=row[10],
        revoked_at=row[11],
    )


def api_token(row: Row) -> ApiToken:
    return ApiToken(
        i_api_token=row[0],
        i_user=row[1],
        i_env=row[2],
        login=row[3],
        name=row[4],
        created_at=row[5],
        last_used_at=row[6],
    )
