"""The console's session cookie: signed, idle expiry, bound to the user's
current password and id."""

from __future__ import annotations

import time

import pytest

from espf.domain import ApiUser, Role
from espf.web.session import IDLE_S, SessionCodec, belongs_to

USER = ApiUser(i_user=7, i_env=1, login="ops", password_hash="$argon2id$one", role=Role.ADMIN)


def test_a_cookie_reads_back_with_its_csrf_token() -> None:
    codec = SessionCodec(b"k" * 32)
    value, csrf = codec.issue(USER)
    payload = codec.read(value)
    assert payload is not None
    assert payload["c"] == csrf
    assert belongs_to(payload, USER)


def test_another_key_or_a_changed_byte_is_refused() -> None:
    value, _ = SessionCodec(b"k" * 32).issue(USER)
    assert SessionCodec(b"x" * 32).read(value) is None
    assert (
        SessionCodec(b"k" * 32).read(value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1])
        is None
    )


def test_a_session_idle_for_too_long_has_ended(monkeypatch: pytest.MonkeyPatch) -> None:
    codec = SessionCodec(b"k" * 32)
    value, _ = codec.issue(USER)
    later = time.time() + IDLE_S + 5
    monkeypatch.setattr(time, "time", lambda: later)
    assert codec.read(value) is None


def test_a_new_password_or_a_recreated_user_ends_the_session() -> None:
    codec = SessionCodec(b"k" * 32)
    payload = codec.read(codec.issue(USER)[0])
    assert payload is not None
    new_password = ApiUser(7, 1, "ops", "$argon2id$two", Role.ADMIN)
    recreated = ApiUser(8, 1, "ops", USER.password_hash, Role.ADMIN)
    assert not belongs_to(payload, new_password)
    assert not belongs_to(payload, recreated)
    assert not belongs_to(payload, None)
