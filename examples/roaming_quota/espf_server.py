"""Running espf itself for the story: ``espf serve`` on an SQLite file in a
working directory, on a free port, until the story ends."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def espf_command() -> str:
    """The espf installed next to this interpreter (the project's .venv), else on PATH."""
    beside = Path(sys.executable).parent / "espf"
    found = str(beside) if beside.exists() else shutil.which("espf")
    if found is None:
        raise RuntimeError("espf is not installed: run scripts/install first")
    return found


class EspfServer:
    def __init__(self, workdir: Path, login: str = "app") -> None:
        self.workdir = workdir
        self.port = free_port()
        self.login = login
        self.password = secrets.token_urlsafe(16)
        self.log_path = workdir / "espf.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> EspfServer:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ESPF_")}
        env.update(
            ESPF_DATABASE_URL=f"sqlite:///{self.workdir / 'espf.db'}",
            ESPF_HOST="127.0.0.1",
            ESPF_PORT=str(self.port),
            ESPF_ADMIN_LOGIN=self.login,
            ESPF_ADMIN_PASSWORD=self.password,
        )
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [espf_command(), "serve"],
                env=env,
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(f"espf exited; see {self.log_path}")
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"espf did not become ready; see {self.log_path}")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=10)
