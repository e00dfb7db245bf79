"""Scenario 6: recurring schedules, one per account.

- memory: many schedules (1,000,000 in the full run), all due next month,
  put into the database in bulk; the service is started and its resident
  memory (VmRSS, and the peak VmHWM) compared with the same service over no
  schedule. The materializer reads only the earliest next_at (one index
  lookup), so the schedules must cost no memory in the service.
- burst: many schedules (100,000 in the full run) due at one instant, as
  every account's month start is; from that instant the clock runs until the
  last of their events is in the database. Target: within 30 s.

The schedules go in with one INSERT ... SELECT over a number series: the
benchmark's own fast path, not the API. Their events are of a type no
handler is subscribed to, so that the figure is the materialization alone
(the delivery scenario measures the rate deliveries then flow at).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from typing import Any

from bench import db, procs
from bench.config import RunConfig
from bench.procs import MemorySampler, log
from bench.report import MIB, Results, Row

SCHEDULE_TYPE = "Custom/MonthStart"
# Time for the service to start before the burst's instant comes.
BURST_LEAD_MS = 15_000
BURST_TARGET_S = 30.0
MEMORY_SETTLE_S = 8.0

_INSERT = """
INSERT INTO schedules (i_env, key, i_event_type, variables, rule, time_zone, start_at, end_at,
                       catch_up, catch_up_window_s, paused, last_at, next_at, created_at,
                       updated_at)
SELECT 1, 'i_account=' || x, {i_event_type}, '{{"i_account": ' || x || '}}', '{rule}',
       '{zone}', {start_at}, NULL, 'skip', NULL, {false}, {last_at}, {next_at}, {now}, {now}
FROM {series}
"""


def _statement(backend: str, count: int, i_event_type: int, **values: Any) -> str:
    series = (
        f"generate_series(1, {count}) AS s(x)"
        if backend == "postgres"
        else f"(WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < {count})"
        " SELECT x FROM s)"
    )
    false = "false" if backend == "postgres" else "0"
    start_at = values.get("start_at")
    return _INSERT.format(
        i_event_type=i_event_type,
        series=series,
        false=false,
        start_at="NULL" if start_at is None else start_at,
        **{k: v for k, v in values.items() if k != "start_at"},
    )


def _run_sql(database: db.Database, sql: str, fetch: bool = False) -> Any:
    if database.backend == "sqlite":
        assert database.path is not None
        conn = sqlite3.connect(database.path, isolation_level=None, timeout=30)
        try:
            cursor = conn.execute(sql)
            return cursor.fetchone() if fetch else None
        finally:
            conn.close()

    async def run() -> Any:
        import asyncpg

        conn = await asyncpg.connect(database.url)
        try:
            return await conn.fetchrow(sql) if fetch else await conn.execute(sql)
        finally:
            await conn.close()

    return asyncio.run(run())


def _schedule_type(database: db.Database) -> int:
    async def create() -> int:
        from espf.config import Settings
        from espf.service import Service
        from espf.store import create_store

        store = create_store(database.url)
        await store.open()
        try:
            service = Service(store, Settings(database_url=database.url))
            return (await service.type_create(SCHEDULE_TYPE)).i_event_type
        finally:
            await store.close()

    return asyncio.run(create())


def _bulk(database: db.Database, count: int, **values: Any) -> float:
    t0 = time.monotonic()
    i_event_type = _schedule_type(database)
    _run_sql(database, _statement(database.backend, count, i_event_type, **values))
    if database.backend == "postgres":
        _run_sql(database, "ANALYZE schedules")
    return time.monotonic() - t0


def _start(backend: str, tag: str, database: db.Database, cfg: RunConfig) -> list[procs.Proc]:
    work = cfg.work_dir / "schedules"
    port = procs.free_port()
    if backend == "sqlite":
        return [procs.start_espf(f"espf-serve-{tag}", "serve", database.url, work, port)]
    return [
        procs.start_espf(f"espf-api-{tag}", "api", database.url, work, port),
        procs.start_espf(f"espf-dispatcher-{tag}", "dispatcher", database.url, work),
    ]


def _memory(cfg: RunConfig, backend: str, count: int) -> dict[str, int]:
    """The largest RSS of each service process over a few idle seconds."""
    tag = f"{backend}-memory-{count}"
    rproc, rport = procs.start_receiver(f"receiver-{tag}", cfg.work_dir / "schedules")
    database = db.fresh(backend, cfg.work_dir / "db", tag, rport)
    try:
        if count:
            now = db.now_ms()
            # Due in 30 days: the service never materializes them here.
            due = now + 30 * 86_400_000
            seconds = _bulk(
                database,
                count,
                rule="monthly on day 1 at 00:00",
                zone="Europe/Prague",
                last_at=now,
                next_at=due,
                now=now,
            )
            log(f"  {backend}: {count:,} schedules inserted in {seconds:.1f} s")
        service = _start(backend, tag, database, cfg)
        try:
            with MemorySampler(service) as memory:
                time.sleep(MEMORY_SETTLE_S)
            return {
                p.name.split("-")[1]: max([v[n] for _, v in memory.samples] or [p.rss_bytes()])
                for n, p in enumerate(service)
            }
        finally:
            for proc in service:
                proc.stop()
    finally:
        rproc.stop()
        database.drop()


def _burst(cfg: RunConfig, backend: str, count: int) -> dict[str, float | None]:
    tag = f"{backend}-burst-{count}"
    rproc, rport = procs.start_receiver(f"receiver-{tag}", cfg.work_dir / "schedules")
    database = db.fresh(backend, cfg.work_dir / "db", tag, rport)
    try:
        now = db.now_ms()
        instant = now + BURST_LEAD_MS
        # 'every 60 minutes' anchored at the instant: every schedule is due then.
        seconds = _bulk(
            database,
            count,
            rule="every 60 minutes",
            zone="UTC",
            start_at=instant,
            last_at=instant - 1,
            next_at=instant,
            now=now,
        )
        log(f"  {backend}: {count:,} schedules due at one instant inserted in {seconds:.1f} s")
        if db.now_ms() > instant - 5_000:
            raise RuntimeError("the bulk insert took too long for the burst's lead time")
        service = _start(backend, tag, database, cfg)
        try:
            done_after = None
            deadline = time.time() + BURST_LEAD_MS / 1000 + 120
            while time.time() < deadline:
                made = _run_sql(database, "SELECT count(*) FROM events", fetch=True)[0]
                if made >= count:
                    done_after = time.time() - instant / 1000
                    break
                time.sleep(0.1)
            return {"seconds": done_after}
        finally:
            for proc in service:
                proc.stop()
    finally:
        rproc.stop()
        database.drop()


def run(cfg: RunConfig, results: Results) -> None:
    many, burst = cfg.schedules, cfg.schedule_burst
    for backend in cfg.backends:
        name = "SQLite" if backend == "sqlite" else "PostgreSQL"
        log(f"schedules, {backend}: memory with none and with {many:,}")
        none = _memory(cfg, backend, 0)
        loaded = _memory(cfg, backend, many)
        for role, value in loaded.items():
            base = none[role]
            log(f"  {role}: {base / MIB:.1f} MiB with none, {value / MIB:.1f} MiB with {many:,}")
            results.rows.append(
                Row(
                    f"memory {name} espf {role}, {many:,} schedules: RSS",
                    value,
                    "MiB",
                    base,
                    "no schedule",
                    "<= +32 MiB",
                    value - base <= 32 * MIB,
                    note=f"largest VmRSS sampled over {MEMORY_SETTLE_S:g} s after start",
                )
            )
        log(f"schedules, {backend}: {burst:,} due at one instant")
        took = _burst(cfg, backend, burst)["seconds"]
        log(f"  all {burst:,} events made {took if took is not None else float('nan'):.2f} s after")
        results.rows.append(
            Row(
                f"schedules {name}: {burst:,} due at one instant, all events made",
                took,
                "s",
                None,
                "",
                f"<= {BURST_TARGET_S:g} s",
                None if took is None else took <= BURST_TARGET_S,
                note="from the instant to the last event in the database",
            )
        )
