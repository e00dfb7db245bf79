"""The Application stand-in: a fast aiohttp server, in its own process, that
answers 200 at once (keep-alive) and notes what arrived and when.

It counts ``i_event`` to find duplicates, and when ``variables.t_ms`` (the
event's start_time in epoch milliseconds) is present it computes lateness:
arrival minus start_time, on this machine's one clock.

    python -m bench.receiver PORT DUMP_PREFIX

``GET /_bench/stats`` answers counts; ``POST /_bench/dump`` writes the arrival
log (``DUMP_PREFIX.npz``-free: three raw arrays) for the report and plots.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from array import array
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from bench.procs import LOOPBACK, Proc, log


class Arrivals:
    def __init__(self) -> None:
        self.arrived = array("d")  # epoch seconds of each first arrival
        self.i_event = array("q")
        self.lateness_ms = array("d")  # NaN when the event carried no t_ms
        self.seen: set[int] = set()
        self.duplicates = 0
        self.received = 0
        self.last_arrival = 0.0


def make_app(arrivals: Arrivals, dump_prefix: str) -> web.Application:
    async def deliver(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        now = time.time()
        arrivals.received += 1
        arrivals.last_arrival = now
        variables = orjson.loads(body)["variables"]
        i_event = int(variables["i_event"])
        if i_event in arrivals.seen:
            arrivals.duplicates += 1
            return web.Response(status=200, text="")
        arrivals.seen.add(i_event)
        arrivals.arrived.append(now)
        arrivals.i_event.append(i_event)
        t_ms = variables.get("t_ms")
        arrivals.lateness_ms.append(now * 1000 - t_ms if t_ms is not None else float("nan"))
        return web.Response(status=200, text="")

    async def stats(request: web.Request) -> web.StreamResponse:
        return web.json_response(
            {
                "received": arrivals.received,
                "distinct": len(arrivals.seen),
                "duplicates": arrivals.duplicates,
                "first": arrivals.arrived[0] if arrivals.arrived else None,
                "last_first_arrival": arrivals.arrived[-1] if arrivals.arrived else None,
                "last_arrival": arrivals.last_arrival or None,
            }
        )

    async def dump(request: web.Request) -> web.StreamResponse:
        prefix = Path(dump_prefix)
        prefix.parent.mkdir(parents=True, exist_ok=True)
        Path(f"{prefix}.arrived").write_bytes(arrivals.arrived.tobytes())
        Path(f"{prefix}.i_event").write_bytes(arrivals.i_event.tobytes())
        Path(f"{prefix}.lateness").write_bytes(arrivals.lateness_ms.tobytes())
        return web.json_response({"written": len(arrivals.arrived)})

    app = web.Application(client_max_size=1 << 20)
    app.router.add_get("/_bench/stats", stats)
    app.router.add_post("/_bench/dump", dump)
    app.router.add_post("/{tail:.*}", deliver)
    return app


def main() -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    port, dump_prefix = int(sys.argv[1]), sys.argv[2]
    web.run_app(
        make_app(Arrivals(), dump_prefix),
        host=LOOPBACK,
        port=port,
        access_log=None,
        print=None,
        keepalive_timeout=75,
        shutdown_timeout=1,
    )


# -- the client side, used by the scenarios ---------------------------------------------
def stats_of(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/_bench/stats", timeout=10) as answer:
        result: dict[str, Any] = json.loads(answer.read())
        return result


def dump(port: int) -> None:
    request = urllib.request.Request(
        f"http://{LOOPBACK}:{port}/_bench/dump", data=b"", method="POST"
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        answer.read()


def load_dump(prefix: str | Path) -> tuple[array[float], array[int], array[float]]:
    arrived, ids, lateness = array("d"), array("q"), array("d")
    arrived.frombytes(Path(f"{prefix}.arrived").read_bytes())
    ids.frombytes(Path(f"{prefix}.i_event").read_bytes())
    lateness.frombytes(Path(f"{prefix}.lateness").read_bytes())
    return arrived, ids, lateness


def wait_for(
    port: int, expected: int, label: str, watched: list[Proc], stall_s: float = 30.0
) -> dict[str, Any]:
    """Wait until the receiver has ``expected`` distinct events, or nothing new
    arrived for ``stall_s``; report progress; fail if a watched process dies."""
    last_count, last_change, last_report = -1, time.monotonic(), 0.0
    while True:
        stats = stats_of(port)
        now = time.monotonic()
        if stats["distinct"] != last_count:
            last_count, last_change = stats["distinct"], now
        if stats["distinct"] >= expected:
            return stats
        if now - last_change > stall_s:
            log(f"  {label}: no progress for {stall_s:g} s at {stats['distinct']:,}/{expected:,}")
            return stats
        for proc in watched:
            if not proc.alive():
                raise RuntimeError(f"{proc.name} died:\n{proc.tail()}")
        if now - last_report > 5:
            log(f"  {label}: {stats['distinct']:,}/{expected:,} delivered")
            last_report = now
        time.sleep(0.2)


if __name__ == "__main__":
    main()
