"""Scenario 6: the operator console with a large history.

The store gets ``cfg.pending`` events (1,000,000 in the full run), every one
delivered once over the last day (an event, its delivery and its attempt),
spread over 100,000 accounts; a few of them name ``i_account`` 541. Then
``espf api`` serves the console and a signed-in client times, on each
backend, the three pages an operator opens first at 3 a.m.:

- the overview (events by state, due soon, attempt charts, lateness, handlers),
- the first page of events,
- the events filtered by ``i_account = 541``.

Each figure is the median of ``REQUESTS`` requests after one warm-up request
(a console that has just started pays for its first chart once). The target
is 300 ms per page.
"""

from __future__ import annotations

import asyncio
import random
import re
import sqlite3
import statistics
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.cookiejar import CookieJar
from typing import Any

from bench import db, procs
from bench.config import RunConfig
from bench.procs import log
from bench.report import Results, Row

REQUESTS = 9
TARGET_MS = 300.0
ACCOUNTS = 100_000
DAY_MS = 24 * 3600 * 1000
PAGES = {
    "overview": "/console/",
    "first page of events": "/console/events",
    "events of i_account 541": "/console/events?variable=i_account%3D541",
}


def _history(i_event_type: int, count: int, seed: int = 6) -> Iterator[tuple[Any, ...]]:
    """(event, delivery, attempt) rows: delivered over the last day, one
    attempt each, 40 ms late on average."""
    rng = random.Random(seed)
    now = db.now_ms()
    for i in range(1, count + 1):
        start = now - DAY_MS + (i * DAY_MS) // (count + 1)
        account = 541 if i % (count // 5 or 1) == 0 else rng.randrange(1, ACCOUNTS)
        variables = f'{{"i_account": {account}, "seq": {i}}}'
        sent = start + rng.randrange(5, 80)
        yield (
            (1, i_event_type, variables, start, start, "delivered"),
            (i, i, 1, "delivered", 1, start, sent + 3, 200, start),
            (i, i, 1, sent, 3, 200, "delivered"),
        )


_EVENT = ("i_event", "i_env", "i_event_type", "variables", "start_at", "created_at", "state")
_DELIVERY = (
    "i_delivery",
    "i_event",
    "i_handler",
    "state",
    "attempts",
    "created_at",
    "finished_at",
    "last_status",
    "budget_from_at",
)
_ATTEMPT = (
    "i_attempt",
    "i_delivery",
    "attempt_no",
    "started_at",
    "duration_ms",
    "status_code",
    "outcome",
)


def _load(database: db.Database, count: int) -> float:
    """The history straight into the tables with the service stopped (the
    benchmark's own bulk path, as bulk_insert), then the planner's statistics."""
    t0 = time.monotonic()

    def part(index: int) -> Iterator[tuple[Any, ...]]:
        # One table's rows at a time (the same seed each time): a million
        # events are never all in memory.
        for number, rows in enumerate(_history(database.i_event_type, count), start=1):
            yield (number, *rows[0]) if index == 0 else rows[index]

    events, deliveries, attempts = part(0), part(1), part(2)
    if database.backend == "sqlite":
        assert database.path is not None
        conn = sqlite3.connect(database.path, isolation_level=None)
        try:
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("BEGIN")
            for table, columns, values in (
                ("events", _EVENT, events),
                ("deliveries", _DELIVERY, deliveries),
                ("attempts", _ATTEMPT, attempts),
            ):
                marks = ", ".join("?" for _ in columns)
                conn.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", values
                )
            conn.execute("COMMIT")
            conn.execute("ANALYZE")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    else:
        asyncio.run(_pg_load(database.url, events, deliveries, attempts))
    return time.monotonic() - t0


async def _pg_load(url: str, *tables: Iterator[tuple[Any, ...]]) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        for name, columns, records in zip(
            ("events", "deliveries", "attempts"), (_EVENT, _DELIVERY, _ATTEMPT), tables, strict=True
        ):
            await conn.copy_records_to_table(name, columns=columns, records=records)
        # Identity columns go on past the copied ids, as espf copy does.
        for table, key in (
            ("events", "i_event"),
            ("deliveries", "i_delivery"),
            ("attempts", "i_attempt"),
        ):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{key}'), "
                f"(SELECT max({key}) FROM {table}))"
            )
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


class _Browser:
    """Signs in through the console's form and keeps the session cookie."""

    def __init__(self, port: int) -> None:
        self.base = f"http://{procs.LOOPBACK}:{port}"
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=60) as answer:
            return str(answer.read().decode())

    def sign_in(self) -> None:
        form = self.get("/console/signin")
        token = re.search(r'name="token" value="([^"]+)"', form)
        assert token, "no sign-in form"
        body = urllib.parse.urlencode(
            {"login": db.ADMIN_LOGIN, "password": db.ADMIN_PASSWORD, "token": token.group(1)}
        ).encode()
        with self.opener.open(self.base + "/console/signin", data=body, timeout=60) as answer:
            assert "/signin" not in answer.geturl(), "sign-in refused"

    def time_ms(self, path: str) -> tuple[float, str]:
        t0 = time.perf_counter()
        page = self.get(path)
        return (time.perf_counter() - t0) * 1000, page


def run(cfg: RunConfig, results: Results) -> None:
    for backend in cfg.backends:
        work = cfg.work_dir / "console" / backend
        database = db.fresh(backend, work, "console", receiver_port=procs.free_port())
        try:
            loaded = _load(database, cfg.pending)
            log(f"console/{backend}: {cfg.pending:,} delivered events loaded in {loaded:.0f} s")
            port = procs.free_port()
            proc = procs.start_espf(f"console-{backend}", "api", database.url, work, port)
            try:
                procs.wait_until_listening(proc, port, path="/healthz")
                browser = _Browser(port)
                browser.sign_in()
                for figure, path in PAGES.items():
                    first, page = browser.time_ms(path)
                    if "541" in path:
                        assert "i_account</span>=541" in page, "account 541 not found"
                    times = sorted(browser.time_ms(path)[0] for _ in range(REQUESTS))
                    median = statistics.median(times)
                    log(
                        f"console/{backend}: {figure}: first {first:.0f} ms, "
                        f"median {median:.0f} ms, worst {times[-1]:.0f} ms"
                    )
                    results.rows.append(
                        Row(
                            figure=f"console {figure}, {backend}, {cfg.pending:,} events (median)",
                            value=median,
                            unit=" ms",
                            baseline=None,
                            baseline_name="",
                            target=f"< {TARGET_MS:.0f} ms",
                            met=median < TARGET_MS,
                            note=f"first request {first:.0f} ms",
                        )
                    )
            finally:
                proc.stop()
        finally:
            database.drop()
