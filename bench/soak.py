"""The soak: a steady stream of events delivered to the receiver for minutes,
with retention short enough to prune during the run, reporting minute by
minute the database's size and the p99 of ``event/create`` and of delivery
lateness. With retention working both stay flat after the first retention
period; a run with retention out of reach (``--retention 365d``) grows.

    .venv/bin/python -m bench.soak --backend sqlite --minutes 15 --rate 100
    .venv/bin/python -m bench.soak --backend postgres --minutes 15 --retention 365d
    .venv/bin/python -m bench.soak --compare --minutes 15 --rate 50

``--compare`` runs both backends with retention and without it side by side
(four services, each with its own receiver and database; keep the rate
modest on a small machine), checks the flatness the issue asks for and draws
docs/img/soak.png. ``python -m bench --scenarios soak`` runs the same.

The ledger must still balance while pruning deletes: every accepted event
reached the receiver exactly once, or is still pending in the database.
Results (one JSON file per run, and a PNG when matplotlib is installed) go
to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bench import db, procs, receiver
from bench.config import RunConfig
from bench.procs import LOOPBACK, ROOT, log
from bench.report import Ledger, Results, Row

RESULTS = ROOT / "bench" / "results"


@dataclass
class Producer:
    """Posts ``rate`` events per second on one keep-alive connection and
    times each answer."""

    port: int
    rate: float
    sent: list[tuple[float, float]] = field(default_factory=list)  # (when, seconds)
    accepted: int = 0
    refused: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=30)
        headers = {"Authorization": db.AUTHORIZATION, "Content-Type": "application/json"}
        interval = 1.0 / self.rate
        next_at = time.monotonic()
        n = 0
        while not self.stop.is_set():
            now_ms = int(time.time() * 1000)
            body = orjson.dumps(
                {"event_type": db.EVENT_TYPE, "variables": {"i_event": n, "t_ms": now_ms}}
            )
            started = time.perf_counter()
            try:
                conn.request("POST", "/espf/v1/event/create", body, headers)
                answer = conn.getresponse()
                answer.read()
                ok = 200 <= answer.status < 300
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=30)
                ok = False
            self.sent.append((time.time(), time.perf_counter() - started))
            if ok:
                self.accepted += 1
                n += 1
            else:
                self.refused += 1
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)


def _p99(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]


def _size_bytes(database: db.Database) -> int:
    if database.path is not None:
        return sum(
            Path(f"{database.path}{suffix}").stat().st_size
            for suffix in ("", "-wal")
            if Path(f"{database.path}{suffix}").exists()
        )

    async def query() -> int:
        import asyncpg

        conn = await asyncpg.connect(database.url)
        try:
            return int(await conn.fetchval("SELECT pg_database_size(current_database())"))
        finally:
            await conn.close()

    return asyncio.run(query())


def _rows(database: db.Database) -> int:
    return db.counts(database).total_events


def run(
    backend: str, minutes: float, rate: float, retention: str, prune_every_s: float
) -> dict[str, Any]:
    tag = f"soak-{backend}-{retention}"
    work = RESULTS / "soak-work"
    rproc, rport = procs.start_receiver(f"receiver-{tag}", work)
    database = db.fresh(backend, work / "db", tag, rport)
    port = procs.free_port()
    windows = ",".join(
        f"{state}={retention}"
        for state in ("delivered", "superseded", "rejected", "failed", "cancelled", "unrouted")
    )
    env = {
        "ESPF_DATABASE_URL": database.url,
        "ESPF_LOG_LEVEL": "warning",
        "ESPF_PORT": str(port),
        "ESPF_HOST": LOOPBACK,
        "ESPF_RETENTION": windows,
        "ESPF_PRUNE_INTERVAL_S": str(prune_every_s),
    }
    service = procs.start(f"espf-serve-{tag}", procs.espf_command("serve"), work, env)
    minutes_out: list[dict[str, Any]] = []
    try:
        procs.wait_until_listening(service, port, path="/healthz")
        producer = Producer(port, rate)
        thread = threading.Thread(target=producer.run, daemon=True)
        log(f"soak {backend}: {rate:g} events/s for {minutes:g} min, retention {retention}")
        t0 = time.time()
        thread.start()
        for minute in range(1, math.ceil(minutes) + 1):
            while time.time() < t0 + 60 * minute:
                if not service.alive():
                    raise RuntimeError(f"espf died:\n{service.tail()}")
                time.sleep(1)
            size = _size_bytes(database)
            window = [s for when, s in producer.sent if t0 + 60 * (minute - 1) <= when]
            minutes_out.append(
                {
                    "minute": minute,
                    "size_bytes": size,
                    "events_in_db": _rows(database),
                    "create_p99_ms": (_p99(window) or 0) * 1000,
                }
            )
            log(
                f"  minute {minute}: database {size / 1e6:.1f} MB, "
                f"{minutes_out[-1]['events_in_db']:,} events kept, "
                f"event/create p99 {minutes_out[-1]['create_p99_ms']:.1f} ms"
            )
        producer.stop.set()
        thread.join()
        stats = receiver.wait_for(rport, producer.accepted, f"soak {backend}", [service])
        receiver.dump(rport)
        arrived, _, lateness = receiver.load_dump(work / rproc.name)
        for row in minutes_out:
            start, end = t0 + 60 * (row["minute"] - 1), t0 + 60 * row["minute"]
            late = [
                lateness[i]
                for i in range(len(arrived))
                if start <= arrived[i] < end and not math.isnan(lateness[i])
            ]
            row["lateness_p99_ms"] = _p99(late)
        counts = db.counts(database)
        ledger = {
            "accepted": producer.accepted,
            "refused": producer.refused,
            "delivered_once": stats["distinct"],
            "duplicates": stats["duplicates"],
            "pending_in_db": counts.pending,
            "balances": stats["distinct"] + counts.pending == producer.accepted
            and stats["duplicates"] == 0,
        }
    finally:
        service.stop()
        rproc.stop()
        database.drop()
    result = {
        "backend": backend,
        "rate": rate,
        "retention": retention,
        "minutes": minutes_out,
        "ledger": ledger,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{tag}.json").write_text(json.dumps(result, indent=2))
    log(f"soak {backend}: ledger {ledger}")
    return result


# "Without retention": a window the run never reaches.
NO_RETENTION = "365d"
# Flat means: within this share of the size at this minute (the test).
FLAT_FROM_MINUTE = 5
FLAT_SHARE = 0.20


def flatness(result: dict[str, Any]) -> dict[str, Any]:
    """Size at minute 5 and at the end, the largest size after minute 5
    against it, and the p99s of the first and last minutes after it."""
    rows = result["minutes"]
    if len(rows) <= FLAT_FROM_MINUTE:
        return {"flat": None}
    base = rows[FLAT_FROM_MINUTE - 1]["size_bytes"]
    later = rows[FLAT_FROM_MINUTE:]
    largest = max(r["size_bytes"] for r in later)
    return {
        "size_minute5_mb": base / 1e6,
        "size_final_mb": rows[-1]["size_bytes"] / 1e6,
        "size_max_after5_mb": largest / 1e6,
        "growth_after5": largest / base - 1,
        "flat": largest <= base * (1 + FLAT_SHARE),
        "create_p99_ms": [round(r["create_p99_ms"], 1) for r in rows],
        "lateness_p99_ms": [
            None if r["lateness_p99_ms"] is None else round(r["lateness_p99_ms"]) for r in rows
        ],
    }


def compare(
    backends: list[str], minutes: float, rate: float, retention: str, prune_every_s: float
) -> list[dict[str, Any]]:
    """Every backend with ``retention`` and without, side by side."""
    runs = [(b, r) for b in backends for r in (retention, NO_RETENTION)]
    results: dict[tuple[str, str], dict[str, Any]] = {}
    failures: list[str] = []

    def one(backend: str, window: str) -> None:
        try:
            results[(backend, window)] = run(backend, minutes, rate, window, prune_every_s)
        except Exception as exc:  # reported after the others finished
            failures.append(f"{backend} {window}: {exc}")

    threads = [threading.Thread(target=one, args=run_of, daemon=True) for run_of in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError("; ".join(failures))
    ordered = [results[k] for k in runs]
    for result in ordered:
        result["flatness"] = flatness(result)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "soak-compare.json").write_text(json.dumps(ordered, indent=2))
    return ordered


def draw(results: list[dict[str, Any]], out: Path) -> Path:
    """Size, event/create p99 and delivery lateness p99 per minute, one
    line per run: with retention solid, without it dashed."""
    from bench.plots import COLORS, _pyplot

    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for result in results:
        color = COLORS[0] if result["backend"] == "sqlite" else COLORS[1]
        kept = result["retention"] != NO_RETENTION
        label = f"{result['backend']}, " + (
            f"retention {result['retention']}" if kept else "no retention"
        )
        style = "-" if kept else "--"
        rows = result["minutes"]
        x = [r["minute"] for r in rows]
        axes[0].plot(x, [r["size_bytes"] / 1e6 for r in rows], style, color=color, label=label)
        axes[1].plot(x, [r["create_p99_ms"] for r in rows], style, color=color, label=label)
        axes[2].plot(
            x,
            [r["lateness_p99_ms"] or float("nan") for r in rows],
            style,
            color=color,
            label=label,
        )
    titles = ("database size (MB)", "event/create p99 (ms)", "delivery lateness p99 (ms)")
    for ax, title in zip(axes, titles, strict=True):
        ax.set_title(title)
        ax.set_xlabel("minute")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    rate = results[0]["rate"]
    fig.suptitle(f"Soak: {rate:g} events/s per run, delivered to a receiver, runs side by side")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def print_table(result: dict[str, Any]) -> None:
    print(f"\n{result['backend']}, retention {result['retention']}, {result['rate']:g} events/s")
    print("minute  size_MB  events_kept  create_p99_ms  lateness_p99_ms")
    for row in result["minutes"]:
        late = row["lateness_p99_ms"]
        print(
            f"{row['minute']:>6}  {row['size_bytes'] / 1e6:>7.1f}  {row['events_in_db']:>11,}  "
            f"{row['create_p99_ms']:>13.1f}  {'-' if late is None else f'{late:.0f}':>15}"
        )
    flat = result.get("flatness") or flatness(result)
    if flat.get("flat") is not None:
        print(
            f"size at minute {FLAT_FROM_MINUTE} {flat['size_minute5_mb']:.1f} MB, "
            f"final {flat['size_final_mb']:.1f} MB, largest after it "
            f"{flat['size_max_after5_mb']:.1f} MB ({flat['growth_after5']:+.0%}); "
            f"flat: {flat['flat']}"
        )
    print(f"ledger: {result['ledger']}")


def scenario(cfg: RunConfig, results: Results) -> None:
    """``python -m bench --scenarios soak``: the comparison, its figures in
    the table (size growth after minute 5 with retention against without)."""
    runs = compare(cfg.backends, cfg.soak_minutes, cfg.soak_rate, "1m", 10)
    results.data["soak"] = runs
    for result in runs:
        # Pruning deletes what was delivered: the receiver is the record.
        ledger = result["ledger"]
        results.ledgers.append(
            Ledger(
                scenario=f"soak, {result['backend']}, retention {result['retention']}",
                accepted=ledger["accepted"],
                delivered=ledger["delivered_once"],
                pending=ledger["pending_in_db"],
                failed=0,
                duplicates=ledger["duplicates"],
                db_events=ledger["accepted"],
                db_delivered=ledger["delivered_once"],
                problems=[] if ledger["balances"] else [f"does not balance: {ledger}"],
            )
        )
    for backend in cfg.backends:
        kept, grows = (
            next(r["flatness"] for r in runs if r["backend"] == backend and r["retention"] == w)
            for w in ("1m", NO_RETENTION)
        )
        if kept.get("flat") is None:
            continue
        results.rows.append(
            Row(
                f"soak {backend}: size growth after minute {FLAT_FROM_MINUTE}, retention 1 min",
                100 * kept["growth_after5"],
                "%",
                100 * grows["growth_after5"],
                "no retention",
                f"<= {FLAT_SHARE:.0%}",
                kept["flat"],
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--minutes", type=float, default=15)
    parser.add_argument("--rate", type=float, default=100, help="events per second")
    parser.add_argument("--retention", default="1m", help="window of every final state")
    parser.add_argument("--prune-every-s", type=float, default=10)
    parser.add_argument(
        "--compare",
        action="store_true",
        help="both backends, with retention and without, side by side; draws docs/img/soak.png",
    )
    args = parser.parse_args()
    try:
        if args.compare:
            results = compare(
                ["sqlite", "postgres"], args.minutes, args.rate, args.retention, args.prune_every_s
            )
        else:
            results = [
                run(args.backend, args.minutes, args.rate, args.retention, args.prune_every_s)
            ]
    finally:
        procs.stop_all()
    for result in results:
        print_table(result)
    if args.compare:
        log(f"wrote {draw(results, ROOT / 'docs' / 'img' / 'soak.png').relative_to(ROOT)}")
    raise SystemExit(0 if all(r["ledger"]["balances"] for r in results) else 1)


if __name__ == "__main__":
    main()
