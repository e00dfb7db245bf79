"""Scenarios 7-9: delivery limits, adaptive back-off, the circuit breaker,
with real ``espf dispatcher`` processes (three on PostgreSQL sharing one
budget, one on SQLite) and an Application in this process that records
every arrival (bench/flow_receiver.py).

- limits: 5,000 events due at once to a handler with max_rate = 50 (no
  one-second window over 55 arrivals, the batch in 100 s +- 5 %) and 60 to
  one with max_in_flight = 4 whose Application answers after 200 ms (never
  more than 4 open).
- adaptive: a handler with max_rate = 50 and an Application that answers
  503 to what exceeds 20 requests a second, then recovers: the effective
  rate, read every half second from the database, settles near 20/s and
  rises again; the curve goes to docs/img/adaptive-rate.png.
- breaker: an Application down for 60 s with 1,000 due deliveries: the
  attempts it costs, and every delivery made once it is back.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import orjson

from bench import db, procs
from bench.config import RunConfig
from bench.flow_receiver import FlowReceiver, most_in_one_second
from bench.procs import log
from bench.report import Results, Row
from espf.config import Settings
from espf.domain import AuthMethod, HandlerSettings, NewEvent, RetryOverrides
from espf.service import Service
from espf.store import create_store

ROOT = Path(__file__).resolve().parent.parent
PICTURE = ROOT / "docs" / "img" / "adaptive-rate.png"
RATE = 50.0
RATED_EVENTS = 5_000
NARROW_EVENTS = 60
HOLD_S = 0.2
CAPACITY = 20
OVERLOAD_S = 45.0
RECOVERY_S = 45.0
OUTAGE_S = 60.0
BREAKER_EVENTS = 1_000


def _nodes(backend: str) -> int:
    return 3 if backend == "postgres" else 1


async def _with_service(url: str, action: Callable[[Service], Awaitable[Any]]) -> Any:
    store = create_store(url, pool_size=2)
    await store.open()
    try:
        return await action(Service(store, Settings(database_url=url)))
    finally:
        await store.close()


async def _handler(service: Service, name: str, settings: HandlerSettings) -> None:
    await service.type_create(f"Custom/{name}")
    await service.handler_create(1, name, settings)
    await service.subscribe(1, name, f"Custom/{name}")


async def _make_due(url: str, counts: dict[str, int]) -> None:
    """Every event at once, due now, as month-start events fall due."""

    async def insert(service: Service) -> None:
        now = service.clock.now_ms()
        for name, count in counts.items():
            i_type = (await service.type_get(f"Custom/{name}")).i_event_type
            for first in range(0, count, 500):
                await asyncio.gather(
                    *(
                        service.store.event_insert(
                            NewEvent(1, i_type, orjson.dumps({"i": i}).decode(), now), now
                        )
                        for i in range(first, min(count, first + 500))
                    )
                )
        service.wakeups.due(now)
        await asyncio.sleep(0.2)  # the wake-up goes out after the commit

    await _with_service(url, insert)


def _start_dispatchers(cfg: RunConfig, backend: str, url: str, tag: str) -> list[procs.Proc]:
    work = cfg.work_dir / tag
    return [
        procs.start_espf(f"{tag}-{backend}-dispatcher{n}", "dispatcher", url, work)
        for n in range(_nodes(backend))
    ]


async def _until(done: Callable[[], bool], timeout_s: float, dispatchers: list[procs.Proc]) -> bool:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline or not all(p.alive() for p in dispatchers):
            return False
        await asyncio.sleep(0.2)
    return True


# -- limits -------------------------------------------------------------------------
async def limits_on(cfg: RunConfig, backend: str, database: db.Database, results: Results) -> None:
    receiver = await FlowReceiver().start()
    receiver.paths["Narrow"].hold_s = HOLD_S
    dispatchers: list[procs.Proc] = []
    try:

        async def prepare(service: Service) -> None:
            for name, limits in (("Rated", {"max_rate": RATE}), ("Narrow", {"max_in_flight": 4})):
                settings = HandlerSettings(
                    url=receiver.url(name), auth_method=AuthMethod.NONE, **limits
                )
                await _handler(service, name, settings)

        await _with_service(database.url, prepare)
        dispatchers = _start_dispatchers(cfg, backend, database.url, "limits")
        await asyncio.sleep(3.0)  # past their start-up
        await _make_due(database.url, {"Rated": RATED_EVENTS, "Narrow": NARROW_EVENTS})
        rated, narrow = receiver.paths["Rated"], receiver.paths["Narrow"]
        finished = await _until(
            lambda: len(rated.requests) >= RATED_EVENTS and len(narrow.requests) >= NARROW_EVENTS,
            RATED_EVENTS / RATE * 1.5,
            dispatchers,
        )
        await asyncio.sleep(0.5)
    finally:
        for proc in dispatchers:
            proc.stop()
        await receiver.stop()
    arrivals = sorted(rated.arrivals())
    busiest = most_in_one_second(arrivals)
    span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0.0
    expected = (RATED_EVENTS - 1) / RATE
    where = f"{backend}, {_nodes(backend)} dispatcher{'s' if _nodes(backend) > 1 else ''}"
    log(
        f"  limits on {where}: {len(arrivals)} arrivals in {span:.1f} s, busiest second "
        f"{busiest}, most open {narrow.most_open}"
    )
    results.data.setdefault("limits", {})[backend] = {
        "arrivals": len(arrivals),
        "span_s": span,
        "busiest": busiest,
        "most_open": narrow.most_open,
        "finished": finished,
    }
    results.rows += [
        Row(
            f"max_rate 50, {RATED_EVENTS:,} due: busiest second ({where})",
            busiest, "", None, "", "<= 55", busiest <= 55,
        ),
        Row(
            f"max_rate 50, {RATED_EVENTS:,} due: whole batch ({where})",
            span, " s", expected, "5,000 / 50", "100 s +- 5 %",
            finished and abs(span - expected) <= expected * 0.05,
        ),
        Row(
            f"max_in_flight 4, 200 ms answers: most open ({where})",
            narrow.most_open, "", None, "", "<= 4", narrow.most_open <= 4,
        ),
    ]  # fmt: skip


# -- adaptive back-off ---------------------------------------------------------------
async def adaptive_on(
    cfg: RunConfig,
    backend: str,
    database: db.Database,
    results: Results,
    overload_s: float = OVERLOAD_S,
    recovery_s: float = RECOVERY_S,
    draw: bool = True,
) -> None:
    receiver = await FlowReceiver().start()
    state = receiver.paths["Adaptive"]
    state.capacity = CAPACITY
    samples: list[tuple[float, float]] = []  # (s since the start, effective rate)
    dispatchers: list[procs.Proc] = []
    events = int((overload_s + recovery_s) * RATE)
    try:

        async def prepare(service: Service) -> None:
            settings = HandlerSettings(
                url=receiver.url("Adaptive"),
                auth_method=AuthMethod.NONE,
                max_rate=RATE,
                breaker_after=0,  # this scenario is about the rate alone
                retry=RetryOverrides(schedule="1"),
            )
            await _handler(service, "Adaptive", settings)

        await _with_service(database.url, prepare)
        dispatchers = _start_dispatchers(cfg, backend, database.url, "adaptive")
        await asyncio.sleep(3.0)
        await _make_due(database.url, {"Adaptive": events})
        t0 = time.monotonic()

        async def sample(service: Service) -> None:
            handler = await service.handler_get(1, "Adaptive")
            while time.monotonic() - t0 < overload_s + recovery_s:
                if time.monotonic() - t0 >= overload_s:
                    state.capacity = None  # the Application has recovered
                flow = (await service.handler_flows([handler]))[handler.i_handler]
                samples.append((time.monotonic() - t0, flow.effective_rate or 0.0))
                await asyncio.sleep(0.5)

        await _with_service(database.url, sample)
    finally:
        for proc in dispatchers:
            proc.stop()
        await receiver.stop()
    settled = [r for at, r in samples if overload_s / 2 <= at < overload_s]
    mean_settled = sum(settled) / len(settled) if settled else 0.0
    recovered = max((r for at, r in samples if at >= overload_s), default=0.0)
    sent = [at - t0 for at in state.arrivals()]
    accepted = [at - t0 for at in state.arrivals(200)]
    log(
        f"  adaptive on {backend}: effective rate {mean_settled:.1f}/s while the Application "
        f"takes {CAPACITY}/s, up to {recovered:.1f}/s within {recovery_s:g} s of its recovery"
    )
    results.data.setdefault("adaptive", {})[backend] = {
        "samples": samples,
        "sent": sent,
        "accepted": accepted,
        "mean_settled": mean_settled,
        "recovered": recovered,
    }
    results.rows += [
        Row(
            f"503 above {CAPACITY}/s: mean effective rate, 2nd half of the overload ({backend})",
            mean_settled, "/s", CAPACITY, "its capacity", "near 20/s", 15 <= mean_settled <= 25,
        ),
        Row(
            f"after recovery: highest effective rate within {recovery_s:g} s ({backend})",
            recovered, "/s", mean_settled, "while overloaded", "rises", recovered > mean_settled,
        ),
    ]  # fmt: skip
    if draw:
        _draw_adaptive(results.data["adaptive"][backend], backend)


def _per_second(times: list[float], until: float) -> tuple[list[float], list[int]]:
    seconds = list(range(int(until) + 1))
    counts = [0] * len(seconds)
    for at in times:
        if 0 <= at < len(counts):
            counts[int(at)] += 1
    return [s + 0.5 for s in seconds], counts


def _draw_adaptive(data: dict[str, Any], backend: str) -> None:
    try:
        importlib.import_module("matplotlib").use("Agg")
        plt: Any = importlib.import_module("matplotlib.pyplot")
    except ImportError:
        log("  matplotlib is missing: no picture of the effective rate")
        return
    until = OVERLOAD_S + RECOVERY_S
    fig, ax = plt.subplots(figsize=(8, 4))
    xs, sent = _per_second(data["sent"], until)
    _, accepted = _per_second(data["accepted"], until)
    ax.bar(xs, sent, width=1.0, color="#f3c1c1", label="requests sent per second")
    ax.bar(xs, accepted, width=1.0, color="#b9d9b9", label="accepted (200) per second")
    ax.plot(
        [at for at, _ in data["samples"]],
        [r for _, r in data["samples"]],
        color="#1f4e99",
        linewidth=2,
        label="effective rate (from the limiter row)",
    )
    ax.axhline(RATE, color="grey", linestyle=":", label=f"max_rate {RATE:g}/s")
    ax.axhline(CAPACITY, color="#a33", linestyle="--", label=f"Application takes {CAPACITY}/s")
    ax.axvline(OVERLOAD_S, color="black", linewidth=0.8)
    ax.text(OVERLOAD_S + 1, RATE * 0.9, "Application recovers", fontsize=8)
    ax.set_xlabel("seconds since the events fell due")
    ax.set_ylabel("requests per second")
    ax.set_title(f"Adaptive back-off, {backend}, {_nodes(backend)} dispatcher(s)")
    ax.set_xlim(0, until)
    ax.set_ylim(0, RATE * 1.2)
    ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    PICTURE.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(PICTURE, dpi=100)
    plt.close(fig)
    log(f"  wrote {PICTURE.relative_to(ROOT)}")


# -- circuit breaker ----------------------------------------------------------------
async def breaker_on(
    cfg: RunConfig,
    backend: str,
    database: db.Database,
    results: Results,
    events: int = BREAKER_EVENTS,
    outage_s: float = OUTAGE_S,
) -> None:
    receiver = await FlowReceiver().start()
    state = receiver.paths["Down"]
    state.down = True
    dispatchers: list[procs.Proc] = []
    try:

        async def prepare(service: Service) -> None:
            settings = HandlerSettings(
                url=receiver.url("Down"),
                auth_method=AuthMethod.NONE,
                retry=RetryOverrides(schedule="1,2,4,8,16"),
            )
            await _handler(service, "Down", settings)

        await _with_service(database.url, prepare)
        dispatchers = _start_dispatchers(cfg, backend, database.url, "breaker")
        await asyncio.sleep(3.0)
        await _make_due(database.url, {"Down": events})
        await asyncio.sleep(outage_s)
        failed = len(state.requests)
        state.down = False
        back = time.monotonic()
        delivered = await _until(lambda: len(state.arrivals(200)) >= events, 120, dispatchers)
        after_s = time.monotonic() - back
    finally:
        for proc in dispatchers:
            proc.stop()
        await receiver.stop()
    accepted = len(set(state.arrivals(200)))
    log(
        f"  breaker on {backend}: {failed} failed attempts in {outage_s:g} s down for "
        f"{events:,} due; all delivered {after_s:.1f} s after it came back: {delivered}"
    )
    results.data.setdefault("breaker", {})[backend] = {
        "failed": failed,
        "delivered": accepted,
        "after_s": after_s,
        "all_delivered": delivered,
    }
    bound = failure_bound(_nodes(backend), outage_s)
    results.data["breaker"][backend]["bound"] = bound
    results.rows += [
        Row(
            f"down {outage_s:g} s, {events:,} due: failed attempts ({backend})",
            failed, "", events, "one each", f"<= {bound}", failed <= bound,
        ),
        Row(
            f"... every delivery made after it is back ({backend})",
            after_s, " s", None, "", "all delivered", delivered,
        ),
    ]  # fmt: skip


def failure_bound(nodes: int, outage_s: float) -> int:
    """The attempts a dead Application may cost, however many deliveries
    wait: each node's turns until it has seen the run of failures that opens
    the circuit, then the probes."""
    # Imported here: the limits scenario also runs on code from before them.
    from espf.circuit_breaker import DEFAULT_BREAKER_AFTER, probes_within
    from espf.dispatch.breaker_gate import PROBATION_REQUESTS

    return nodes * (DEFAULT_BREAKER_AFTER + PROBATION_REQUESTS) + probes_within(outage_s)


def on_fresh_database(
    scenario: Callable[..., Coroutine[Any, Any, None]],
    cfg: RunConfig,
    backend: str,
    results: Results,
    **options: Any,
) -> None:
    """Run ``scenario`` on a database of its own, made and dropped around it
    (bench/db.py runs its own event loop for that)."""
    tag = scenario.__name__.removesuffix("_on")
    # The database's own handler is not used: each scenario makes its own.
    database = db.fresh(backend, cfg.work_dir / tag, tag, 9)
    try:
        asyncio.run(scenario(cfg, backend, database, results, **options))
    finally:
        database.drop()


def _each_backend(
    scenario: Callable[..., Coroutine[Any, Any, None]],
) -> Callable[[RunConfig, Results], None]:
    def run(cfg: RunConfig, results: Results) -> None:
        for backend in cfg.backends:
            log(f"{scenario.__name__} {backend}")
            on_fresh_database(scenario, cfg, backend, results)

    return run


run_limits = _each_backend(limits_on)
run_adaptive = _each_backend(adaptive_on)
run_breaker = _each_backend(breaker_on)
