"""An espf API in-process: a real SQLite store in a temporary folder, the
real Service and Starlette app, driven by Starlette's TestClient.

The store is loop-agnostic (a writer thread and a reader pool), so set-up and
inspection run in ``asyncio.run`` while TestClient runs the app in its own
portal thread.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson
from starlette.applications import Starlette
from starlette.testclient import TestClient

from espf.api import create_app
from espf.config import Settings
from espf.domain import Event, EventFilter
from espf.service import Service
from espf.store import Store, create_store

T = TypeVar("T")

I_ENV = 3
LOGIN = "app"
PASSWORD = "change-me-please"
MAX_BODY_BYTES = 2048
CUSTOM_TYPE = "Custom/NextMonth"
URL = "/espf/v1/event/create"


def run(coro: Awaitable[T]) -> T:
    async def wrapper() -> T:
        return await coro

    return asyncio.run(wrapper())


def basic(login: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{login}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@dataclass
class DatabaseSnapshot:
    events: dict[str, int]
    deliveries: dict[str, int]
    last_i_event: int | None


@dataclass
class ApiHarness:
    client: TestClient
    app: Starlette
    service: Service
    store: Store

    def create(self, body: Any, *, headers: dict[str, str] | None = None, auth: bool = True) -> Any:
        """POST event/create; ``body`` given as bytes is sent as is, else as JSON."""
        content = body if isinstance(body, bytes) else orjson.dumps(body)
        all_headers = {"Content-Type": "application/json"}
        if auth:
            all_headers.update(basic(LOGIN, PASSWORD))
        all_headers.update(headers or {})
        return self.client.post(URL, content=content, headers=all_headers)

    def snapshot(self) -> DatabaseSnapshot:
        async def read() -> DatabaseSnapshot:
            latest = await self.store.event_list(EventFilter(limit=1))
            return DatabaseSnapshot(
                events=await self.store.event_count_by_state(),
                deliveries=await self.store.delivery_count_by_state(),
                last_i_event=latest[0].i_event if latest else None,
            )

        return run(read())

    def event(self, i_event: int) -> Event:
        found = run(self.store.event_get(i_event, None))
        assert found is not None, f"event {i_event} is not in the database"
        return found


@contextmanager
def api_harness(tmp_path: Path, **settings: Any) -> Iterator[ApiHarness]:
    """Environment 3 with API user app/change-me-please, and Custom/NextMonth."""
    config = Settings(
        database_url=f"sqlite:///{tmp_path / 'api.db'}",
        max_body_bytes=MAX_BODY_BYTES,
        **settings,
    )
    store = create_store(config.database_url)
    service = Service(store, config)

    async def prepare() -> None:
        await store.open()
        await service.prepare_database()
        await service.env_create("production", I_ENV)
        await service.user_create(I_ENV, LOGIN, PASSWORD)
        await service.type_create(CUSTOM_TYPE)

    run(prepare())
    app = create_app(service)
    # 5xx must show up as responses the tests can assert on, not as
    # exceptions re-raised into the test.
    client = TestClient(app, raise_server_exceptions=False)
    try:
        yield ApiHarness(client=client, app=app, service=service, store=store)
    finally:
        client.close()
        run(store.close())
