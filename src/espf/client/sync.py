"""The synchronous client."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

import httpx

from espf.client.answers import RetryClock, read_answer
from espf.client.calls import Call
from espf.client.errors import EspfError
from espf.client.methods import Operations

P = ParamSpec("P")
T = TypeVar("T")


class Client(Operations[httpx.BaseTransport]):
    """espf's API, synchronously (``with Client(url, login, password) as
    espf: espf.event_create(...)``). Every method, with its arguments, is
    listed in :class:`espf.client.methods.Operations`."""

    _http: httpx.Client

    def _connect(self, options: dict[str, Any], transport: httpx.BaseTransport | None) -> None:
        self._http = httpx.Client(transport=transport, **options)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def send(self, call: Call[T]) -> T:
        """Send one prepared call (see :mod:`espf.client.operations`)."""
        clock = RetryClock(self.create_deadline)
        while True:
            try:
                return read_answer(call, self._http.request(**call.request()))
            except (httpx.TransportError, EspfError) as exc:
                time.sleep(clock.delay_or_raise(call, exc))

    def method_for(self, build: Callable[P, Call[T]]) -> Callable[P, T]:
        @functools.wraps(build)
        def method(*args: P.args, **kwargs: P.kwargs) -> T:
            return self.send(build(*args, **kwargs))

        return method
