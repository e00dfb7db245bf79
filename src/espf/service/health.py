"""What probes and monitoring ask: is the schema current, how full is the queue."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from espf.domain import HandlerFlow
from espf.errors import Unavailable
from espf.maintenance import MaintenanceWindow, is_open, next_window
from espf.service.core import ServiceCore
from espf.store.sql_loader import load_migrations
from espf.store.storage_full import StorageFull, StorageWatch


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    """The queue at one instant, for the gauges of /metrics. The counts have
    only the states the store holds rows in."""

    now_ms: int
    events_by_state: dict[str, int]
    deliveries_by_state: dict[str, int]
    due_count: int
    oldest_due_at: int | None
    # Handlers with maintenance windows: is one open now?
    in_maintenance: dict[str, bool] = field(default_factory=dict)
    # Handlers with a rate or a limiter row: effective rate and circuit.
    flows: list[HandlerFlow] = field(default_factory=list)


@functools.cache
def latest_schema_version(backend: str) -> int:
    """The schema version this release needs: its number of migrations."""
    return len(load_migrations(backend))


class HealthOperations(ServiceCore):
    async def schema_version(self) -> int:
        """The version the database is at."""
        return await self.store.schema_version()

    def storage_watch(self) -> StorageWatch:
        """Whether the database's disk is full now (this process's view)."""
        return self.store.storage

    def require_storage_room(self) -> None:
        """Raise StorageFull while the last write failed for want of space."""
        watch = self.store.storage
        if watch.cause is not None:
            raise StorageFull(watch.cause)

    async def require_current_schema(self) -> int:
        """The schema version, or Unavailable when it is not the one this
        release needs (a newer node migrated, or 'espf migrate' is due)."""
        version = await self.store.schema_version()
        latest = latest_schema_version(self.store.backend)
        if version != latest:
            raise Unavailable(
                f"the database schema is at version {version}, this release needs "
                f"{latest}: run 'espf migrate'",
                code="schema_not_current",
            )
        return version

    async def queue_snapshot(self) -> QueueSnapshot:
        now = self.clock.now_ms()
        events = await self.store.event_count_by_state()
        deliveries = await self.store.delivery_count_by_state()
        count, oldest = await self.store.due_backlog(now)
        windows: dict[str, list[MaintenanceWindow]] = {}
        for name, window in await self.store.maintenance_list_all():
            windows.setdefault(name, []).append(window)
        in_maintenance = {
            name: is_open(next_window(found, now), now) for name, found in windows.items()
        }
        flows = await self.store.handler_flows(None)
        return QueueSnapshot(now, events, deliveries, count, oldest, in_maintenance, flows)
