"""Starting, watching and stopping the processes of a benchmark.

Every process the benchmark starts is registered here and stopped by its own
pid when the run ends, even after an error: nothing is killed by name.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

LOOPBACK = "127.0.0.1"
BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
_started: list[Proc] = []
_t0 = time.monotonic()


def log(message: str) -> None:
    """Progress on stdout, prefixed with the time since the run began."""
    elapsed = int(time.monotonic() - _t0)
    print(f"[{elapsed // 60:02d}:{elapsed % 60:02d}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    started_at: float  # time.monotonic() just before the fork
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def _status(self, key: str) -> int:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def rss_bytes(self) -> int:
        return self._status("VmRSS")

    def peak_rss_bytes(self) -> int:
        return self._status("VmHWM")

    def cpu_seconds(self) -> float:
        """User plus system CPU time of the process (all its threads)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; return the exit code."""
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"{self.name} (pid {self.pid}) ignored SIGTERM for {timeout:g} s; killing it")
                self.popen.kill()
                self.popen.wait()
        with contextlib.suppress(ValueError):
            _started.remove(self)
        return self.popen.returncode

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start(name: str, argv: list[str], log_dir: Path, env: dict[str, str] | None = None) -> Proc:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    full_env = {**os.environ, **(env or {})}
    with open(log_path, "ab") as out:
        started_at = time.monotonic()
        popen = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=full_env, cwd=ROOT)
    proc = Proc(name, popen, started_at, log_path)
    _started.append(proc)
    return proc


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def espf_command(*args: str) -> list[str]:
    return [str(BIN / "espf"), *args]


def stop_all() -> None:
    """Stop whatever this run started and has not stopped yet."""
    for proc in reversed(list(_started)):
        proc.stop(timeout=10)


def http_ok(port: int, path: str = "/healthz", timeout: float = 1.0) -> bool:
    try:
        conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
        conn.request("GET", path)
        ok = conn.getresponse().status < 500
        conn.close()
        return ok
    except OSError:
        return False


def wait_until_listening(proc: Proc, port: int, timeout: float = 30.0, path: str = "/") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.tail()}")
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"{proc.name} is not listening on port {port} after {timeout:g} s")


@dataclass
class MemorySampler:
    """Samples the resident memory of some processes in a thread."""

    procs: list[Proc]
    interval_s: float = 0.25
    samples: list[tuple[float, list[int]]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> MemorySampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        t0 = time.monotonic()
        while not self._stop.wait(self.interval_s):
            self.samples.append((time.monotonic() - t0, [p.rss_bytes() for p in self.procs]))


# -- the processes under test and around them -----------------------------------------
def start_espf(
    name: str, command: str, database_url: str, log_dir: Path, port: int | None = None
) -> Proc:
    """``espf serve``, ``espf api`` or ``espf dispatcher``, configured by
    environment as an operator would, quiet as the README suggests for
    benchmarks."""
    env = {"ESPF_DATABASE_URL": database_url, "ESPF_LOG_LEVEL": "warning"}
    if port is not None:
        env["ESPF_PORT"] = str(port)
        env["ESPF_HOST"] = LOOPBACK
    return start(name, espf_command(command), log_dir, env)


def start_receiver(name: str, log_dir: Path) -> tuple[Proc, int]:
    port = free_port()
    proc = start(name, python_module("bench.receiver", str(port), str(log_dir / name)), log_dir)
    wait_until_listening(proc, port)
    return proc, port


def start_baseline_app(name: str, log_dir: Path) -> tuple[Proc, int]:
    port = free_port()
    proc = start(name, python_module("bench.baseline_app", str(port)), log_dir)
    return proc, port


def post_event(port: int, body: bytes, authorization: str, timeout: float = 5.0) -> int | None:
    """POST one event/create; return its i_event, or None if not accepted
    (refused connection, no answer, non-2xx)."""
    try:
        conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
        conn.request(
            "POST",
            "/espf/v1/event/create",
            body,
            {"Authorization": authorization, "Content-Type": "application/json"},
        )
        answer = conn.getresponse()
        data = answer.read()
        conn.close()
    except OSError:
        return None
    if not 200 <= answer.status < 300:
        return None
    try:
        return int(json.loads(data)["i_event"])
    except (ValueError, KeyError, TypeError):
        return 0


def machine_busy_cores(seconds: float = 3.0) -> float:
    """How many cores the machine keeps busy over ``seconds``, from /proc/stat."""

    def sample() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        total = sum(fields[:8])
        return total - fields[3] - fields[4], total

    busy0, total0 = sample()
    time.sleep(seconds)
    busy1, total1 = sample()
    return (busy1 - busy0) / max(1, total1 - total0) * (os.cpu_count() or 1)
