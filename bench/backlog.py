"""Scenarios 3, 4 and 5: lateness, memory and start-up, with no events
pending and with many (1,000,000 in the full run) pending over the next hours.

One service start serves all three figures, so the large backlog is built
once per backend: the pending events go into the database in bulk, due
between 10 minutes and 4 hours 10 minutes from now; then

- start-up: the clock runs from the fork of the service process to the first
  event/create answered 2xx (probed every 5 ms, a due-now event);
- lateness: a stream of events at 1,000/s through the API, each with
  ``start_time`` ``lead_ms`` ahead of its sending (ISO 8601 with
  milliseconds), the same instant in ``variables.t_ms``; the receiver
  computes arrival minus start_time;
- memory: resident memory (VmRSS, and the peak VmHWM) of every service
  process, sampled through the run.

Baselines: the same run with nothing pending; for start-up and memory with
nothing pending, the bare Starlette app of the ingest scenario.
"""

from __future__ import annotations

import math
import time
from typing import Any

import orjson

from bench import db, procs, receiver
from bench.config import RunConfig
from bench.ledger import settle
from bench.loadgen import Spec, run_in_process
from bench.procs import MemorySampler, log
from bench.profiling import Recording
from bench.report import MIB, Results, Row

FIRST_DUE_MS = 10 * 60 * 1000
SPREAD_MS = 4 * 3600 * 1000


def _probe_until_accepted(port: int, proc: procs.Proc, timeout: float = 60.0) -> float:
    """Seconds from the fork of ``proc`` to the first accepted event/create."""
    body = orjson.dumps({"event_type": db.EVENT_TYPE, "variables": {"probe": 1}})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if procs.post_event(port, body, db.AUTHORIZATION, timeout=5) is not None:
            return time.monotonic() - proc.started_at
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited at start:\n{proc.tail()}")
        time.sleep(0.005)
    raise RuntimeError(f"{proc.name} accepted no event within {timeout:g} s")


def _bare(cfg: RunConfig) -> dict[str, float]:
    proc, port = procs.start_baseline_app("bare-startup", cfg.work_dir / "backlog")
    try:
        startup = _probe_until_accepted(port, proc)
        time.sleep(0.5)
        return {"startup_s": startup, "rss": proc.rss_bytes()}
    finally:
        proc.stop()


def _percentile(sorted_values: list[float], p: float) -> float | None:
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(p * len(sorted_values)))]


def _one(cfg: RunConfig, results: Results, backend: str, pending: int) -> dict[str, Any]:
    work = cfg.work_dir / "backlog"
    tag = f"{backend}-{pending}"
    label = f"{'SQLite' if backend == 'sqlite' else 'PostgreSQL'}, {pending:,} pending"
    rproc, rport = procs.start_receiver(f"receiver-backlog-{tag}", work)
    database = db.fresh(backend, cfg.work_dir / "db", f"backlog-{tag}", rport)
    try:
        if pending:
            seconds = db.bulk_insert(database, pending, db.now_ms() + FIRST_DUE_MS, SPREAD_MS)
            log(f"  {label}: inserted in {seconds:.1f} s")
        port = procs.free_port()
        if backend == "sqlite":
            service = [procs.start_espf(f"espf-serve-{tag}", "serve", database.url, work, port)]
        else:
            service = [
                procs.start_espf(f"espf-api-{tag}", "api", database.url, work, port),
                procs.start_espf(f"espf-dispatcher-{tag}", "dispatcher", database.url, work),
            ]
        startup = _probe_until_accepted(port, service[0])
        first = receiver.wait_for(rport, 1, label, service, stall_s=30)
        first_delivery = (
            (first["first"] or 0) - (time.time() - time.monotonic()) - service[0].started_at
        )
        log(
            f"  {label}: first event accepted {startup:.2f} s after start, "
            f"delivered {first_delivery:.2f} s after start; "
            f"streaming {cfg.stream_rate:,.0f}/s for {cfg.stream_s:g} s"
        )
        spec = Spec(
            ports=[port],
            authorization=db.AUTHORIZATION,
            rate=cfg.stream_rate,
            duration_s=cfg.stream_s,
            warmup_s=0.0,
            connections=32,
            body_kind="scheduled",
            event_type=db.EVENT_TYPE,
            lead_ms=cfg.lead_ms,
            timeout_s=10.0,
            ids_path=str(work / f"stream-{tag}.ids"),
            watch_pids=[p.pid for p in service],
        )
        recordings = []
        if cfg.profile and pending:
            recordings = [
                Recording(p.pid, work / f"profile-backlog-{tag}-{p.name}.txt", cfg.stream_s)
                for p in service
            ]
        with MemorySampler(service) as memory:
            stream = run_in_process(spec, work, f"stream-{tag}")
            expected = stream["accepted"] + 1
            stats = receiver.wait_for(
                rport, expected, label, service, stall_s=cfg.lead_ms / 1000 + 15
            )
        for recording, proc in zip(recordings, service, strict=False):
            summary = recording.finish()
            if summary:
                results.details += [
                    f"#### Profile: {proc.name}, 1,000/s stream with {label}",
                    "",
                    "```",
                    summary,
                    "```",
                    "",
                ]
        rss = {p.name: p.rss_bytes() for p in service}
        peak = {p.name: p.peak_rss_bytes() for p in service}
        time.sleep(0.5)
        for proc in service:
            proc.stop()
        stats = receiver.stats_of(rport)
        receiver.dump(rport)
        results.ledgers.append(
            settle(
                f"lateness, {label}",
                pending + 1 + stream["accepted"],
                db.counts(database),
                stats,
            )
        )
    finally:
        rproc.stop()
        database.drop()
    _, _, lateness = receiver.load_dump(work / rproc.name)
    late = sorted(v for v in lateness if not math.isnan(v))
    result = {
        "label": label,
        "startup_s": startup,
        "first_delivery_s": first_delivery,
        "stream": stream,
        "lateness_p50": _percentile(late, 0.50),
        "lateness_p99": _percentile(late, 0.99),
        "lateness_max": late[-1] if late else None,
        "rss": rss,
        "peak_rss": peak,
        # The largest VmRSS sampled during the stream, per process.
        "max_rss": {
            p.name: max([v[n] for _, v in memory.samples] or [rss[p.name]])
            for n, p in enumerate(service)
        },
        "memory_samples": memory.samples,
        "roles": [p.name.split("-")[1] for p in service],
        "dump": str(work / rproc.name),
    }
    log(
        f"  {label}: lateness p50 {result['lateness_p50'] or 0:.1f} ms, p99 "
        f"{result['lateness_p99'] or 0:.1f} ms, max {result['lateness_max'] or 0:.0f} ms; "
        f"stream accepted {stream['accepted']:,}/{stream['sent']:,}, API p99 "
        f"{stream['p99_ms'] or 0:.1f} ms; generator timer late by {stream['timer_lag_max_ms']:.0f}"
        f" ms at most; others used {stream['other_cpu']:.0%} CPU; RSS "
        + ", ".join(
            f"{n} {result['max_rss'][n] / MIB:.1f} MiB (peak {v / MIB:.1f})"
            for n, v in peak.items()
        )
    )
    return result


def run(cfg: RunConfig, results: Results) -> None:
    log("start-up and memory baseline: the bare Starlette app")
    bare = _bare(cfg)
    log(
        f"  bare app: first answer {bare['startup_s']:.2f} s after start, "
        f"RSS {bare['rss'] / MIB:.1f} MiB"
    )
    results.data["backlog"] = {"bare": bare}
    for backend in cfg.backends:
        log(f"lateness, memory, start-up, {backend}: nothing pending")
        none = _one(cfg, results, backend, 0)
        log(f"lateness, memory, start-up, {backend}: {cfg.pending:,} pending")
        many = _one(cfg, results, backend, cfg.pending)
        results.data["backlog"][backend] = {"none": none, "many": many}
        _rows(results, backend, cfg.pending, bare, none, many)


def _rows(
    results: Results,
    backend: str,
    pending: int,
    bare: dict[str, float],
    none: dict[str, Any],
    many: dict[str, Any],
) -> None:
    name = "SQLite" if backend == "sqlite" else "PostgreSQL"
    with_many = f"{pending:,} pending"
    for key, target, limit in (
        ("lateness_p50", "<= 10 ms", 10.0),
        ("lateness_p99", "<= 50 ms", 50.0),
        ("lateness_max", "<= 1 s", 1000.0),
    ):
        value = many[key]
        results.rows.append(
            Row(
                f"lateness {name}, {with_many}: {key.split('_')[1]}",
                value,
                "ms",
                none[key],
                "nothing pending",
                target,
                None if value is None else value <= limit,
            )
        )
    for proc_many, proc_none in zip(many["max_rss"], none["max_rss"], strict=True):
        role = proc_many.split("-")[1]
        value, base = many["max_rss"][proc_many], none["max_rss"][proc_none]
        peaks = (none["peak_rss"][proc_none], many["peak_rss"][proc_many])
        results.rows.append(
            Row(
                f"memory {name} espf {role}, nothing pending: RSS",
                base,
                "MiB",
                bare["rss"],
                "bare app",
                "",
                None,
                note=f"largest VmRSS sampled every 0.25 s during the stream; the peak "
                f"(VmHWM, since the process started) was {peaks[0] / MIB:.1f} MiB",
            )
        )
        results.rows.append(
            Row(
                f"memory {name} espf {role}, {with_many}: RSS",
                value,
                "MiB",
                base,
                "nothing pending",
                "<= 128 MiB, <= +32 MiB",
                value <= 128 * MIB and value - base <= 32 * MIB,
                note=f"as above; peak VmHWM {peaks[1] / MIB:.1f} MiB",
            )
        )
    results.rows.append(
        Row(
            f"start-up {name}, nothing pending: to first accepted event",
            none["startup_s"],
            "s",
            bare["startup_s"],
            "bare app",
            "<= 1 s",
            none["startup_s"] <= 1.0,
        )
    )
    same = many["startup_s"] <= none["startup_s"] + max(0.1, 0.2 * none["startup_s"])
    results.rows.append(
        Row(
            f"start-up {name}, {with_many}: to first accepted event",
            many["startup_s"],
            "s",
            none["startup_s"],
            "nothing pending",
            "<= 1 s, same as none",
            many["startup_s"] <= 1.0 and same,
            note="'same' means within 0.1 s or 20% of the start with nothing pending",
        )
    )
