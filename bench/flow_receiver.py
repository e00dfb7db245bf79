"""An Application for the limits, back-off and breaker scenarios, in the
caller's event loop: per path it records when each request arrives and what
it answered, and the most requests it ever had open at once. It can hold
each answer (``hold_s``), accept at most ``capacity`` requests in any one
second and answer 503 to the rest, or be down (503 to everything)."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class PathState:
    hold_s: float = 0.0
    capacity: float | None = None  # requests accepted per second; None: all
    down: bool = False
    # (time.monotonic(), status) of every request
    requests: list[tuple[float, int]] = field(default_factory=list)
    most_open: int = 0
    open: int = 0
    accepted: deque[float] = field(default_factory=deque)

    def arrivals(self, status: int | None = None) -> list[float]:
        return [at for at, s in self.requests if status is None or s == status]


class FlowReceiver:
    def __init__(self, hold_s: float = 0.0) -> None:
        self.paths: dict[str, PathState] = defaultdict(lambda: PathState(hold_s=hold_s))
        self._runner: web.AppRunner | None = None
        self.port = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    async def start(self) -> FlowReceiver:
        app = web.Application()
        app.router.add_post("/{path}", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _status(self, state: PathState, now: float) -> int:
        if state.down:
            return 503
        if state.capacity is not None:
            while state.accepted and now - state.accepted[0] >= 1.0:
                state.accepted.popleft()
            if len(state.accepted) >= state.capacity:
                return 503
        state.accepted.append(now)
        return 200

    async def _receive(self, request: web.Request) -> web.Response:
        state = self.paths[request.match_info["path"]]
        now = time.monotonic()
        state.open += 1
        state.most_open = max(state.most_open, state.open)
        try:
            await request.read()
            status = self._status(state, now)
            state.requests.append((now, status))
            if state.hold_s:
                await asyncio.sleep(state.hold_s)
            return web.json_response({}, status=status)
        finally:
            state.open -= 1


def most_in_one_second(arrivals: list[float]) -> int:
    """The most arrivals in any one-second window (sliding)."""
    times = sorted(arrivals)
    most, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most
