"""espf copy (espf/copy.py): from an SQLite store into an empty store of each
backend, everything arrives with its ids, and new ids continue past them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from espf.copy import COPIED_TABLES, copy_database
from espf.domain import AccountKind, AccountRef, AttemptOutcome, DeliveryState, NewEvent, Role
from espf.errors import Conflict
from espf.maintenance import MaintenanceWindow
from espf.schedule_model import NewSchedule
from espf.schedules.decide import Decider
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
    producer = await source.user_create(7, "producer", "hash", Role.PRODUCER, T0)
    await source.user_create(7, "username", "hash", Role.PRODUCER, T0, weak_password=True)
    await source.api_token_create(producer.i_user, "billing", "token-hash", T0)
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
    for key in ("i_account=1", "i_account=2"):
        await source.schedule_create(schedule(key, custom.i_event_type), False, T0)
    await source.schedule_set_paused(1, 2, True, None, T0)
    # Occurrences of schedule 1 made: their identities are copied too.
    await source.schedule_materialize_due(T0 + 3 * 600_000, 10, Decider())
    # The record of an expunged account is copied, and its id continues.
    await source.account_expunge(1, AccountRef(AccountKind.I_ACCOUNT, "55"), T0, producer.i_user)
    return source


def schedule(key: str, i_event_type: int) -> NewSchedule:
    return NewSchedule(
        i_env=1,
        key=key,
        i_event_type=i_event_type,
        variables_json='{"i_account": 1}',
        rule="every 10 minutes",
        time_zone="UTC",
        start_at=None,
        end_at=None,
        catch_up="all",
        catch_up_window_s=3600,
        next_at=T0 + 600_000,
    )


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
        assert counts["schedules"] == 2 and counts["schedule_occurrences"] > 0
        assert counts["account_expunges"] == 1 and counts["console_attempt_minutes"] > 0
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
        assert later == counts["events"] + 1
        user = await target.user_create(1, "another", "hash", Role.ADMIN, T0)
        assert user.i_user == 3
        weak = await target.user_get_by_login("username")
        assert weak is not None and weak.weak_password
        found = await target.api_token_find("token-hash", T0)
        assert found is not None and found[1].login == "producer"
        assert await target.api_token_create(user.i_user, "next", "other-hash", T0) == 2
        assert await target.schedule_get(1, 2) == await source.schedule_get(1, 2)
        made = await target.schedule_create(schedule("i_account=3", 10001), False, T0)
        assert made.i_schedule == 3

        with pytest.raises(Conflict, match="not empty"):
            await copy_database(source, target, now_ms=T0, node_ttl_ms=15_000)
    finally:
        await target.close()
        await source.close()
