"""What the Application's answer does, with real processes: 5xx is resent
until it succeeds, 4xx is final, and custom auth arrives as configured."""

from __future__ import annotations

import itertools
import re
import time

import pytest

from tests.e2e.espf_process import EspfProcess
from tests.e2e.receiver import Receiver

pytestmark = pytest.mark.e2e

EVENT_TYPE = "Subscriber/Updated"  # a standard type: no `type create` needed


def subscribe_sender(espf: EspfProcess, url: str, *auth: str) -> None:
    """EventSender in environment 1 (the admin's), subscribed to EVENT_TYPE."""
    espf.add_handler(1, "EventSender", url, *(auth or ("--auth", "none")))
    espf.cli("handler", "subscribe", "1", "EventSender", EVENT_TYPE)


def test_500_then_200_is_delivered_on_the_second_attempt(
    espf: EspfProcess, receiver: Receiver
) -> None:
    subscribe_sender(espf, receiver.url)
    receiver.answer_next(500)
    i_event = espf.create_event({"event_type": EVENT_TYPE, "variables": {"i_account": 7}})

    first, second = receiver.wait_for(2, timeout=10)
    # The same event both times, i_event unchanged, so the Application can deduplicate.
    assert first.i_event == second.i_event == i_event
    assert first.json() == second.json()
    # Back-off: base 0.2 s with equal jitter, so at least 0.1 s in between.
    assert second.arrived_at - first.arrived_at >= 0.1

    shown = espf.wait_for_event_show(i_event, "delivered, 2 attempt(s)")
    assert re.search(r"attempt 1 at .*, HTTP 500 -> retry: answer 500", shown), shown
    assert re.search(r"attempt 2 at .*, HTTP 200 -> delivered", shown), shown
    time.sleep(0.5)  # several back-off periods: a wrongful resend would show
    assert len(receiver.received()) == 2


def test_several_failures_back_off_and_still_deliver(espf: EspfProcess, receiver: Receiver) -> None:
    subscribe_sender(espf, receiver.url)
    receiver.answer_next(503, 502, 500)
    i_event = espf.create_event({"event_type": EVENT_TYPE})
    received = receiver.wait_for(4, timeout=10)
    assert {r.i_event for r in received} == {i_event}
    gaps = [b.arrived_at - a.arrived_at for a, b in itertools.pairwise(received)]
    # Nominal delays 0.2, 0.4, 0.8 s, each jittered down to at most half.
    assert gaps[0] >= 0.1 and gaps[1] >= 0.2 and gaps[2] >= 0.4, gaps
    espf.wait_for_event_show(i_event, "delivered, 4 attempt(s)")


def test_400_is_rejected_and_never_resent(espf: EspfProcess, receiver: Receiver) -> None:
    subscribe_sender(espf, receiver.url)
    receiver.answer_next(400)
    i_event = espf.create_event({"event_type": EVENT_TYPE, "variables": {"i_account": 7}})

    [request] = receiver.wait_for(1, timeout=10)
    assert request.i_event == i_event
    shown = espf.wait_for_event_show(i_event, "rejected, 1 attempt(s)")
    assert re.search(r"attempt 1 at .*, HTTP 400 -> rejected", shown), shown

    # Five times the first back-off: a resend would have come by now.
    time.sleep(1.0)
    assert len(receiver.received()) == 1


def test_unreachable_application_is_retried_until_it_answers(
    espf: EspfProcess, receiver: Receiver
) -> None:
    # Nothing listens on port 9 of localhost: no answer at all is a retry too.
    subscribe_sender(espf, "http://127.0.0.1:9/espf")
    i_event = espf.create_event({"event_type": EVENT_TYPE})
    shown = espf.wait_for_event_show(i_event, "2 attempt(s)")
    assert "no answer -> retry" in shown
    # Point the handler at a working Application: the same event arrives.
    espf.cli("handler", "set", "1", "EventSender", "--url", receiver.url)
    [request] = receiver.wait_for(1, timeout=10)
    assert request.i_event == i_event


def test_custom_auth_arrives_under_the_custom_header_name(
    espf: EspfProcess, receiver: Receiver
) -> None:
    subscribe_sender(
        espf,
        receiver.url,
        "--auth",
        "custom",
        "--auth-scheme",
        "Token",
        "--auth-token",
        "abc123",
        "--auth-header",
        "X-Espf-Auth",
    )
    i_event = espf.create_event({"event_type": EVENT_TYPE})
    [request] = receiver.wait_for(1, timeout=10)
    assert request.i_event == i_event
    assert request.header("X-Espf-Auth") == "Token abc123"
    assert request.header_values("Authorization") == []
    assert request.header("Content-Type") == "application/json"
    request.header("Date")  # exactly one
