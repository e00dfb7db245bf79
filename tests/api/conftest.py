"""HTTP-level fixtures: the real app (Starlette's TestClient) on a real
SQLite store in tmp_path, seeded with two environments, so that every test
can check isolation and roles as well as the happy path.

Environment 3 has an administrator, a producer, a handler with every kind of
secret set, and events; environment 4 has its own administrator, handler and
event. Password hashing is made cheap here: the real Argon2 parameters cost
about 0.3 s per hash on a test machine, which the tests do not need to prove.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx2
import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient

import espf.passwords
from espf.api import create_app
from espf.clock import FrozenClock
from espf.config import load_settings
from espf.domain import AuthMethod, HandlerSettings, Role
from espf.service import Service
from espf.store import create_store
from tests.api.documented import check_documented

T = TypeVar("T")

ADMIN3 = ("admin3", "admin3-password")
PRODUCER3 = ("producer3", "producer3-password")
ADMIN4 = ("admin4", "admin4-password")
CUSTOM_TYPE = "Custom/NextMonth"
HANDLER_SECRETS = {
    "password": "handler-basic-password",
    "auth_token": "handler-custom-token",
    "signing_secret": "whsec_" + base64.b64encode(b"s" * 32).decode(),
}


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        espf.passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


async def seed(service: Service) -> dict[str, int]:
    """Two environments, their users, handlers and events; returns the ids."""
    await service.prepare_database()
    for i_env, name in ((3, "three"), (4, "four")):
        await service.env_create(name, i_env)
    await service.user_create(3, *ADMIN3, Role.ADMIN)
    producer = await service.user_create(3, *PRODUCER3, Role.PRODUCER)
    admin4 = await service.user_create(4, *ADMIN4, Role.ADMIN)
    # Names the document's examples use for deletion, so that deleting them
    # leaves EventSender and the seeded users to the other methods.
    await service.user_create(3, "retired", "retired-password", Role.PRODUCER)
    await service.handler_create(
        3, "Retired", HandlerSettings(url="http://127.0.0.1:9/", auth_method=AuthMethod.NONE)
    )
    await service.type_create(CUSTOM_TYPE)
    for i_env in (3, 4):
        await service.handler_create(
            i_env,
            "EventSender",
            HandlerSettings(
                url="https://app.example.com/espf",
                auth_method=AuthMethod.BASIC,
                login="espf",
                password=HANDLER_SECRETS["password"],
            ),
        )
        await service.subscribe(i_env, "EventSender", CUSTOM_TYPE)
    body = {"event_type": CUSTOM_TYPE, "variables": {"i_account": 541}}
    ids = {
        "cli_event_3": await service.event_create(3, body),
        "producer_event_3": await service.event_create(3, body, created_by=producer.i_user),
        "event_4": await service.event_create(4, body, created_by=admin4.i_user),
    }
    return ids


@dataclass
class Api:
    client: TestClient
    service: Service
    ids: dict[str, int] = field(default_factory=dict)

    def run(self, action: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run a coroutine function in the app's event loop."""
        return self.client.portal.call(action, *args)  # type: ignore[union-attr]

    def call(
        self, method: str, body: Any = None, user: tuple[str, str] | None = ADMIN3
    ) -> httpx2.Response:
        """POST /espf/v1/<method> with a JSON body (none if ``body`` is None)."""
        kwargs: dict[str, Any] = {"auth": user} if user else {}
        if body is not None:
            kwargs["json"] = body
        return self.client.post(f"/espf/v1/{method}", **kwargs)

    def ok(self, method: str, body: Any = None, user: tuple[str, str] | None = ADMIN3) -> Any:
        response = self.call(method, body, user)
        assert response.status_code == 200, response.text
        return response.json()

    def error(
        self,
        method: str,
        body: Any,
        status: int,
        code: str | None = None,
        user: tuple[str, str] | None = ADMIN3,
    ) -> dict[str, str]:
        response = self.call(method, body, user)
        return expect_error(response, status, code)


def expect_error(response: httpx2.Response, status: int, code: str | None = None) -> dict[str, str]:
    assert response.status_code == status, response.text
    answer: dict[str, str] = response.json()
    assert set(answer) == {"error", "message"}, answer
    if code is not None:
        assert answer["error"] == code, answer
    return answer


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    settings = load_settings({}, database_url=f"sqlite:///{tmp_path / 'espf.db'}")
    store = create_store(settings.database_url)
    service = Service(store, settings, FrozenClock())
    with TestClient(create_app(service)) as client:
        client.event_hooks["response"].append(check_documented)
        client.portal.call(store.open)  # type: ignore[union-attr]
        try:
            tester = Api(client, service)
            tester.ids = tester.run(seed, service)
            yield tester
        finally:
            client.portal.call(store.close)  # type: ignore[union-attr]
