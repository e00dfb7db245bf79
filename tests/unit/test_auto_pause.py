"""AutoPauser: a handler that has failed without a break for longer than its
limit (its own ``auto_pause_after_s``, else the service default) is paused,
and the pause is announced by an ``ESPF/Handler/Paused`` event and a metric.

The pauser is fed HandlerHealth rows as the outcome recorder would feed it,
and its effects are read back from a real SQLite store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from espf.clock import format_ms
from espf.config import Settings
from espf.dispatch.auto_pause import AutoPauser
from espf.domain import AuthMethod, Event, EventFilter, HandlerHealth, HandlerSettings
from espf.metrics import Metrics
from espf.service import Service
from espf.store import Store, create_store

I_ENV = 2
NOW = 1_700_000_000_000
DEFAULT_LIMIT_S = 30.0  # the service-wide auto_pause_after_s of these tests
PAUSED_TYPE = "ESPF/Handler/Paused"


@dataclass
class Setup:
    store: Store
    service: Service
    metrics: Metrics
    pauser: AutoPauser

    def paused_count(self) -> float:
        value = self.metrics.registry.get_sample_value("espf_handlers_auto_paused_total")
        assert value is not None, "the auto-pause counter is not exported"
        return value

    async def add_handler(self, name: str, **settings: Any) -> HandlerHealth:
        """A handler in I_ENV, and its health as the recorder would report it,
        failing since NOW (tests move failing_since back as they need)."""
        base = HandlerSettings(url="http://127.0.0.1:9/", auth_method=AuthMethod.NONE)
        handler = await self.service.handler_create(I_ENV, name, replace(base, **settings))
        return HandlerHealth(
            i_handler=handler.i_handler,
            i_env=I_ENV,
            name=name,
            failing_since=NOW,
            auto_pause_after_s=handler.auto_pause_after_s,
            paused=handler.paused,
            enabled=handler.enabled,
        )

    async def is_paused(self, name: str) -> bool:
        handler = await self.store.handler_get(I_ENV, name)
        assert handler is not None
        return handler.paused

    async def announcements(self) -> list[Event]:
        return await self.store.event_list(EventFilter(i_env=I_ENV, event_type=PAUSED_TYPE))


def failing_for(health: HandlerHealth, ms: int) -> HandlerHealth:
    """The same health, failing since ``ms`` before NOW."""
    return replace(health, failing_since=NOW - ms)


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'espf.db'}", auto_pause_after_s=DEFAULT_LIMIT_S
    )
    store = create_store(settings.database_url)
    await store.open()
    service = Service(store, settings)
    await service.prepare_database()
    await service.env_create("auto-pause", I_ENV)
    metrics = Metrics()
    try:
        yield Setup(
            store, service, metrics, AutoPauser(store, DEFAULT_LIMIT_S, metrics, service.wakeups)
        )
    finally:
        await store.close()


async def test_own_limit_decides_a_millisecond_either_side(setup: Setup) -> None:
    # Both handlers have their own 120 s limit, four times the default: a
    # pauser that used the default would pause both.
    older = failing_for(await setup.add_handler("Older", auto_pause_after_s=120.0), 120_001)
    younger = failing_for(await setup.add_handler("Younger", auto_pause_after_s=120.0), 119_999)

    await setup.pauser.check([older, younger], NOW)

    assert await setup.is_paused("Older")
    assert not await setup.is_paused("Younger")
    assert setup.paused_count() == 1
    [announced] = await setup.announcements()
    assert announced.variables["handler"] == "Older"
    assert announced.variables["auto_pause_after_s"] == 120.0


async def test_default_limit_applies_when_the_handler_has_none(setup: Setup) -> None:
    older = failing_for(await setup.add_handler("Older"), int(DEFAULT_LIMIT_S * 1000) + 1)
    younger = failing_for(await setup.add_handler("Younger"), int(DEFAULT_LIMIT_S * 1000) - 1)
    assert older.auto_pause_after_s is None  # else this would test the own-limit path

    await setup.pauser.check([older, younger], NOW)

    assert await setup.is_paused("Older")
    assert not await setup.is_paused("Younger")
    assert setup.paused_count() == 1


async def test_pause_is_announced_by_an_event_in_the_handler_environment(setup: Setup) -> None:
    health = failing_for(await setup.add_handler("App"), 3_600_000)

    await setup.pauser.check([health], NOW)

    [announced] = await setup.announcements()
    assert announced.i_env == I_ENV
    assert announced.event_type == PAUSED_TYPE
    # Due at once: other handlers subscribed to the type hear of it now.
    assert announced.start_at == NOW
    since = format_ms(NOW - 3_600_000)
    assert announced.variables["handler"] == "App"
    assert announced.variables["i_handler"] == health.i_handler
    assert announced.variables["failing_since"] == since
    assert since in announced.variables["reason"]
    # The handler itself records why it is paused, with the same reason.
    handler = await setup.store.handler_get(I_ENV, "App")
    assert handler is not None and handler.paused
    assert handler.paused_reason == announced.variables["reason"]
    assert handler.paused_at == NOW


async def test_a_paused_handler_is_not_paused_again(setup: Setup) -> None:
    health = await setup.add_handler("App")
    await setup.service.handler_pause(I_ENV, "App", "maintenance window")
    paused = replace(failing_for(health, 3_600_000), paused=True)

    await setup.pauser.check([paused], NOW)

    handler = await setup.store.handler_get(I_ENV, "App")
    assert handler is not None
    assert handler.paused_reason == "maintenance window"  # the operator's pause stands
    assert await setup.announcements() == []
    assert setup.paused_count() == 0


async def test_a_disabled_handler_is_not_paused(setup: Setup) -> None:
    # Disabled already holds its deliveries; pausing it too would need a
    # second operator action to bring it back, and announce a pause that
    # changes nothing.
    health = failing_for(await setup.add_handler("App", enabled=False), 3_600_000)
    assert not health.enabled

    await setup.pauser.check([health], NOW)

    assert not await setup.is_paused("App")
    assert await setup.announcements() == []
    assert setup.paused_count() == 0


async def test_each_handler_over_its_limit_counts_once(setup: Setup) -> None:
    first = failing_for(await setup.add_handler("First"), 60_000)
    second = failing_for(await setup.add_handler("Second"), 60_000)

    await setup.pauser.check([first, second], NOW)
    # The recorder may report the same failing handler again before it hears
    # of the pause: that must not pause, announce or count it twice.
    await setup.pauser.check([first], NOW + 1_000)

    assert await setup.is_paused("First") and await setup.is_paused("Second")
    assert sorted(e.variables["handler"] for e in await setup.announcements()) == [
        "First",
        "Second",
    ]
    assert setup.paused_count() == 2
