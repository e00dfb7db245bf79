"""Basic auth without an Argon2 hash per request: a verified credential is
cached, and requests arriving together share one check."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import espf.service.authorization
from espf.config import load_settings
from espf.errors import Unauthorized
from espf.passwords import verify_password
from espf.service import Service
from espf.store import create_store


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    store = create_store(f"sqlite:///{tmp_path / 'espf.db'}")
    await store.open()
    svc = Service(store, load_settings({}))
    await svc.prepare_database()
    await svc.env_create("one", 1)
    await svc.user_create(1, "app", "a-good-password")
    yield svc
    await store.close()


@pytest.fixture
def hash_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    checked: list[str] = []

    def counting(password_hash: str | None, password: str) -> bool:
        checked.append(password)
        return verify_password(password_hash, password)

    monkeypatch.setattr(espf.service.authorization, "verify_password", counting)
    return checked


async def test_requests_arriving_together_share_one_hash(
    service: Service, hash_checks: list[str]
) -> None:
    users = await asyncio.gather(
        *(service.authenticate("app", "a-good-password") for _ in range(50))
    )
    assert {u.login for u in users} == {"app"}
    assert len(hash_checks) == 1
    await service.authenticate("app", "a-good-password")
    assert len(hash_checks) == 1, "then the cache answers"


async def test_a_wrong_password_fails_every_request_that_shared_its_check(
    service: Service, hash_checks: list[str]
) -> None:
    results = await asyncio.gather(
        *(service.authenticate("app", "wrong-password") for _ in range(10)),
        return_exceptions=True,
    )
    assert all(isinstance(r, Unauthorized) for r in results)
    assert len(hash_checks) == 1
    with pytest.raises(Unauthorized):
        await service.authenticate("app", "wrong-password")
    assert len(hash_checks) == 2, "a failure is not cached"
