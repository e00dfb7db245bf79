"""Store contract for the credentials of existing Applications (migration
0004): weak passwords, server keys, login sessions and API tokens. Runs once
per backend (see tests/conftest.py)."""

from __future__ import annotations

import asyncio

from espf.domain import Role
from espf.store import Store, create_store

T0 = 1_700_000_000_000
HOUR = 3_600_000


async def _user(store: Store, login: str = "app", weak: bool = False) -> int:
    if await store.env_get(1) is None:
        await store.env_create(1, "one", T0)
    user = await store.user_create(1, login, "hash", Role.PRODUCER, T0, weak_password=weak)
    return user.i_user


async def test_weak_password_flag_is_kept_and_changed_with_the_password(store: Store) -> None:
    await _user(store, "strong")
    await _user(store, "username", weak=True)
    assert {u.login: u.weak_password for u in await store.user_list(1)} == {
        "strong": False,
        "username": True,
    }
    updated = await store.user_set_password(1, "username", "new-hash", False, T0)
    assert updated is not None and not updated.weak_password
    assert updated.password_hash == "new-hash"
    found = await store.user_get_by_login("username")
    assert found is not None and not found.weak_password
    assert await store.user_set_password(2, "username", "x", True, T0) is None


async def test_server_key_is_made_once_and_kept(store: Store) -> None:
    first = await store.server_key("session", b"a" * 32, T0)
    assert first == b"a" * 32
    assert await store.server_key("session", b"b" * 32, T0 + 1) == first
    # Another purpose has its own key.
    assert await store.server_key("console", b"c" * 32, T0) == b"c" * 32


async def test_processes_racing_for_a_key_end_with_the_same_one(database_url: str) -> None:
    """Several processes (here: stores with their own connections) start on
    a fresh database at once; every one must sign with the same key."""
    stores = [create_store(database_url) for _ in range(4)]
    for opened in stores:
        await opened.open()
    try:
        await stores[0].migrate()
        keys = await asyncio.gather(
            *(s.server_key("session", bytes([n]) * 32, T0) for n, s in enumerate(stores))
        )
        assert len(set(keys)) == 1
        assert keys[0] in {bytes([n]) * 32 for n in range(4)}
    finally:
        for opened in stores:
            await opened.close()


async def test_session_lifecycle(store: Store) -> None:
    i_user = await _user(store)
    await store.session_create("s1", i_user, None, "r1", T0, T0 + HOUR, 1000)
    session = await store.session_get("s1")
    assert session is not None and session.user.login == "app"
    assert session.live(T0 + 1) and not session.live(T0 + HOUR)
    # Only the current refresh token moves the session on, once.
    assert not await store.session_refresh("s1", "wrong", "r2", T0 + 1, T0 + 2 * HOUR)
    assert await store.session_refresh("s1", "r1", "r2", T0 + 1, T0 + 2 * HOUR)
    assert not await store.session_refresh("s1", "r1", "r3", T0 + 2, T0 + 2 * HOUR)
    refreshed = await store.session_get("s1")
    assert refreshed is not None and refreshed.expires_at == T0 + 2 * HOUR
    assert await store.session_revoke("s1", T0 + 3)
    assert not await store.session_revoke("s1", T0 + 4)
    revoked = await store.session_get("s1")
    assert revoked is not None and not revoked.live(T0 + 5)
    assert not await store.session_refresh("s1", "r2", "r4", T0 + 5, T0 + 2 * HOUR)
    assert await store.session_get("nope") is None


async def test_a_new_password_ends_every_session_of_its_user(store: Store) -> None:
    app = await _user(store)
    other = await _user(store, "other")
    await store.session_create("a1", app, None, "r", T0, T0 + HOUR, 1000)
    await store.session_create("a2", app, None, "r", T0, T0 + HOUR, 1000)
    await store.session_create("o1", other, None, "r", T0, T0 + HOUR, 1000)
    await store.user_set_password(1, "app", "new-hash", False, T0 + 1)
    for sid, live in (("a1", False), ("a2", False), ("o1", True)):
        session = await store.session_get(sid)
        assert session is not None and session.live(T0 + 2) is live


async def test_a_new_login_forgets_the_users_old_ended_sessions(store: Store) -> None:
    app = await _user(store)
    await store.session_create("old", app, None, "r", T0, T0 + HOUR, 1000)
    await store.session_create("new", app, None, "r", T0 + 2 * HOUR, T0 + 3 * HOUR, 1000)
    assert await store.session_get("old") is None
    assert await store.session_get("new") is not None


async def test_a_login_keeps_only_the_users_newest_sessions(store: Store) -> None:
    app = await _user(store)
    other = await _user(store, "other")
    await store.session_create("o", other, None, "r", T0, T0 + HOUR, 2)
    for n in range(4):
        await store.session_create(f"s{n}", app, None, "r", T0 + n, T0 + HOUR, 2)
    kept = [sid for sid in ("s0", "s1", "s2", "s3", "o") if await store.session_get(sid)]
    assert kept == ["s2", "s3", "o"]
    await store.session_revoke("s2", T0 + 10)
    await store.session_create("s4", app, None, "r", T0 + 11, T0 + HOUR, 3)
    kept = [sid for sid in ("s2", "s3", "s4") if await store.session_get(sid)]
    assert kept == ["s3", "s4"]  # the revoked one went


async def test_api_tokens(store: Store) -> None:
    app = await _user(store)
    await _user(store, "other")
    i_token = await store.api_token_create(app, "billing", "h1", T0)
    (listed,) = await store.api_token_list(1, "app")
    assert (listed.i_api_token, listed.login, listed.name, listed.last_used_at) == (
        i_token,
        "app",
        "billing",
        None,
    )
    assert await store.api_token_list(1, "other") == []
    assert await store.api_token_list(2, None) == []
    found = await store.api_token_find("h1", T0 + 5)
    assert found is not None and found[0] == i_token and found[1].login == "app"
    (used,) = await store.api_token_list(None, None)
    assert used.last_used_at == T0 + 5
    assert await store.api_token_find("unknown", T0) is None

    # Revoking a token ends the sessions opened with it, and only the
    # owner's environment and login name it.
    await store.session_create("t1", app, i_token, "r", T0, T0 + HOUR, 1000)
    await store.session_create("p1", app, None, "r", T0, T0 + HOUR, 1000)
    assert not await store.api_token_delete(1, "other", i_token)
    assert await store.api_token_delete(1, "app", i_token)
    assert await store.session_get("t1") is None
    assert await store.session_get("p1") is not None
    assert await store.api_token_find("h1", T0) is None


async def test_deleting_a_user_takes_its_tokens_and_sessions(store: Store) -> None:
    await _user(store, "boss")
    await store.user_set_role(1, "boss", Role.ADMIN)
    app = await _user(store)
    await store.api_token_create(app, "t", "h", T0)
    await store.session_create("s", app, None, "r", T0, T0 + HOUR, 1000)
    assert await store.user_delete(1, "app")
    assert await store.session_get("s") is None
    assert await store.api_token_find("h", T0) is None
