"""A full disk is an outage the service reports, not a crash.

``espf serve`` on SQLite, its database on a 3 MB tmpfs the test mounts: fill
the filesystem through the API until SQLite says "database or disk is full",
see 503 with ``Retry-After`` and the cause (in /readyz and /metrics too),
free space, see 200 again from the same process, and find every event it
acknowledged."""

from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI
from tests.e2e.espf_process import ADMIN_LOGIN, ADMIN_PASSWORD, EspfProcess, basic_auth

pytestmark = pytest.mark.e2e

PAYLOAD = "x" * 8_000  # an event of about 8 kB: a few hundred fill 3 MB


def _request(url: str, body: Any | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        method="GET" if body is None else "POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": basic_auth(ADMIN_LOGIN, ADMIN_PASSWORD),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                response.read(),
            )
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs mounted for this test (needs root; CI runs as root)."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    if os.geteuid() != 0:
        reason = "mounting a 3 MB tmpfs needs root"
        if IN_CI:
            pytest.fail(f"{reason}; under CI=true this test must run")
        pytest.skip(reason)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        reason = f"could not mount a tmpfs: {done.stderr.strip()}"
        if IN_CI:
            pytest.fail(f"{reason}; under CI=true this test must run")
        pytest.skip(reason)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_answers_503_and_recovers_without_a_restart(
    tmp_path: Path, small_disk: Path
) -> None:
    # The log stays off the small disk: only the database fills it.
    espf = EspfProcess(tmp_path, ESPF_DATABASE_URL=f"sqlite:///{small_disk / 'espf.db'}")
    espf.start()
    # Room an operator can free later: a file of 1 MB beside the database.
    ballast = small_disk / "ballast"
    ballast.write_bytes(b"\0" * 1_000_000)
    try:
        base = espf.base_url
        create = f"{base}/espf/v1/event/create"
        acknowledged: list[int] = []
        refused: list[tuple[int, dict[str, str], dict[str, Any]]] = []
        for n in range(2_000):
            body = {"event_type": "Account/BalanceChanged", "variables": {"n": n, "pad": PAYLOAD}}
            status, headers, raw = _request(create, body)
            if status == 200:
                acknowledged.append(int(json.loads(raw)["i_event"]))
                continue
            refused.append((status, headers, json.loads(raw)))
            if len(refused) >= 5:
                break
        assert refused, "3 MB never filled up"
        assert len(acknowledged) > 10, "the database filled before anything was stored"
        for status, headers, answer in refused:
            assert status == 503, answer
            assert answer["error"] == "storage_full", answer
            assert "disk is full" in answer["message"], answer
            assert int(headers["retry-after"]) > 0

        status, headers, raw = _request(f"{base}/readyz")
        assert status == 503 and json.loads(raw)["error"] == "storage_full", raw
        assert "retry-after" in headers
        _, _, page = _request(f"{base}/metrics")
        assert b"espf_storage_full 1.0" in page
        # A small write (a heartbeat) may commit in between and end an episode,
        # so more than one can be counted; at least one must be.
        episodes = re.search(rb"^espf_storage_full_episodes (\S+)$", page, re.M)
        assert episodes is not None and float(episodes.group(1)) >= 1, page
        counted_episodes = int(float(episodes.group(1)))

        # Space returns: the operator deletes a file. No restart.
        ballast.unlink()
        status, _, raw = _request(create, {"event_type": "Account/BalanceChanged"})
        assert status == 200, raw
        acknowledged.append(int(json.loads(raw)["i_event"]))
        status, _, raw = _request(f"{base}/readyz")
        assert status == 200, raw
        _, _, page = _request(f"{base}/metrics")
        assert b"espf_storage_full 0.0" in page

        for i_event in acknowledged:
            status, _, raw = _request(f"{base}/espf/v1/event/get", {"i_event": i_event})
            assert status == 200, (i_event, raw)

        log = espf.log_path.read_text(errors="replace")
        # Once per episode (the recovery above ends the last one), not once per
        # refused request: five refusals, at most as many lines as episodes.
        full_lines = log.count("the database's disk is full: writes are refused")
        assert full_lines == counted_episodes, log[-3000:]
        assert log.count("accepts writes again") == counted_episodes
        assert "Traceback" not in log, log[-3000:]
    finally:
        espf.stop()
