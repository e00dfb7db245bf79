"""Behind a proxy: X-Forwarded-For names the client only when the request
comes from an address the operator trusts (forwarded_allow_ips). The login
throttle shows which address espf believed: it slows down that one."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.espf_process import EspfProcess

pytestmark = pytest.mark.e2e

LIMIT = 10  # failed logins per address and minute (api/throttle.py)


def _status(espf: EspfProcess, password: str, forwarded_for: str | None) -> int:
    credentials = base64.b64encode(f"admin:{password}".encode()).decode()
    headers = {"Authorization": f"Basic {credentials}", "Content-Type": "application/json"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    request = urllib.request.Request(
        f"{espf.base_url}/espf/v1/event/list", data=b"{}", method="POST", headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _guess_from(espf: EspfProcess, address: str) -> None:
    for _ in range(LIMIT):
        assert _status(espf, "wrong-password", address) == 401


def test_a_trusted_proxy_names_the_client(tmp_path: Path) -> None:
    espf = EspfProcess(tmp_path, ESPF_FORWARDED_ALLOW_IPS="127.0.0.1").start()
    try:
        _guess_from(espf, "203.0.113.7")
        assert _status(espf, "wrong-password", "203.0.113.7") == 429
        # The proxy itself, and other clients behind it, are not slowed down.
        assert _status(espf, espf.env["ESPF_ADMIN_PASSWORD"], None) == 200
        assert _status(espf, espf.env["ESPF_ADMIN_PASSWORD"], "198.51.100.9") == 200
    finally:
        espf.stop()


def test_without_trusted_proxies_the_header_is_ignored(tmp_path: Path) -> None:
    espf = EspfProcess(tmp_path).start()
    try:
        _guess_from(espf, "203.0.113.7")
        # The header did not change who the client is: the connection's
        # address (127.0.0.1) made the guesses, whatever the header says.
        assert _status(espf, espf.env["ESPF_ADMIN_PASSWORD"], "198.51.100.9") == 429
    finally:
        espf.stop()
