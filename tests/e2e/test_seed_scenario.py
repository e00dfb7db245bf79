"""The seed document's scenario, end to end, with real processes: evctl set-up,
an API user, a scheduled Custom/NextMonth, and what the Application gets."""

from __future__ import annotations

import base64
import re
import socket
import subprocess
import time
from email.utils import parsedate_to_datetime

import pytest

from tests.e2e.espf_process import BIN, EspfProcess, basic_auth, utc_text
from tests.e2e.receiver import Receiver

pytestmark = pytest.mark.e2e

# The seed request's header, literally: username:secret.
SEED_AUTHORIZATION = "Basic dXNlcm5hbWU6c2VjcmV0"

# IMF-fixdate (RFC 9110), the HTTP-date form senders must generate.
HTTP_DATE = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$"
)


def test_scheduled_custom_event_reaches_the_application_at_its_start_time(
    espf: EspfProcess, receiver: Receiver
) -> None:
    # Step 1: the custom type, with the original's exact answer.
    assert espf.cli("type", "create", "Custom/NextMonth") == (
        "Created event type #10001 Custom/NextMonth\n"
    )
    # Environment 3 with its EventSender pointing at the Application.
    espf.cli("env", "create", "--i-env", "3", "production")
    espf.add_handler(3, "EventSender", receiver.url, "--login", "espf", "--password", "s3cret")
    # Step 2: the subscription, through the original's command name.
    subscribed = espf.cli(
        "handler", "subscribe", "3", "EventSender", "Custom/NextMonth", program="evctl"
    )
    assert subscribed == "Handler EventSender is subscribed to Custom/NextMonth\n"
    # The seed's own credential, username:secret, is below the length rule:
    # refused by default, provisioned with the explicit opt-in.
    refused = subprocess.run(
        [str(BIN / "espf"), "user", "create", "3", "username", "--password", "secret"],
        env=espf.env,
        cwd=espf.workdir,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2 and "--allow-weak-password" in refused.stderr
    created = espf.cli(
        "user", "create", "3", "username", "--password", "secret", "--allow-weak-password"
    )
    assert "weak password" in created
    assert re.search(r"3\s+username\s+producer\s+weak", espf.cli("user", "list", "3"))
    assert basic_auth("username", "secret") == SEED_AUTHORIZATION

    # Step 4: the Application schedules the event. start_time has whole
    # seconds, so it lies 1 to 2 seconds ahead.
    start_s = float(int(time.time()) + 2)
    i_event = espf.create_event(
        {
            "event_type": " Custom/NextMonth ",
            "variables": {"i_account": 541},
            "start_time": utc_text(start_s),
        },
        login="username",
        password="secret",
    )

    [request] = receiver.wait_for(1, timeout=10)
    assert request.arrived_at >= start_s, "delivered before its start_time"
    assert request.arrived_at <= start_s + 1.0, "delivered late"

    assert (request.method, request.path) == ("POST", "/espf")
    assert request.json() == {
        "event_type": "Custom/NextMonth",
        "variables": {"i_account": 541, "i_event": i_event, "i_env": 3},
    }
    assert request.header("Content-Type") == "application/json"
    expected_auth = "Basic " + base64.b64encode(b"espf:s3cret").decode()
    assert request.header("Authorization") == expected_auth
    date = request.header("Date")
    assert HTTP_DATE.match(date), date
    sent_at = parsedate_to_datetime(date).timestamp()
    assert abs(sent_at - request.arrived_at) < 2.0  # "when the request was made"

    shown = espf.wait_for_event_show(i_event, "delivered, 1 attempt(s)")
    assert f"Event #{i_event}  Custom/NextMonth  (environment 3)" in shown
    assert f"start_time: {utc_text(start_s)} UTC" in shown
    assert re.search(r"delivery #\d+ to EventSender: delivered, 1 attempt\(s\)", shown), shown
    assert re.search(r"attempt 1 at .* UTC, \d+ ms, HTTP 200 -> delivered", shown), shown

    # Exactly one request: a 200 is never resent.
    time.sleep(0.5)
    assert len(receiver.received()) == 1


def test_evctl_and_espf_are_the_same_cli(espf: EspfProcess) -> None:
    assert espf.cli("type", "create", "Custom/NextMonth", program="evctl") == (
        "Created event type #10001 Custom/NextMonth\n"
    )
    assert espf.cli("type", "create", "Custom/Other", program="espf") == (
        "Created event type #10002 Custom/Other\n"
    )
    espf.add_handler(1, "EventSender", "http://127.0.0.1:9/espf", "--auth", "none")
    assert espf.cli("handler", "subscribe", "1", "EventSender", "Custom/Other") == (
        "Handler EventSender is subscribed to Custom/Other\n"
    )
    listed = espf.cli("handler", "subscriptions", "1", "EventSender", program="evctl")
    assert listed == "Custom/Other\n"


def test_past_start_time_is_delivered_at_once(espf: EspfProcess, receiver: Receiver) -> None:
    # The seed's own example time lies in the past by now: due immediately.
    espf.cli("type", "create", "Custom/NextMonth")
    espf.add_handler(1, "EventSender", receiver.url, "--auth", "none")
    espf.cli("handler", "subscribe", "1", "EventSender", "Custom/NextMonth")
    posted_at = time.time()
    i_event = espf.create_event(
        {
            "event_type": "Custom/NextMonth",
            "variables": {"i_account": 541},
            "start_time": "2021-03-01 00:00:00",
        }
    )
    [request] = receiver.wait_for(1, timeout=5)
    assert request.i_event == i_event
    assert request.arrived_at - posted_at < 1.0
    assert request.header_values("Authorization") == []  # --auth none


def test_chunked_body_over_the_limit_gets_413_over_real_http(espf: EspfProcess) -> None:
    # No Content-Length: only counting the streamed bytes can catch it.
    chunk = b" " * 8192
    head = (
        "POST /espf/v1/event/create HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{espf.port}\r\n"
        "Authorization: Basic YWRtaW46YWRtaW4tcGFzc3dvcmQtZTJl\r\n"  # admin:admin-password-e2e
        "Content-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", espf.port), timeout=10) as conn:
        conn.sendall(head)
        try:
            for _ in range(16):  # 128 KiB, twice the default limit of 64 KiB
                conn.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            conn.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may stop reading once it has answered
        answer = b""
        while b"\r\n\r\n" not in answer:
            data = conn.recv(4096)
            if not data:
                break
            answer += data
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    listed = espf.cli("event", "list").splitlines()
    assert listed[1:] == [], listed  # the table's header only: nothing was stored
