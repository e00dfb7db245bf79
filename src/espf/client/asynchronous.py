"""The asynchronous client: the same methods as :class:`espf.client.Client`, awaited."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

import httpx

from espf.client.answers import RetryClock, read_answer
from espf.client.calls import Call
from espf.client.errors import EspfError
from espf.client.methods import Operations

P = ParamSpec("P")
T = TypeVar("T")


class AsyncClient(Operations[httpx.AsyncBaseTransport]):
    """:class:`espf.client.Client`'s methods as coroutines, over one
    ``httpx.AsyncClient``; use it with ``async with`` or call :meth:`aclose`."""

    _http: httpx.AsyncClient

    def _connect(self, options: dict[str, Any], transport: httpx.AsyncBaseTransport | None) -> None:
        self._http = httpx.AsyncClient(transport=transport, **options)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, call: Call[T]) -> T:
        """Send one prepared call (see :mod:`espf.client.operations`)."""
        clock = RetryClock(self.create_deadline)
        while True:
            try:
                return read_answer(call, await self._http.request(**call.request()))
            except (httpx.TransportError, EspfError) as exc:
                await asyncio.sleep(clock.delay_or_raise(call, exc))

    def method_for(self, build: Callable[P, Call[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
        @functools.wraps(build)
        async def method(*args: P.args, **kwargs: P.kwargs) -> T:
            return await self.send(build(*args, **kwargs))

        return method
