"""A live espf for the client's tests, and both clients behind one
synchronous face, so that one scenario exercises Client and AsyncClient."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from espf.client import AsyncClient, Client
from tests.e2e.espf_process import ADMIN_LOGIN, ADMIN_PASSWORD, EspfProcess
from tests.e2e.receiver import Receiver


@pytest.fixture(scope="module")
def espf_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EspfProcess]:
    process = EspfProcess(Path(tmp_path_factory.mktemp("espf"))).start()
    try:
        yield process
    finally:
        process.stop()
        print(process.log_tail(60))


@pytest.fixture(scope="module")
def application() -> Iterator[Receiver]:
    receiver = Receiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


class Recorded:
    """Calls the client's methods, awaiting them for AsyncClient on one
    event loop, and records which operations were called."""

    def __init__(self, client: Client | AsyncClient) -> None:
        self.client = client
        self.called: set[str] = set()
        self._runner = asyncio.Runner() if isinstance(client, AsyncClient) else None

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.called.add(name)
            result = method(*args, **kwargs)
            if inspect.isawaitable(result):
                assert self._runner is not None
                return self._runner.run(_awaited(result))
            return result

        return call

    def close(self) -> None:
        if isinstance(self.client, AsyncClient):
            assert self._runner is not None
            self._runner.run(self.client.aclose())
            self._runner.close()
        else:
            self.client.close()


async def _awaited(result: Any) -> Any:
    return await result


def make_client(
    kind: str, base_url: str, login: str = ADMIN_LOGIN, password: str = ADMIN_PASSWORD
) -> Recorded:
    cls = AsyncClient if kind == "async" else Client
    return Recorded(cls(base_url, login, password, timeout=10, create_deadline=10))


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def espf_client(kind: str, espf_server: EspfProcess) -> Iterator[Recorded]:
    client = make_client(kind, espf_server.base_url)
    try:
        yield client
    finally:
        client.close()
