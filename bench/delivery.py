"""Scenario 2, delivery: N events due at once, delivered to the receiver.

The events go into the database in bulk while no espf process runs, due a
moment ago; then the dispatcher starts (``espf serve`` on SQLite, one and
then two ``espf dispatcher`` on PostgreSQL) and the receiver times the
stream: delivered/s from the first arrival to the last.

Baseline: bench/baseline_sender.py, a plain aiohttp loop POSTing the same
bodies to the same receiver with espf's own concurrency (requests in flight,
keep-alive connections per handler), without a database.
"""

from __future__ import annotations

import time
from typing import Any

from bench import db, procs, receiver
from bench.config import RunConfig
from bench.ledger import settle
from bench.procs import log
from bench.profiling import Recording
from bench.report import Results, Row


def _rate(stats: dict[str, Any]) -> float | None:
    if not stats["distinct"] or stats["distinct"] < 2:
        return None
    span = stats["last_first_arrival"] - stats["first"]
    return (stats["distinct"] - 1) / span if span > 0 else None


def _baseline(cfg: RunConfig, when: str) -> tuple[float | None, str]:
    work = cfg.work_dir / "delivery"
    rproc, rport = procs.start_receiver(f"receiver-delivery-baseline-{when}", work)
    try:
        sender = procs.start(
            f"baseline-sender-{when}",
            procs.python_module(
                "bench.baseline_sender",
                str(rport),
                str(cfg.deliveries),
                str(cfg.concurrency),
                str(cfg.pool_connections),
            ),
            work,
        )
        stats = receiver.wait_for(rport, cfg.deliveries, "plain aiohttp loop", [])
        code = sender.popen.wait(60)
        sender.stop()
        if code != 0:
            raise RuntimeError(f"baseline sender failed:\n{sender.tail()}")
        receiver.dump(rport)
    finally:
        rproc.stop()
    rate = _rate(stats)
    log(f"  plain aiohttp loop: {rate or 0:,.0f}/s")
    return rate, str(work / rproc.name)


def _espf(
    cfg: RunConfig, results: Results, backend: str, dispatchers: int
) -> tuple[float | None, str]:
    work = cfg.work_dir / "delivery"
    tag = f"{backend}-{dispatchers}d"
    label = (
        "espf serve (SQLite)"
        if backend == "sqlite"
        else f"espf dispatcher x{dispatchers} (PostgreSQL)"
    )
    rproc, rport = procs.start_receiver(f"receiver-delivery-{tag}", work)
    database = db.fresh(backend, cfg.work_dir / "db", f"delivery-{tag}", rport)
    try:
        seconds = db.bulk_insert(database, cfg.deliveries, db.now_ms() - 2000, 1000)
        log(f"  {label}: {cfg.deliveries:,} due events inserted in {seconds:.1f} s")
        if backend == "sqlite":
            service = [
                procs.start_espf("espf-serve", "serve", database.url, work, procs.free_port())
            ]
        else:
            service = [
                procs.start_espf(f"espf-dispatcher-{i}", "dispatcher", database.url, work)
                for i in range(dispatchers)
            ]
        recordings = []
        if cfg.profile:
            # From the first arrival on: the start-up is measured elsewhere.
            receiver.wait_for(rport, 1, label, service)
            expect_s = max(3.0, cfg.deliveries / 4000)
            recordings = [
                Recording(p.pid, work / f"profile-delivery-{tag}-{p.name}.txt", expect_s)
                for p in service
            ]
        stats = receiver.wait_for(rport, cfg.deliveries, label, service)
        for recording, proc in zip(recordings, service, strict=False):
            summary = recording.finish()
            if summary:
                results.details += [
                    f"#### Profile: {proc.name}, delivery, {label}",
                    "",
                    "```",
                    summary,
                    "```",
                    "",
                ]
        time.sleep(1.0)  # the last outcomes are written in the background
        for proc in service:
            proc.stop()
        stats = receiver.stats_of(rport)
        receiver.dump(rport)
        results.ledgers.append(
            settle(f"delivery, {label}", cfg.deliveries, db.counts(database), stats)
        )
    finally:
        rproc.stop()
        database.drop()
    rate = _rate(stats)
    log(f"  {label}: {rate or 0:,.0f}/s")
    return rate, str(work / rproc.name)


def run(cfg: RunConfig, results: Results) -> None:
    """Each espf measurement right after a baseline measurement of its own:
    the machine is shared, and a baseline taken minutes apart drifts."""
    log(
        f"delivery: {cfg.deliveries:,} events due at once; baseline: plain aiohttp loop, "
        f"{cfg.concurrency} in flight over {cfg.pool_connections} connections, "
        "measured right before each espf run"
    )
    dumps: dict[str, str] = {}
    base_name = "plain aiohttp loop, just before"
    runs: list[tuple[str, str, int]] = []
    if "sqlite" in cfg.backends:
        runs.append(("espf serve (SQLite)", "sqlite", 1))
    if "postgres" in cfg.backends:
        runs += [
            ("espf dispatcher x1 (PostgreSQL)", "postgres", 1),
            ("espf dispatcher x2 (PostgreSQL)", "postgres", 2),
        ]
    measured: dict[str, tuple[float | None, float | None]] = {}
    for label, backend, dispatchers in runs:
        log(f"delivery: the plain aiohttp loop, before {label}")
        base, base_dump = _baseline(cfg, f"{backend}-{dispatchers}d")
        log(f"delivery: {label}")
        rate, dump = _espf(cfg, results, backend, dispatchers)
        measured[label] = (rate, base)
        dumps[label] = dump
        dumps.setdefault("plain aiohttp loop", base_dump)
        results.details.append(
            f"- delivery, {label}: {rate or 0:,.0f}/s; the plain aiohttp loop just before: "
            f"{base or 0:,.0f}/s"
        )
    results.details.append("")
    for label, (rate, base) in measured.items():
        met = None if rate is None or not base else rate / base >= 0.65
        results.rows.append(
            Row(
                f"delivery {label}: delivered/s",
                rate,
                "/s",
                base,
                base_name,
                ">= 65% of baseline",
                met,
            )
        )
    one = measured.get("espf dispatcher x1 (PostgreSQL)", (None, None))[0]
    two = measured.get("espf dispatcher x2 (PostgreSQL)", (None, None))[0]
    if "postgres" in cfg.backends:
        results.rows.append(
            Row(
                "delivery espf dispatcher x2 (PostgreSQL) against one dispatcher",
                two,
                "/s",
                one,
                "one dispatcher",
                "> 1 dispatcher",
                None if two is None or one is None else two > one,
            )
        )
    results.data["delivery"] = {"count": cfg.deliveries, "dumps": dumps}
