"""The first administrator, made on the first start of an empty database:
it follows the password rule of every other user, and settings that name it
on a database that already has users are reported as unused."""

from __future__ import annotations

import logging

import pytest

from espf.config import Settings
from espf.errors import BadRequest
from espf.runner import warn_unused_admin_settings
from espf.service import Service
from espf.store import Store


def service(store: Store, **settings: object) -> Service:
    return Service(store, Settings(**settings))  # type: ignore[arg-type]


async def test_a_short_admin_password_is_refused_like_any_other(store: Store) -> None:
    with pytest.raises(BadRequest, match="ESPF_ADMIN_ALLOW_WEAK_PASSWORD"):
        await service(store, admin_login="username", admin_password="secret").bootstrap()
    assert await store.user_count() == 0


async def test_a_short_admin_password_with_the_opt_in(store: Store) -> None:
    boot = await service(
        store, admin_login="username", admin_password="secret", admin_allow_weak_password=True
    ).bootstrap()
    assert boot is not None and boot.admin_login == "username"
    user = await store.user_get_by_login("username")
    assert user is not None and user.weak_password


async def test_admin_settings_on_a_database_with_users_are_reported(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    first = service(store, admin_login="app", admin_password="change-me-please")
    boot = await first.bootstrap()
    with caplog.at_level(logging.WARNING, logger="espf"):
        warn_unused_admin_settings(first.settings, boot)
    assert caplog.text == ""  # used: nothing to say

    again = service(store, admin_login="other", admin_password="another-password")
    boot = await again.bootstrap()
    assert boot is None
    with caplog.at_level(logging.WARNING, logger="espf"):
        warn_unused_admin_settings(again.settings, boot)
    assert "ESPF_ADMIN_LOGIN and ESPF_ADMIN_PASSWORD are set but not used" in caplog.text
    assert "espf user set-password 1 LOGIN" in caplog.text
    assert await store.user_get_by_login("other") is None
