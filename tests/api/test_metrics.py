"""GET /metrics after known traffic: API counters by route and status, the
queue gauges read from the store at scrape time, and the dispatcher's
delivery counters and latency histogram.

The app, the dispatcher and a local aiohttp Application share one Metrics
object, one SQLite store and one frozen clock, and all run in the TestClient's
event loop (its portal): every figure is known exactly, with no sleeping."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx2
import orjson
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from espf.api import create_app
from espf.clock import FrozenClock, format_ms
from espf.config import Settings, load_settings
from espf.dispatch.dispatcher import Dispatcher
from espf.domain import AuthMethod, HandlerSettings, Role
from espf.metrics import Metrics
from espf.service import Service
from espf.store import Store, create_store

T = TypeVar("T")

# 2023-11-14 22:13:20 UTC: a whole second, so 'YYYY-MM-DD HH:MM:SS' start
# times are exact and so are the ages computed from them.
NOW = 1_700_000_000_000
ADMIN = ("admin", "admin-password")
EVENT_TYPE = "Custom/Metered"
HANDLER = "App"


@dataclass(frozen=True)
class Scrape:
    """One /metrics answer, parsed: value by (sample name, labels)."""

    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]

    def value(self, name: str, **labels: str) -> float | None:
        return self.samples.get((name, frozenset(labels.items())))

    def label_values(self, name: str, label: str, **fixed: str) -> set[str]:
        """The values ``label`` takes among the samples of ``name`` that
        carry ``fixed``: what series exist at all."""
        found = set()
        for sample_name, labels in self.samples:
            as_dict = dict(labels)
            if sample_name == name and fixed.items() <= as_dict.items():
                found.add(as_dict[label])
        return found


@dataclass
class Installation:
    client: TestClient
    service: Service
    store: Store
    settings: Settings
    clock: FrozenClock
    metrics: Metrics

    def run(self, action: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run a coroutine function in the app's event loop."""
        return self.client.portal.call(action, *args)  # type: ignore[union-attr]

    def create(
        self, body: Any, auth: tuple[str, str] = ADMIN, raw: bytes | None = None
    ) -> httpx2.Response:
        content = raw if raw is not None else orjson.dumps(body)
        return self.client.post(
            "/espf/v1/event/create",
            content=content,
            auth=auth,
            headers={"Content-Type": "application/json"},
        )

    def create_ok(self, start_at: int, **variables: Any) -> int:
        response = self.create(
            {"event_type": EVENT_TYPE, "variables": variables, "start_time": format_ms(start_at)}
        )
        assert response.status_code == 200, response.text
        return int(response.json()["i_event"])

    def scrape(self) -> Scrape:
        # No credentials: Prometheus scrapes without them.
        response = self.client.get("/metrics")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain")
        samples = {}
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
        return Scrape(samples)

    def store_counts(self) -> tuple[dict[str, int], dict[str, int]]:
        async def read() -> tuple[dict[str, int], dict[str, int]]:
            return (
                await self.store.event_count_by_state(),
                await self.store.delivery_count_by_state(),
            )

        return self.run(read)


@pytest.fixture
def installation(tmp_path: Path) -> Iterator[Installation]:
    settings = load_settings({}, database_url=f"sqlite:///{tmp_path / 'espf.db'}")
    store = create_store(settings.database_url)
    clock = FrozenClock(NOW)
    service = Service(store, settings, clock)
    metrics = Metrics()

    async def prepare() -> None:
        await store.open()
        await service.prepare_database()
        await service.env_create("metered", 1)
        await service.user_create(1, *ADMIN, Role.ADMIN)
        await service.type_create(EVENT_TYPE)

    with TestClient(create_app(service, metrics), raise_server_exceptions=False) as client:
        client.portal.call(prepare)  # type: ignore[union-attr]
        try:
            yield Installation(client, service, store, settings, clock, metrics)
        finally:
            client.portal.call(store.close)  # type: ignore[union-attr]


def test_api_requests_are_counted_by_route_and_status(installation: Installation) -> None:
    for _ in range(3):
        installation.create_ok(NOW)
    not_json = installation.create(None, raw=b"{not json")
    unknown_field = installation.create({"event_type": EVENT_TYPE, "colour": "blue"})
    wrong_password = installation.create({"event_type": EVENT_TYPE}, auth=("admin", "guess"))
    assert [not_json.status_code, unknown_field.status_code] == [400, 400]
    assert wrong_password.status_code == 401

    scrape = installation.scrape()

    def created(status: str) -> float | None:
        return scrape.value("espf_api_requests_total", route="event/create", status=status)

    assert (created("200"), created("400"), created("401")) == (3, 2, 1)
    # Nothing else was counted under the route, and nothing under a concrete
    # path or an unmatched route (bounded labels).
    assert scrape.label_values("espf_api_requests_total", "status", route="event/create") == {
        "200",
        "400",
        "401",
    }
    assert scrape.label_values("espf_api_requests_total", "route") == {"event/create"}
    assert scrape.value("espf_api_request_duration_seconds_count", route="event/create") == 6


def test_queue_gauges_show_events_due_but_not_sent(installation: Installation) -> None:
    # No dispatcher runs: what is due stays due.
    installation.create_ok(NOW - 90_000)
    installation.create_ok(NOW - 30_000)
    installation.create_ok(NOW + 3_600_000)  # scheduled, but not due yet

    scrape = installation.scrape()
    events, _ = installation.store_counts()
    assert events == {"scheduled": 3}
    assert scrape.value("espf_events", state="scheduled") == 3
    assert scrape.value("espf_due_not_sent") == 2
    assert scrape.value("espf_oldest_due_age_seconds") == 90.0

    # The age is measured at scrape time, not when the event was created.
    installation.clock.advance(10_000)
    assert installation.scrape().value("espf_oldest_due_age_seconds") == 100.0


def test_deliveries_are_counted_by_handler_and_outcome(installation: Installation) -> None:
    url, stop_application = installation.run(start_application)
    try:
        installation.run(add_handler, installation.service, url)
        # The Application answers what the event asks: 200 twice, 400 once.
        installation.create_ok(NOW - 60_000, answer=200)
        installation.create_ok(NOW - 1_000, answer=200)
        installation.create_ok(NOW + 3_600_000, answer=400)
        before = installation.scrape()
        assert before.value("espf_events", state="scheduled") == 3

        # Two hours on, all three are due; the dispatcher sends them.
        installation.clock.advance(2 * 3_600_000)
        installation.run(deliver_all, installation, 3)
    finally:
        installation.run(stop_application)

    scrape = installation.scrape()

    def attempts(outcome: str) -> float | None:
        return scrape.value("espf_delivery_attempts_total", handler=HANDLER, outcome=outcome)

    assert (attempts("delivered"), attempts("rejected")) == (2, 1)
    assert scrape.label_values("espf_delivery_attempts_total", "outcome") == {
        "delivered",
        "rejected",
    }
    assert scrape.value("espf_attempt_duration_seconds_count", handler=HANDLER) == 3
    assert scrape.value("espf_attempt_duration_seconds_bucket", handler=HANDLER, le="+Inf") == 3

    # The queue gauges follow the store, including states it no longer has:
    # a gauge left at its last value would still show 3 events scheduled.
    events, deliveries = installation.store_counts()
    assert events == {"delivered": 2, "rejected": 1}
    assert deliveries == {"delivered": 2, "rejected": 1}
    for state in ("scheduled", "pending", "in_flight", "delivered", "rejected"):
        assert (scrape.value("espf_events", state=state) or 0) == events.get(state, 0), state
        assert (scrape.value("espf_deliveries", state=state) or 0) == deliveries.get(state, 0), (
            state
        )
    assert scrape.value("espf_due_not_sent") == 0
    assert scrape.value("espf_oldest_due_age_seconds") == 0


# -- the Application and the dispatcher, in the app's event loop ---------------------------
async def start_application() -> tuple[str, Callable[[], Awaitable[None]]]:
    """A local Application answering each event with its ``answer`` variable."""

    async def handle(request: web.Request) -> web.Response:
        answer = int((await request.json())["variables"]["answer"])
        return web.Response(status=answer, text="ok" if answer < 300 else "no")

    app = web.Application()
    app.router.add_post("/espf", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return f"http://127.0.0.1:{port}/espf", runner.cleanup


async def add_handler(service: Service, url: str) -> None:
    await service.handler_create(
        1, HANDLER, HandlerSettings(url=url, auth_method=AuthMethod.NONE, timeout_s=5)
    )
    await service.subscribe(1, HANDLER, EVENT_TYPE)


async def deliver_all(installation: Installation, expected: int) -> None:
    """Run a real Dispatcher on the shared metrics until ``expected`` events
    have a final state, then stop it as SIGTERM would."""
    dispatcher = Dispatcher(
        installation.store,
        installation.settings,
        clock=installation.clock,
        metrics=installation.metrics,
    )
    running = asyncio.create_task(dispatcher.run())
    try:
        async with asyncio.timeout(10):
            while True:
                events = await installation.store.event_count_by_state()
                if events.get("delivered", 0) + events.get("rejected", 0) >= expected:
                    break
                assert not running.done(), running
                await asyncio.sleep(0.01)
    finally:
        await dispatcher.stop()
        await running


def test_database_gauges_show_size_rows_and_the_next_prune(installation: Installation) -> None:
    installation.create_ok(NOW - 90_000)
    installation.create_ok(NOW + 3_600_000)
    scrape = installation.scrape()
    assert (scrape.value("espf_database_size_bytes") or 0) > 0
    assert scrape.value("espf_table_rows", table="events") == 2
    assert scrape.value("espf_oldest_event_age_seconds", state="scheduled") == 0.0
    assert scrape.value("espf_prune_next", state="delivered") == 0
    assert scrape.value("espf_storage_full") == 0
