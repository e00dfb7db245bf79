"""espf copy (espf/copy.py): from an SQLite store into an empty store of each
backend, everything arrives with its ids, and new ids continue past them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from espf.copy import COPIED_TABLES, copy_database
from espf.domain import AttemptOutcome, DeliveryState, NewEvent, Role
from espf.errors import Conflict
from espf.maintenance import MaintenanceWindow
from espf.store import Store, create_store

from .senders import sender_settings

T0 = 1_700_000_000_000
SENDER = sender_settings(auth_header="X-Auth", timeout_s=12.5, enabled=False)


async def filled_source(path: Path) -> Store:
    source = create_store(f"sqlite:///{path}")
    await source.open()
    await source.migrate()
    await source.ensure_builtin_event_types(T0)
    await source.env_create(1, "default", T0)
    await source.env_create(7, "seventh", T0)
    await source.user_create(7, "producer", "hash", Role.PRODUCER, T0)
    custom = await source.event_type_create_custom("Custom/NextMonth", T0)
    handler = await source.handler_create(1, "EventSender", SENDER, T0)
    # Limited, with a maintenance window: its limiter row, its window and the
    # mark on its deliveries are copied too.
    limited = dataclasses.replace(SENDER, enabled=True, max_rate=10.0)
    on = await source.handler_create(1, "Other", limited, T0)
    window = MaintenanceWindow(0, on.i_handler, rule="daily at 01:00", duration_s=600)
    await source.maintenance_add(on, window, T0)
    await source.subscription_add(handler.i_handler, custom.i_event_type)
    await source.subscription_add(on.i_handler, custom.i_event_type)
    for n in range(12):
        await source.event_insert(NewEvent(1, custom.i_event_type, f'{{"n": {n}}}', T0 + n), T0)
    await source.event_insert(NewEvent(1, custom.i_event_type, "{}", T0 + 86_400_000), T0)
    claimed = await source.dispatch_due("node", T0 + 100, 5)
    await source.delivery_record_outcomes(
        "node",
        [
            AttemptOutcome(d.i_delivery, 1, T0 + 100, 3, 200, None, DeliveryState.DELIVERED, None)
            for d in claimed
        ],
    )
    return source


async def test_copy_keeps_everything_and_ids_continue(database_url: str, tmp_path: Path) -> None:
    source = await filled_source(tmp_path / "source.db")
    target = create_store(database_url)
    await target.open()
    seen: dict[str, int] = {}
    try:
        report = await copy_database(
            source,
            target,
            now_ms=T0,
            node_ttl_ms=15_000,
            progress=lambda table, done, total: seen.__setitem__(table, done),
        )
        counts = await source.copy_row_counts()
        assert report.rows_per_table == {t: counts[t] for t in COPIED_TABLES}
        assert seen == report.rows_per_table
        assert await target.copy_row_counts() == counts
        for table in COPIED_TABLES:
            assert await target.copy_read(table, -1, 10_000) == await source.copy_read(
                table, -1, 10_000
            ), table
        assert await target.handler_list(None) == await source.handler_list(None)
        assert await target.next_due_at() == await source.next_due_at()
        later = await target.event_insert(NewEvent(1, 10001, "{}", T0), T0)
        assert later == 14
        user = await target.user_create(1, "another", "hash", Role.ADMIN, T0)
        assert user.i_user == 2

        with pytest.raises(Conflict, match="not empty"):
            await copy_database(source, target, now_ms=T0, node_ttl_ms=15_000)
    finally:
        await target.close()
        await source.close()
