"""API user passwords: Argon2id hashes, and a short-lived cache of verified
credentials so that Basic auth does not cost a slow hash on every request."""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from espf.domain import ApiUser
from espf.errors import BadRequest

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this when the login is unknown keeps the answer's
    timing the same as for a wrong password, so logins cannot be probed by
    timing. Made on first need, not at import: an Argon2 hash costs a good
    part of a second of start-up on a busy machine."""
    return _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-time check; False for an unknown user (``password_hash=None``)."""
    try:
        _hasher.verify(password_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


def generate_password() -> str:
    return secrets.token_urlsafe(18)


class CredentialCache:
    """Verified (login, password) pairs, remembered for ``ttl_s`` seconds.

    The key is an HMAC of the credential under a per-process random key: the
    cache never holds a password, and a memory dump does not give one away.
    """

    def __init__(self, ttl_s: float, max_entries: int = 10_000) -> None:
        self._ttl = ttl_s
        self._max = max_entries
        self._key = secrets.token_bytes(32)
        self._entries: dict[bytes, tuple[ApiUser, float]] = {}

    def digest(self, login: str, password: str) -> bytes:
        message = login.encode() + b"\0" + password.encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def get(self, login: str, password: str) -> ApiUser | None:
        digest = self.digest(login, password)
        entry = self._entries.get(digest)
        if entry is None:
            return None
        user, expires = entry
        if time.monotonic() >= expires:
            del self._entries[digest]
            return None
        return user

    def put(self, login: str, password: str, user: ApiUser) -> None:
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[self.digest(login, password)] = (user, time.monotonic() + self._ttl)

    def clear(self) -> None:
        self._entries.clear()


MIN_PASSWORD_LENGTH = 8
_log = logging.getLogger("espf.users")


def check_new_password(login: str, password: str, allow_weak: bool) -> bool:
    """Apply the length rule to a password being set; return whether it is
    weak (shorter than the rule, allowed explicitly). Existing Applications
    may have credentials nobody can change on the day of a migration: the
    operator may keep them, but knowingly, and the log says so."""
    if not password:
        raise BadRequest("the password is empty", code="invalid_password")
    if len(password) >= MIN_PASSWORD_LENGTH:
        return False
    if not allow_weak:
        raise BadRequest(
            f"password must be at least {MIN_PASSWORD_LENGTH} characters long; to keep an "
            "existing Application's shorter password, allow it explicitly: "
            '--allow-weak-password (CLI) or "allow_weak_password": true (API)',
            code="weak_password",
        )
    _log.warning(
        "user %r gets a password shorter than %d characters: allowed explicitly "
        "(allow_weak_password)",
        login,
        MIN_PASSWORD_LENGTH,
    )
    return True
