"""An Application for limit tests, in the test's own event loop: records
when each request arrives, per path, and the most requests it ever had open
at once per path; answers 200 after ``hold_s``."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

from aiohttp import web


class TimingReceiver:
    def __init__(self, hold_s: float = 0.0, hold_by_path: dict[str, float] | None = None) -> None:
        self.hold_s = hold_s
        self.hold_by_path = hold_by_path or {}
        self.arrivals: dict[str, list[float]] = defaultdict(list)
        self.most_open: dict[str, int] = defaultdict(int)
        self._open: dict[str, int] = defaultdict(int)
        self._runner: web.AppRunner | None = None
        self.port = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    async def start(self) -> TimingReceiver:
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

    async def _receive(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        self.arrivals[path].append(time.monotonic())
        self._open[path] += 1
        self.most_open[path] = max(self.most_open[path], self._open[path])
        try:
            await request.read()
            hold = self.hold_by_path.get(path, self.hold_s)
            if hold:
                await asyncio.sleep(hold)
            return web.json_response({})
        finally:
            self._open[path] -= 1


def most_in_one_second(arrivals: list[float]) -> int:
    """The most arrivals in any one-second window (sliding)."""
    times = sorted(arrivals)
    most, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most
