"""Running espf as a real process: ``espf serve`` on a temporary SQLite
file and a free port, the CLI against the same database, and the API over
real HTTP."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

# Console scripts installed next to the interpreter running the tests
# (espf has no __main__, so `python -m espf` is not an option).
BIN = Path(sys.executable).parent
ADMIN_LOGIN = "admin"
ADMIN_PASSWORD = "admin-password-e2e"

# Short timings so that retries, liveness and restarts happen in test time.
FAST_SETTINGS = {
    # No schedule: plain exponential back-off from 0.2 s, capped at 1 s.
    "ESPF_RETRY_SCHEDULE": "",
    "ESPF_RETRY_BASE_S": "0.2",
    "ESPF_RETRY_CAP_S": "1",
    "ESPF_NODE_TTL_S": "2",
    "ESPF_HEARTBEAT_INTERVAL_S": "0.5",
    "ESPF_SHUTDOWN_GRACE_S": "2",
    "ESPF_HANDLER_TIMEOUT_S": "10",
    "ESPF_LOG_LEVEL": "info",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(
    condition: Callable[[], T | None], timeout: float, what: str, interval: float = 0.05
) -> T:
    """Poll ``condition`` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def utc_text(epoch_s: float) -> str:
    """The contract's start_time format, 'YYYY-MM-DD HH:MM:SS' in UTC."""
    return datetime.fromtimestamp(epoch_s, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def basic_auth(login: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()


class EspfProcess:
    """One espf installation: a database file, settings, and at most one
    running ``espf serve`` at a time (restartable on the same database)."""

    def __init__(self, workdir: Path, **settings: str) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.log_path = workdir / "espf.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ESPF_")}
        self.env.update(FAST_SETTINGS)
        self.env.update(
            {
                "ESPF_DATABASE_URL": f"sqlite:///{workdir / 'espf.db'}",
                "ESPF_HOST": "127.0.0.1",
                "ESPF_PORT": str(self.port),
                "ESPF_ADMIN_LOGIN": ADMIN_LOGIN,
                "ESPF_ADMIN_PASSWORD": ADMIN_PASSWORD,
            }
        )
        self.env.update(settings)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- the service -------------------------------------------------------------------
    def start(self, timeout: float = 20.0) -> EspfProcess:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(BIN / "espf"), "serve"],
                env=self.env,
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        wait_until(self._ready, timeout, f"espf to answer /healthz\n{self.log_tail()}")
        return self

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"espf exited with {self.proc.returncode}\n{self.log_tail()}")
        try:
            with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def kill9(self) -> None:
        """SIGKILL: no shutdown code runs, as in a power cut of the process."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no espf log)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return "--- espf log ---\n" + "\n".join(text[-lines:])

    # -- the CLI -----------------------------------------------------------------------
    def cli(self, *args: str, program: str = "espf") -> str:
        """Run ``espf``/``evctl`` on this installation's database; return stdout."""
        done = subprocess.run(
            [str(BIN / program), *args],
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 0, (
            f"{program} {' '.join(args)} exited {done.returncode}\n{done.stdout}{done.stderr}"
        )
        return done.stdout

    def add_handler(self, i_env: int, name: str, url: str, *options: str) -> None:
        self.cli("handler", "create", str(i_env), name, "--url", url, *options)

    def event_show(self, i_event: int) -> str:
        return self.cli("event", "show", str(i_event))

    def wait_for_event_show(self, i_event: int, text: str, timeout: float = 10.0) -> str:
        """Poll ``event show`` until it contains ``text``: outcomes are
        recorded just after the Application answers, not before."""
        shown = ""

        def has_text() -> str | None:
            nonlocal shown
            shown = self.event_show(i_event)
            return shown if text in shown else None

        try:
            return wait_until(has_text, timeout, f"{text!r} in event show", interval=0.2)
        except AssertionError as error:
            raise AssertionError(f"{error}; last output:\n{shown}") from None

    # -- the API -----------------------------------------------------------------------
    def post_event(
        self, body: Any, login: str = ADMIN_LOGIN, password: str = ADMIN_PASSWORD
    ) -> tuple[int, Any]:
        return self.call("event/create", body, login, password)

    def call(
        self, method: str, body: Any, login: str = ADMIN_LOGIN, password: str = ADMIN_PASSWORD
    ) -> tuple[int, Any]:
        """POST /espf/v1/<method> with a JSON body; return (status, JSON answer)."""
        request = urllib.request.Request(
            f"{self.base_url}/espf/v1/{method}",
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": basic_auth(login, password),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def create_event(self, body: Any, **auth: str) -> int:
        status, answer = self.post_event(body, **auth)
        assert status == 200, (status, answer)
        assert list(answer) == ["i_event"], answer
        return int(answer["i_event"])
