"""The roaming quota example: the month arithmetic, the whole story against
a live espf (an HSS failure that makes espf retry, a duplicate delivery
the Application ignores), the real-time schedule, and the one command."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from examples.roaming_quota.month import next_month_start
from examples.roaming_quota.story import POOR, RICH, Options, play

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("now", "zone", "expected"),
    [
        # The documentation's example: 20 February, a customer in Kyiv (UTC+2 in winter).
        ("2021-02-20 10:00:00+00:00", "Europe/Kyiv", "2021-02-28 22:00:00"),
        # Across the start of summer time: March is EST (UTC-5), April EDT (UTC-4).
        ("2021-02-20 10:00:00+00:00", "America/New_York", "2021-03-01 05:00:00"),
        ("2021-03-20 10:00:00+00:00", "America/New_York", "2021-04-01 04:00:00"),
        # And back: November starts in EDT, December in EST.
        ("2021-10-20 10:00:00+00:00", "America/New_York", "2021-11-01 04:00:00"),
        ("2021-11-20 10:00:00+00:00", "America/New_York", "2021-12-01 05:00:00"),
        # The year turns.
        ("2021-12-31 12:00:00+00:00", "Asia/Tokyo", "2021-12-31 15:00:00"),
        # Already the 1st in the customer's zone while still the 31st in UTC.
        ("2021-12-31 16:00:00+00:00", "Asia/Tokyo", "2022-01-31 15:00:00"),
        # Paraguay moved its clocks at midnight on 1 October 2023: 00:00 never
        # happened there; the month starts at the first instant of that day.
        ("2023-09-20 10:00:00+00:00", "America/Asuncion", "2023-10-01 04:00:00"),
    ],
)
def test_next_month_starts_at_local_midnight_in_utc(now: str, zone: str, expected: str) -> None:
    start = next_month_start(datetime.fromisoformat(now), ZoneInfo(zone))
    assert start.tzinfo is UTC
    assert start.strftime("%Y-%m-%d %H:%M:%S") == expected
    assert next_month_start(datetime.fromisoformat(now), ZoneInfo(zone)) == start


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError):
        next_month_start(datetime(2021, 2, 20), ZoneInfo("UTC"))


def test_the_story_end_to_end(tmp_path: Path) -> None:
    lines: list[str] = []
    result = play(
        Options(month_seconds=2, hss_failures=1, duplicate=True, workdir=tmp_path), lines.append
    )
    # The HSS failed the first block: espf sent the event again, then it went through.
    rich = result.quota_exceeded[RICH]
    (delivery,) = rich.deliveries
    codes = [a.status_code for a in delivery.attempt_log]
    assert codes == [500, 200, 200], codes  # failure, retry, then the duplicate
    assert "raised HssFailed" in (delivery.attempt_log[0].error or "")
    assert result.hss_failed == 1
    # The duplicate changed nothing, and no second NextMonth was scheduled.
    assert result.hss_actions == [
        ("block", RICH),
        ("block", POOR),
        ("unblock", RICH),  # the new month: funds allow
        ("unblock", POOR),  # after the top-up (QuotaAvailable)
    ]
    assert sorted(e.variables["i_account"] for e in result.scheduled) == [RICH, POOR]
    assert all(d.state == "delivered" for d in result.next_month)
    assert result.quota_available is not None and result.quota_available.state == "delivered"
    assert result.blocked == set()
    assert "balance 12.50: roaming data unblocked" in result.statuses[RICH]
    assert "quota available again" in result.statuses[POOR]
    assert any("left blocked (insufficient funds)" in line for line in lines)
    assert any("recognised the duplicate, HSS log unchanged" in line for line in lines)
    # The Application remembers what it processed in a file that survives restarts.
    with sqlite3.connect(tmp_path / "received.db") as db:
        done = db.execute("SELECT count(*) FROM espf_received WHERE state = 'done'").fetchone()
    assert done[0] == 5  # 2 QuotaExceeded, 2 NextMonth, 1 QuotaAvailable


def test_without_compression_next_month_is_the_real_local_midnight(tmp_path: Path) -> None:
    before = datetime.now(UTC)
    result = play(Options(month_seconds=0, hss_failures=0, duplicate=False), lambda line: None)
    zones = {RICH: "America/New_York", POOR: "Europe/Kyiv"}
    for event in result.scheduled:
        i_account = event.variables["i_account"]
        assert event.start_time == next_month_start(before, ZoneInfo(zones[i_account]))
        assert event.state == "scheduled"


def test_the_one_command(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "examples.roaming_quota",
            "--month-seconds",
            "1",
            "--workdir",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for step in (
        "answering 500 so that espf resends",
        "delivered after 2 attempt(s) (answers: 500, 200)",
        "recognised the duplicate",
        "left blocked (insufficient funds)",
        "quota available for account 542 -> unblocked",
    ):
        assert step in out, out
    assert "Traceback" not in done.stderr
