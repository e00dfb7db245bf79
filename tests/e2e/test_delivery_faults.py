"""Delivery under faults, with real processes and a real receiver: an
Application that is down for a minute, one that asks to slow down, a crash
in the middle of deliveries, signed requests, a paused handler, SIGTERM."""

from __future__ import annotations

import itertools
import signal
import time
from datetime import datetime
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from espf.signing import generate_signing_secret
from tests.e2e.espf_process import EspfProcess, free_port, wait_until
from tests.e2e.receiver import Receiver

pytestmark = pytest.mark.e2e


def _attempt_times(espf: EspfProcess, i_event: int) -> list[float]:
    status, event = espf.call("event/get", {"i_event": i_event})
    assert status == 200, event
    return [
        datetime.fromisoformat(a["started"] + "+00:00").timestamp()
        for d in event["deliveries"]
        for a in d["attempt_log"]
    ]


def _account_new(espf: EspfProcess, n: int) -> int:
    return espf.create_event({"event_type": "Account/New", "variables": {"n": n}})


def _delivered(espf: EspfProcess, ids: list[int]) -> bool:
    for i_event in ids:
        _, event = espf.call("event/get", {"i_event": i_event})
        if event["state"] != "delivered":
            return False
    return True


def test_receiver_down_for_a_minute_then_up(espf: EspfProcess) -> None:
    """Every event arrives once the Application is back, and the attempts
    made meanwhile follow the handler's schedule (with its jitter). The
    circuit breaker is off here: with it, the deliveries would wait for a
    probe instead of following the schedule (test_breaker_e2e.py)."""
    port = free_port()
    schedule = [1, 2, 4, 8, 16]
    espf.add_handler(
        1,
        "App",
        f"http://127.0.0.1:{port}/espf",
        "--auth",
        "none",
        "--retry-schedule",
        ",".join(map(str, schedule)),
        "--breaker-after",
        "0",
    )
    espf.cli("handler", "sub", "1", "App")
    ids = [
        espf.create_event({"event_type": "Account/New", "variables": {"n": n}}) for n in range(20)
    ]
    time.sleep(60)
    receiver = Receiver(port=port).start()
    try:
        wait_until(lambda: _delivered(espf, ids), 60, "every event delivered after the outage")
        assert {r.i_event for r in receiver.received()} == set(ids)
    finally:
        receiver.stop()
    times = _attempt_times(espf, ids[0])
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(gaps) >= 4, times
    for gap, planned in zip(gaps[:-1], schedule, strict=False):
        # Jitter takes 75..100 % of the planned delay; a little slack for timers.
        assert planned * 0.75 - 0.1 <= gap <= planned + 1.0, (gaps, schedule)


def test_429_with_retry_after_is_honoured(espf: EspfProcess, receiver: Receiver) -> None:
    # Planned: 0.5 s; the policy's longest delay (10 s) caps what Retry-After may ask.
    espf.add_handler(1, "App", receiver.url, "--auth", "none", "--retry-schedule", "0.5,10")
    espf.cli("handler", "sub", "1", "App")
    receiver.answer_next(429, headers={"Retry-After": "3"})
    i_event = espf.create_event({"event_type": "Account/New"})
    first, second = receiver.wait_for(2, timeout=15)
    assert first.i_event == second.i_event == i_event
    assert second.arrived_at - first.arrived_at >= 3.0
    assert "Retry-After" in espf.event_show(i_event)


def test_kill9_in_flight_resends_with_the_same_ids(tmp_path: Path, receiver: Receiver) -> None:
    secret = generate_signing_secret()
    espf = EspfProcess(tmp_path).start()
    try:
        espf.add_handler(1, "App", receiver.url, "--auth", "signature", "--signing-secret", secret)
        espf.cli("handler", "sub", "1", "App")
        # A first good answer: until a node has one, it keeps only a few
        # requests open to a handler (dispatch/breaker_gate.py).
        first = espf.create_event({"event_type": "Account/New", "variables": {"n": -1}})
        receiver.wait_for(1, timeout=10)
        wait_until(lambda: _delivered(espf, [first]), 10, "the first event delivered")
        receiver.hold_s = 5  # requests stay in flight while we kill
        ids = [
            espf.create_event({"event_type": "Account/New", "variables": {"n": n}})
            for n in range(5)
        ]
        receiver.wait_for(1 + 5, timeout=10)
        espf.kill9()
        receiver.hold_s = 0
        espf.start()
        wait_until(lambda: _delivered(espf, ids), 30, "every event delivered after restart")
    finally:
        espf.stop()
    by_event: dict[int, set[str]] = {}
    for request in receiver.received():
        by_event.setdefault(request.i_event, set()).add(request.header("webhook-id"))
    assert set(by_event) == {first, *ids}
    assert all(len(webhook_ids) == 1 for webhook_ids in by_event.values()), by_event
    in_flight_killed = [r for r in receiver.received() if r.i_event in ids]
    assert len(in_flight_killed) >= 2 * len(ids), "the in-flight ones were sent again"


def test_signed_requests_verify_and_a_tampered_one_does_not(
    espf: EspfProcess, receiver: Receiver
) -> None:
    old, new = generate_signing_secret(), generate_signing_secret()
    espf.add_handler(
        1,
        "App",
        receiver.url,
        "--auth",
        "signature",
        "--signing-secret",
        new,
        "--signing-secret",
        old,
    )
    espf.cli("handler", "sub", "1", "App")
    for n in range(10):
        espf.create_event({"event_type": "Account/New", "variables": {"i_account": n}})
    requests = receiver.wait_for(10)
    for request in requests:
        headers = dict(request.headers)
        for secret in (new, old):  # a receiver with either secret accepts it
            Webhook(secret).verify(request.body, headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(new).verify(request.body.replace(b"i_account", b"i_acc0unt"), headers)


def test_a_paused_handler_accumulates_and_resume_sends_all(
    espf: EspfProcess, receiver: Receiver
) -> None:
    espf.add_handler(1, "App", receiver.url, "--auth", "none")
    espf.cli("handler", "sub", "1", "App")
    espf.cli("handler", "pause", "1", "App")
    ids = [
        espf.create_event({"event_type": "Account/New", "variables": {"n": n}}) for n in range(50)
    ]
    time.sleep(2)
    assert receiver.received() == []
    assert "held" in espf.event_show(ids[0])
    espf.cli("handler", "resume", "1", "App")
    receiver.wait_for(50, timeout=15)
    assert sorted(r.i_event for r in receiver.received()) == ids


def test_sigterm_finishes_in_flight_work_and_exits_0(espf: EspfProcess, receiver: Receiver) -> None:
    espf.add_handler(1, "App", receiver.url, "--auth", "none")
    espf.cli("handler", "sub", "1", "App")
    receiver.hold_s = 1
    i_event = espf.create_event({"event_type": "Account/New"})
    receiver.wait_for(1)
    assert espf.proc is not None
    espf.proc.send_signal(signal.SIGTERM)
    assert espf.proc.wait(timeout=15) == 0
    assert "delivered" in espf.event_show(i_event)
