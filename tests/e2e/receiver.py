"""A real HTTP Application for end-to-end tests: it records every request
(headers, body, arrival time) and answers as the test scripts it to."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    arrived_at: float  # time.time() when the request line and headers were in
    method: str
    path: str
    headers: list[tuple[str, str]]  # in order, duplicates kept
    body: bytes

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def header(self, name: str) -> str:
        """The header's value; fails unless it is there exactly once."""
        values = self.header_values(name)
        assert len(values) == 1, f"expected one {name} header, got {values!r}"
        return values[0]

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def i_event(self) -> int:
        return int(self.json()["variables"]["i_event"])


class Receiver:
    """Answers 200 unless told otherwise by :meth:`answer_next`; holds each
    request ``hold_s`` seconds before answering when set."""

    def __init__(self, port: int = 0) -> None:
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._script: deque[tuple[int, dict[str, str]]] = deque()
        self.hold_s = 0.0
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="e2e-receiver", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/espf"

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()  # let held requests go
        self._server.shutdown()
        self._server.server_close()

    def answer_next(self, *statuses: int, headers: dict[str, str] | None = None) -> None:
        """The next requests get these statuses (with these headers), in
        order; then 200 again."""
        with self._lock:
            self._script.extend((status, headers or {}) for status in statuses)

    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def received_for(self, i_event: int) -> list[Received]:
        return [r for r in self.received() if r.i_event == i_event]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until at least ``count`` requests have arrived."""
        deadline = time.monotonic() + timeout
        while True:
            received = self.received()
            if len(received) >= count:
                return received
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"receiver got {len(received)} requests within {timeout} s, expected {count}"
                )
            time.sleep(0.02)

    # -- the server side ---------------------------------------------------------------
    def _record_and_choose(self, request: Received) -> tuple[int, dict[str, str]]:
        with self._lock:
            self._received.append(request)
            return self._script.popleft() if self._script else (200, {})

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real Application would

            def do_POST(self) -> None:
                arrived_at = time.time()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, extra_headers = receiver._record_and_choose(
                    Received(arrived_at, "POST", self.path, list(self.headers.items()), body)
                )
                if receiver.hold_s:
                    receiver._closing.wait(receiver.hold_s)
                answer = b"ok" if status < 300 else f"answer {status}".encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(answer)))
                    for name, value in extra_headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(answer)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender is gone (killed mid-request): nobody to answer

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output quiet

        return Handler
