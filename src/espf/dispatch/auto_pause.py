"""Pausing a handler that has failed without a break for too long.

Its deliveries are held, never dropped, and the pause is announced three
ways: a log line, a metric, and an ``ESPF/Handler/Paused`` event in the
handler's environment that other handlers can subscribe to.
"""

from __future__ import annotations

import logging

import orjson

from espf.clock import format_ms
from espf.domain import HandlerHealth, NewEvent
from espf.due_wakeups import DueWakeups
from espf.metrics import Metrics
from espf.standard_types import HANDLER_PAUSED_TYPE_ID
from espf.store import Store

log = logging.getLogger("espf.dispatch")


class AutoPauser:
    def __init__(
        self, store: Store, default_after_s: float, metrics: Metrics, wakeups: DueWakeups
    ) -> None:
        self._store = store
        self._default_after_s = default_after_s
        self._metrics = metrics
        self._wakeups = wakeups

    async def check(self, health: list[HandlerHealth], now: int) -> None:
        for handler in health:
            limit_s = handler.auto_pause_after_s or self._default_after_s
            if handler.paused or not handler.enabled or handler.circuit_opened is False:
                continue
            if now - handler.failing_since < limit_s * 1000:
                continue
            await self._pause(handler, limit_s, now)

    async def _pause(self, health: HandlerHealth, limit_s: float, now: int) -> None:
        handler = await self._store.handler_get(health.i_env, health.name)
        if handler is None:
            return
        since = format_ms(health.failing_since)
        reason = f"paused automatically: every attempt has failed since {since} UTC"
        announce = NewEvent(
            i_env=health.i_env,
            i_event_type=HANDLER_PAUSED_TYPE_ID,
            variables_json=orjson.dumps(
                {
                    "handler": health.name,
                    "i_handler": health.i_handler,
                    "failing_since": since,
                    "auto_pause_after_s": limit_s,
                    "reason": reason,
                }
            ).decode(),
            start_at=now,
        )
        if await self._store.handler_set_paused(handler, True, reason, now, announce):
            self._wakeups.due(announce.start_at)
            self._metrics.handlers_auto_paused.inc()
            log.warning(
                "handler %s (environment %d) paused: failing since %s UTC, longer than %g s; "
                "its deliveries are held until 'espf handler resume %d %s'",
                health.name,
                health.i_env,
                since,
                limit_s,
                health.i_env,
                health.name,
            )
