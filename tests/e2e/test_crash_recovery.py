"""At-least-once across ``kill -9``: whatever the API acknowledged reaches the
Application after a restart on the same database, with the same i_event."""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest

from tests.e2e.espf_process import EspfProcess, utc_text, wait_until
from tests.e2e.receiver import Receiver

pytestmark = pytest.mark.e2e

EVENT_TYPE = "Account/Blocked"


def test_kill_9_with_a_delivery_in_flight_and_events_scheduled(
    espf: EspfProcess, receiver: Receiver
) -> None:
    espf.add_handler(1, "EventSender", receiver.url, "--auth", "none")
    espf.cli("handler", "subscribe", "1", "EventSender", EVENT_TYPE)

    # The Application is slow: the first request is still unanswered
    # when the service dies.
    receiver.hold_s = 3.0
    in_flight = espf.create_event({"event_type": EVENT_TYPE, "variables": {"n": 0}})
    receiver.wait_for(1, timeout=5)

    # Acknowledged but not yet due when the service dies: some fall due
    # while it is down, some after it is back.
    now = time.time()
    scheduled = [
        espf.create_event(
            {
                "event_type": EVENT_TYPE,
                "variables": {"n": n},
                "start_time": utc_text(now + (1 if n <= 3 else 4)),
            }
        )
        for n in range(1, 6)
    ]
    espf.kill9()
    receiver.hold_s = 0.0

    espf.start()
    acknowledged = [in_flight, *scheduled]
    wait_until(
        lambda: {r.i_event for r in receiver.received()} >= set(acknowledged),
        timeout=15,
        what="every acknowledged event at the Application",
    )
    # The in-flight one is resent at once on restart, as a new attempt
    # after the interrupted one.
    shown = espf.wait_for_event_show(in_flight, "delivered, 2 attempt(s)")
    assert re.search(r"attempt 1 at .*, no answer -> interrupted", shown), shown
    assert re.search(r"attempt 2 at .*, HTTP 200 -> delivered", shown), shown

    time.sleep(0.5)  # let a wrongful duplicate show up, if there is one
    counts = Counter(r.i_event for r in receiver.received())
    # Only the request that was under way when the service died may come twice.
    assert 1 <= counts[in_flight] <= 2
    assert {i: counts[i] for i in scheduled} == dict.fromkeys(scheduled, 1)
    assert set(counts) == set(acknowledged)
    # The same event, byte for byte in meaning, each time it arrives.
    for request in receiver.received():
        n = request.json()["variables"]["n"]
        assert request.i_event == acknowledged[n]


def test_kill_9_right_after_the_answer_loses_nothing(espf: EspfProcess, receiver: Receiver) -> None:
    # An answered event/create is on disk: no graceful shutdown needed.
    espf.add_handler(1, "EventSender", receiver.url, "--auth", "none")
    espf.cli("handler", "subscribe", "1", "EventSender", EVENT_TYPE)
    start = utc_text(time.time() + 2)
    acknowledged = [
        espf.create_event({"event_type": EVENT_TYPE, "start_time": start}) for _ in range(20)
    ]
    espf.kill9()
    espf.start()
    received = receiver.wait_for(20, timeout=15)
    time.sleep(0.3)
    assert sorted(r.i_event for r in receiver.received()) == sorted(acknowledged)
    assert len(received) == 20
