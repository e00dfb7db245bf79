"""Maintenance windows of a handler: add, list (with the one open now or
next), remove; and why a delivery waits while one is open."""

from __future__ import annotations

from dataclasses import dataclass, replace

from espf.circuit_breaker import circuit_reason
from espf.domain import Delivery, DeliveryState
from espf.errors import BadRequest, NotFound
from espf.maintenance import (
    MAX_WINDOWS_PER_HANDLER,
    MaintenanceWindow,
    OpenWindow,
    is_open,
    next_window,
    validate_window,
    waiting_reason,
    window_span,
)
from espf.service.handlers import HandlerOperations
from espf.store import Store


@dataclass(frozen=True, slots=True)
class MaintenanceState:
    handler: str
    windows: list[MaintenanceWindow]
    next: OpenWindow | None  # open now, or the next to open
    in_maintenance: bool
    reason: str | None  # "maintenance until 03:00 Europe/Prague" while open
    # Per window (same order): its span open now or next, None when it is over.
    spans: tuple[OpenWindow | None, ...] = ()


class MaintenanceOperations(HandlerOperations):
    async def maintenance_add(
        self, i_env: int, name: str, window: MaintenanceWindow
    ) -> MaintenanceWindow:
        handler = await self.handler_get(i_env, name)
        now = self.clock.now_ms()
        validate_window(window, now)
        if len(await self.store.maintenance_list(handler.i_handler)) >= MAX_WINDOWS_PER_HANDLER:
            raise BadRequest(
                f"handler {name!r} has {MAX_WINDOWS_PER_HANDLER} maintenance windows already: "
                "remove one first",
                code="too_many_windows",
            )
        i_window = await self.store.maintenance_add(handler, window, now)
        # Deliveries it holds back are due at its end: let sleeping dispatchers look again.
        self.wakeups.due(now)
        return replace(window, i_window=i_window, i_handler=handler.i_handler)

    async def maintenance_list(self, i_env: int, name: str) -> MaintenanceState:
        handler = await self.handler_get(i_env, name)
        windows = await self.store.maintenance_list(handler.i_handler)
        now = self.clock.now_ms()
        upcoming = next_window(windows, now)
        open_now = is_open(upcoming, now)
        reason = waiting_reason(upcoming, now) if open_now and upcoming else None
        spans = tuple(window_span(w, now) for w in windows)
        return MaintenanceState(handler.name, windows, upcoming, open_now, reason, spans)

    async def maintenance_open_now(self, i_env: int) -> dict[str, str]:
        """The handlers of an environment in maintenance now, by name, with
        the reason their deliveries wait (one read for every handler)."""
        names = {h.i_handler: h.name for h in await self.handler_list(i_env)}
        windows: dict[int, list[MaintenanceWindow]] = {}
        for _, window in await self.store.maintenance_list_all():
            if window.i_handler in names:
                windows.setdefault(window.i_handler, []).append(window)
        now = self.clock.now_ms()
        found: dict[str, str] = {}
        for i_handler, own in windows.items():
            span = next_window(own, now)
            if span is not None and is_open(span, now):
                found[names[i_handler]] = waiting_reason(span, now)
        return found

    async def maintenance_remove(self, i_env: int, name: str, i_window: int) -> MaintenanceState:
        handler = await self.handler_get(i_env, name)
        now = self.clock.now_ms()
        if not await self.store.maintenance_remove(handler, i_window, now):
            raise NotFound(
                f"handler {name!r} has no maintenance window {i_window}", code="unknown_window"
            )
        self.wakeups.due(now)  # what it held back may be due now
        return await self.maintenance_list(i_env, name)


async def with_waiting_reasons(
    store: Store, deliveries: list[Delivery], now: int
) -> list[Delivery]:
    """Pending deliveries of a handler in maintenance, or whose circuit is
    open, say why they wait."""
    pending = {d.i_handler for d in deliveries if d.state is DeliveryState.PENDING}
    reasons: dict[int, str] = {}
    for i_handler in sorted(pending):
        window = next_window(await store.maintenance_list(i_handler), now)
        if window is not None and is_open(window, now):
            reasons[i_handler] = waiting_reason(window, now)
    if pending:
        for flow in await store.handler_flows(sorted(pending)):
            if flow.circuit_opened_at is not None and flow.i_handler not in reasons:
                reasons[flow.i_handler] = circuit_reason(flow.circuit_opened_at, flow.probe_at)
    if not reasons:
        return deliveries
    return [
        replace(d, waiting=reasons[d.i_handler])
        if d.state is DeliveryState.PENDING and d.i_handler in reasons
        else d
        for d in deliveries
    ]
