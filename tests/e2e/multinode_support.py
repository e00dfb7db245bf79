"""Helpers for end-to-end tests that run real espf processes against one
database: the processes themselves, an Application that records what it
receives, and a producer that creates events over HTTP."""

from __future__ import annotations

import asyncio
import base64
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import aiohttp
import orjson
from aiohttp import web

from espf.config import Settings
from espf.domain import AuthMethod, HandlerSettings
from espf.service import Service
from espf.store import create_store

ESPF = str(Path(sys.executable).parent / "espf")
PRODUCER_LOGIN = "producer"
PRODUCER_PASSWORD = "producer-password"
EVENT_TYPE = "Custom/Load"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Receiver:
    """The Application: answers 200 at once and records every ``i_event``."""

    def __init__(self) -> None:
        self.received: list[int] = []
        # (i_event, time.monotonic()) of every request, for latency checks.
        self.arrivals: list[tuple[int, float]] = []
        self.answer_after_s = 0.0
        self.port = free_port()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/espf"

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/espf", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        i_event = int(body["variables"]["i_event"])
        self.received.append(i_event)
        self.arrivals.append((i_event, time.monotonic()))
        if self.answer_after_s:
            await asyncio.sleep(self.answer_after_s)
        return web.Response(text="ok")

    def distinct(self) -> set[int]:
        return set(self.received)

    def duplicates(self) -> int:
        """Requests beyond the first for each ``i_event``."""
        return sum(n - 1 for n in Counter(self.received).values())


async def prepare_database(url: str, receiver_url: str) -> None:
    """Schema, the producer user, the custom type and a handler pointing at
    the receiver, done in-process before any espf process starts."""
    settings = Settings(
        database_url=url, admin_login=PRODUCER_LOGIN, admin_password=PRODUCER_PASSWORD
    )
    store = create_store(url, pool_size=2)
    await store.open()
    try:
        service = Service(store, settings)
        await service.prepare_database()
        await service.bootstrap()
        await service.type_create(EVENT_TYPE)
        await service.handler_create(
            1,
            "EventSender",
            HandlerSettings(url=receiver_url, auth_method=AuthMethod.NONE, timeout_s=10),
        )
        await service.subscribe(1, "EventSender", EVENT_TYPE)
    finally:
        await store.close()


class EspfProcess:
    """One ``espf serve|api|dispatcher`` process, its output in a log file."""

    def __init__(
        self, role: str, env: dict[str, str], log_dir: Path, name: str, port: int | None = None
    ) -> None:
        self.role = role
        self.name = name
        self.port = port
        self.log_path = log_dir / f"{name}.log"
        args = [ESPF, role]
        if port is not None:
            args += ["--port", str(port)]
        self._log: IO[bytes] = self.log_path.open("wb")
        self.process = subprocess.Popen(
            args, env={**os.environ, **env}, stdout=self._log, stderr=subprocess.STDOUT
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill_hard(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 20) -> int | None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def espf_env(url: str, **settings: object) -> dict[str, str]:
    env = {"ESPF_DATABASE_URL": url, "ESPF_LOG_LEVEL": "warning"}
    env.update({f"ESPF_{k.upper()}": str(v) for k, v in settings.items()})
    return env


async def wait_for_api(processes: Sequence[EspfProcess], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        for proc in processes:
            while True:
                if not proc.alive():
                    raise AssertionError(f"{proc.name} exited:\n{proc.log_text()}")
                try:
                    async with session.get(f"{proc.base_url}/healthz") as answer:
                        if answer.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"{proc.name} did not answer:\n{proc.log_text()}")
                await asyncio.sleep(0.1)


async def wait_for_nodes(url: str, count: int, timeout: float = 30) -> None:
    """Until ``count`` dispatchers have beaten their hearts into the store."""
    store = create_store(url, pool_size=1)
    await store.open()
    try:
        deadline = time.monotonic() + timeout
        while len(await store.node_list()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"fewer than {count} dispatchers registered")
            await asyncio.sleep(0.1)
    finally:
        await store.close()


def basic_auth(login: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()


def start_time_in(seconds: float) -> str:
    at = datetime.fromtimestamp(time.time() + seconds, tz=UTC)
    return at.isoformat(timespec="milliseconds")


class Producer:
    """Creates events through the API processes, ``concurrency`` at a time,
    spread over them round-robin. Keeps the ``i_event`` of every event the API
    acknowledged; counts refusals by status."""

    def __init__(self, api_urls: Sequence[str], concurrency: int = 50) -> None:
        self.api_urls = list(api_urls)
        self.concurrency = concurrency
        self.acknowledged: list[int] = []
        self.refused: Counter[int] = Counter()
        self.refusal_bodies: dict[int, bytes] = {}  # the first body of each status
        self.failed_connections = 0
        self.connection_errors: list[str] = []

    async def create(self, count: int, spread_s: float = 0.0, seed: int = 7) -> None:
        """Half due at once, half spread over the next ``spread_s`` seconds
        (all due at once when it is 0)."""
        rng = random.Random(seed)
        bodies: list[dict[str, Any]] = []
        for n in range(count):
            body: dict[str, Any] = {"event_type": EVENT_TYPE, "variables": {"n": n}}
            if spread_s and n % 2:
                body["start_time"] = start_time_in(rng.uniform(0, spread_s))
            bodies.append(body)
        connector = aiohttp.TCPConnector(limit=self.concurrency)
        headers = {"Authorization": basic_auth(PRODUCER_LOGIN, PRODUCER_PASSWORD)}
        async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
            # One request per API first: it verifies the password once and
            # caches it, where 50 first requests at once would each pay for
            # an Argon2 verification.
            for n, url in enumerate(self.api_urls[: len(bodies)]):
                await self._post(session, f"{url}/espf/v1/event/create", bodies[n])
            queue = iter(list(enumerate(bodies))[len(self.api_urls) :])

            async def worker() -> None:
                for n, body in queue:
                    url = f"{self.api_urls[n % len(self.api_urls)]}/espf/v1/event/create"
                    await self._post(session, url, body)

            await asyncio.gather(*(worker() for _ in range(self.concurrency)))

    async def post_one(self, start_time: str | None = None) -> None:
        """One event through the first API, due at ``start_time`` (or now)."""
        body: dict[str, Any] = {"event_type": EVENT_TYPE, "variables": {}}
        if start_time is not None:
            body["start_time"] = start_time
        headers = {"Authorization": basic_auth(PRODUCER_LOGIN, PRODUCER_PASSWORD)}
        async with aiohttp.ClientSession(headers=headers) as session:
            await self._post(session, f"{self.api_urls[0]}/espf/v1/event/create", body)

    async def _post(self, session: aiohttp.ClientSession, url: str, body: Any) -> None:
        try:
            async with session.post(url, data=orjson.dumps(body)) as answer:
                payload = await answer.read()
                if answer.status == 200:
                    self.acknowledged.append(int(orjson.loads(payload)["i_event"]))
                else:
                    self.refused[answer.status] += 1
                    self.refusal_bodies.setdefault(answer.status, payload)
        except (TimeoutError, aiohttp.ClientError) as exc:
            self.failed_connections += 1
            self.connection_errors.append(repr(exc))


async def wait_for_deliveries(
    receiver: Receiver, expected: set[int], timeout: float, processes: Sequence[EspfProcess] = ()
) -> None:
    deadline = time.monotonic() + timeout
    while not expected <= receiver.distinct():
        for proc in processes:
            if not proc.alive():
                raise AssertionError(f"{proc.name} exited:\n{proc.log_text()[-3000:]}")
        if time.monotonic() > deadline:
            missing = expected - receiver.distinct()
            raise AssertionError(
                f"{len(missing)} of {len(expected)} events never reached the receiver, "
                f"e.g. {sorted(missing)[:10]}"
            )
        await asyncio.sleep(0.1)
