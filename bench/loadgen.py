"""An open-loop HTTP load generator for event/create, run in its own process.

Open loop, like wrk2: request ``i`` is due at ``t0 + i / rate`` whatever
happened to the earlier ones, and its latency is counted from that instant,
so a server that falls behind shows it as latency (queueing in front of a
busy connection counts) instead of quietly being offered less work.

It speaks just enough HTTP/1.1 over raw asyncio protocols (keep-alive, one
request in flight per connection, Content-Length bodies) to stay cheap: a
general client such as aiohttp would spend more CPU than the server under
test on this 2-core machine. Its own CPU use and how late its timer fires
are reported, to show it is not the bottleneck.

    python -m bench.loadgen SPEC.json RESULT.json
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import os
import resource
import sys
import time
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench.procs import LOOPBACK, python_module, start

# uvloop's loop.time() is libuv's cached millisecond clock: far too coarse
# for latencies of a millisecond or less.
_now = time.monotonic


@dataclass
class Spec:
    ports: list[int]
    authorization: str
    rate: float
    duration_s: float
    warmup_s: float = 1.0
    connections: int = 64
    path: str = "/espf/v1/event/create"
    # "fixed": the same body every time; "scheduled": start_time = now + lead_ms,
    # with the instant also in variables.t_ms for the receiver.
    body_kind: str = "fixed"
    fixed_body: str = ""
    event_type: str = "Custom/Bench"
    lead_ms: int = 2000
    timeout_s: float = 10.0
    samples_path: str = ""  # float32 latencies (ms) of the measured window
    ids_path: str = ""  # int64 i_event of every accepted request
    # Server processes whose CPU use over the measured window is reported.
    watch_pids: list[int] = dataclasses.field(default_factory=list)


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def _machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(fields[:8])
    return total - fields[3] - fields[4], total


def iso_ms(epoch_ms: int) -> str:
    """``2026-11-26T08:00:00.123+00:00``: start_time to the millisecond."""
    seconds, millis = divmod(epoch_ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}+00:00"


class _Conn(asyncio.Protocol):
    def __init__(self, gen: _Generator, port: int) -> None:
        self.gen = gen
        self.port = port
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.current: tuple[int, float] | None = None  # (seq, scheduled instant)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass
        self.gen.idle(self)

    def send(self, seq: int, scheduled: float) -> None:
        assert self.transport is not None
        self.current = (seq, scheduled)
        self.transport.write(self.gen.request_bytes(seq, self.port))

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while self.current is not None:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end]).lower()
            at = head.find(b"content-length:")
            length = 0
            if at >= 0:
                line_end = head.find(b"\r\n", at)
                length = int(head[at + 15 : line_end if line_end > 0 else None])
            total = end + 4 + length
            if len(self.buf) < total:
                return
            status = int(head[9:12])
            body = bytes(self.buf[end + 4 : total])
            del self.buf[:total]
            seq, scheduled = self.current
            self.current = None
            self.gen.done(seq, scheduled, status, body)
            if b"connection: close" in head:
                self.close()
                return
            self.gen.idle(self)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.current is not None:
            seq, scheduled = self.current
            self.current = None
            self.gen.failed(seq, scheduled, "connection lost")
        self.gen.lost(self)


class _Generator:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.loop = asyncio.get_running_loop()
        self.queue: collections.deque[tuple[int, float]] = collections.deque()
        self.free: list[_Conn] = []
        self.busy: set[_Conn] = set()
        self.measure_from = 0.0
        self.measure_to = 0.0
        self.latencies = array("f")
        self.ids = array("q")
        self.status_counts: collections.Counter[str] = collections.Counter()
        self.measured_ok = 0
        self.measured_sent = 0
        self.timer_lag: list[float] = []
        self.reconnects = 0
        self.closing = False
        self._headers: dict[int, bytes] = {}
        if spec.body_kind == "fixed":
            self._fixed = {
                port: self._request(port, spec.fixed_body.encode()) for port in spec.ports
            }

    def _request(self, port: int, body: bytes) -> bytes:
        head = self._headers.get(port)
        if head is None:
            head = (
                f"POST {self.spec.path} HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\n"
                f"Authorization: {self.spec.authorization}\r\n"
                "Content-Type: application/json\r\n"
            ).encode()
            self._headers[port] = head
        return head + b"Content-Length: %d\r\n\r\n" % len(body) + body

    def request_bytes(self, seq: int, port: int) -> bytes:
        if self.spec.body_kind == "fixed":
            return self._fixed[port]
        due_ms = int(time.time() * 1000) + self.spec.lead_ms
        body = orjson.dumps(
            {
                "event_type": self.spec.event_type,
                "variables": {"seq": seq, "t_ms": due_ms},
                "start_time": iso_ms(due_ms),
            }
        )
        return self._request(port, body)

    # -- connections ---------------------------------------------------------------
    async def connect(self, port: int) -> None:
        await self.loop.create_connection(lambda: _Conn(self, port), LOOPBACK, port)

    def idle(self, conn: _Conn) -> None:
        self.busy.discard(conn)
        if self.queue:
            seq, scheduled = self.queue.popleft()
            self.busy.add(conn)
            conn.send(seq, scheduled)
        else:
            self.free.append(conn)

    def lost(self, conn: _Conn) -> None:
        self.busy.discard(conn)
        if conn in self.free:
            self.free.remove(conn)
        if self.closing:
            return
        self.reconnects += 1
        self.loop.create_task(self._reconnect(conn.port))

    async def _reconnect(self, port: int) -> None:
        while True:
            try:
                await self.connect(port)
                return
            except OSError:
                await asyncio.sleep(0.05)

    def pump(self) -> None:
        while self.queue and self.free:
            conn = self.free.pop()
            seq, scheduled = self.queue.popleft()
            self.busy.add(conn)
            conn.send(seq, scheduled)

    # -- outcomes -----------------------------------------------------------------
    def _measured(self, scheduled: float) -> bool:
        return self.measure_from <= scheduled < self.measure_to

    def done(self, seq: int, scheduled: float, status: int, body: bytes) -> None:
        self.status_counts[str(status)] += 1
        ok = 200 <= status < 300
        if ok:
            at = body.find(b'"i_event":')
            if at >= 0:
                self.ids.append(int(body[at + 10 : body.find(b"}", at)]))
        if self._measured(scheduled):
            self.latencies.append((_now() - scheduled) * 1000)
            if ok:
                self.measured_ok += 1

    def failed(self, seq: int, scheduled: float, why: str) -> None:
        self.status_counts[why] += 1

    async def check_timeouts(self) -> None:
        while True:
            await asyncio.sleep(0.1)
            now = _now()
            for conn in list(self.busy):
                if conn.current is not None and now - conn.current[1] > self.spec.timeout_s:
                    seq, scheduled = conn.current
                    conn.current = None
                    self.failed(seq, scheduled, "timeout")
                    conn.close()
            while self.queue and now - self.queue[0][1] > self.spec.timeout_s:
                seq, scheduled = self.queue.popleft()
                self.failed(seq, scheduled, "timeout")

    # -- the schedule ---------------------------------------------------------------
    async def run(self) -> dict[str, Any]:
        spec = self.spec
        await asyncio.gather(
            *(self.connect(spec.ports[i % len(spec.ports)]) for i in range(spec.connections))
        )
        watchdog = self.loop.create_task(self.check_timeouts())
        total = int(spec.rate * (spec.warmup_s + spec.duration_s))
        t0 = _now() + 0.01
        self.measure_from = t0 + spec.warmup_s
        self.measure_to = t0 + spec.warmup_s + spec.duration_s
        usage_before: resource.struct_rusage | None = None
        server_before = 0.0
        machine_before = (0.0, 0.0)
        sent = 0
        while sent < total:
            now = _now()
            if usage_before is None and now >= self.measure_from:
                usage_before = resource.getrusage(resource.RUSAGE_SELF)
                server_before = _cpu_seconds(spec.watch_pids)
                machine_before = _machine_busy()
            due = min(total, int((now - t0) * spec.rate) + 1)
            while sent < due:
                scheduled = t0 + sent / spec.rate
                self.queue.append((sent, scheduled))
                if self.measure_from <= scheduled < self.measure_to:
                    self.measured_sent += 1
                sent += 1
            self.pump()
            wake = t0 + sent / spec.rate
            # libuv timers have a resolution of one millisecond; a shorter sleep
            # would spin. Requests due meanwhile go out together on waking.
            await asyncio.sleep(max(0.001, wake - _now()))
            self.timer_lag.append((_now() - wake) * 1000)
        usage_after = resource.getrusage(resource.RUSAGE_SELF)
        server_cpu = _cpu_seconds(spec.watch_pids) - server_before
        machine_after = _machine_busy()
        measured_wall = _now() - self.measure_from
        deadline = _now() + spec.timeout_s + 1
        while (self.queue or self.busy) and _now() < deadline:
            await asyncio.sleep(0.01)
        watchdog.cancel()
        cpu = 0.0
        if usage_before is not None:
            cpu = (usage_after.ru_utime + usage_after.ru_stime) - (
                usage_before.ru_utime + usage_before.ru_stime
            )
        self.closing = True
        for conn in list(self.free) + list(self.busy):
            conn.close()
        summary = self._summary(total, cpu / max(measured_wall, 1e-9))
        summary["server_cpu"] = server_cpu / max(measured_wall, 1e-9)
        # CPU (in cores) that neither the server nor this generator used: other
        # work on this shared machine, which the figures cannot control.
        busy = machine_after[0] - machine_before[0]
        total = machine_after[1] - machine_before[1]
        machine_cores = busy / total * (os.cpu_count() or 1) if total else 0.0
        summary["other_cpu"] = max(
            0.0, machine_cores - summary["server_cpu"] - summary["generator_cpu"]
        )
        return summary

    def _summary(self, total: int, cpu_share: float) -> dict[str, Any]:
        spec = self.spec
        lat = sorted(self.latencies)
        # A request that never completed counts as infinitely late.
        missing = self.measured_sent - len(lat)

        def pct(p: float) -> float | None:
            if not lat or missing > len(lat) * (1 - p):
                return None
            return float(lat[min(len(lat) - 1, int(p * (len(lat) + missing)))])

        if spec.samples_path:
            Path(spec.samples_path).write_bytes(self.latencies.tobytes())
        if spec.ids_path:
            Path(spec.ids_path).write_bytes(self.ids.tobytes())
        accepted = sum(n for s, n in self.status_counts.items() if s.startswith("2"))
        lag = sorted(self.timer_lag)
        return {
            "offered_rate": spec.rate,
            "sent": total,
            "accepted": accepted,
            "errors": total - accepted,
            "statuses": dict(self.status_counts),
            "measured_sent": self.measured_sent,
            "measured_ok": self.measured_ok,
            "accepted_rate": self.measured_ok / spec.duration_s,
            "p50_ms": pct(0.50),
            "p90_ms": pct(0.90),
            "p99_ms": pct(0.99),
            "max_ms": float(lat[-1]) if lat and not missing else None,
            "generator_cpu": cpu_share,
            "timer_lag_p99_ms": lag[int(0.99 * (len(lag) - 1))] if lag else 0.0,
            "timer_lag_max_ms": lag[-1] if lag else 0.0,
            "reconnects": self.reconnects,
        }


async def _main(spec: Spec) -> dict[str, Any]:
    return await _Generator(spec).run()


def run_in_process(spec: Spec, work_dir: Path, name: str) -> dict[str, Any]:
    """Run one load step in a process of its own and return its summary."""
    work_dir.mkdir(parents=True, exist_ok=True)
    spec_path = work_dir / f"{name}.spec.json"
    out_path = work_dir / f"{name}.result.json"
    spec_path.write_text(json.dumps(spec.__dict__))
    proc = start(
        f"loadgen-{name}", python_module("bench.loadgen", str(spec_path), str(out_path)), work_dir
    )
    budget = spec.warmup_s + spec.duration_s + spec.timeout_s + 30
    try:
        code = proc.popen.wait(budget)
    except Exception:
        proc.stop()
        raise
    proc.stop()
    if code != 0 or not out_path.exists():
        raise RuntimeError(f"load generator failed ({code}):\n{proc.tail()}")
    result: dict[str, Any] = json.loads(out_path.read_text())
    return result


def main() -> None:
    spec = Spec(**json.loads(Path(sys.argv[1]).read_text()))
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        runner = asyncio.Runner()
    with runner:
        result = runner.run(_main(spec))
    Path(sys.argv[2]).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
