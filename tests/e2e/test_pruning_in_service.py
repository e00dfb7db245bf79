"""The running service prunes by itself: with delivered events kept for a
second, a delivered event disappears within a few prune rounds, while an
event still waiting for its start time stays."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.espf_process import EspfProcess, utc_text, wait_until
from tests.e2e.receiver import Receiver

pytestmark = pytest.mark.e2e


def test_the_dispatcher_prunes_delivered_events(tmp_path: Path, receiver: Receiver) -> None:
    espf = EspfProcess(tmp_path, ESPF_RETENTION="delivered=1s", ESPF_PRUNE_INTERVAL_S="0.5")
    espf.start()
    try:
        espf.add_handler(1, "EventSender", receiver.url, "--auth", "none")
        espf.cli("handler", "subscribe", "1", "EventSender", "Account/New")
        delivered = espf.create_event({"event_type": "Account/New", "variables": {"n": 1}})
        later = espf.create_event(
            {"event_type": "Account/New", "start_time": utc_text(time.time() + 3600)}
        )
        receiver.wait_for(1, timeout=15)

        def pruned() -> bool:
            status, _ = espf.call("event/get", {"i_event": delivered})
            return status == 404

        wait_until(pruned, 15, "the delivered event to be pruned", interval=0.2)
        status, answer = espf.call("event/get", {"i_event": later})
        assert status == 200 and answer["state"] == "scheduled", answer
    finally:
        espf.stop()
        print(espf.log_tail(40))
