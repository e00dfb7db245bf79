"""Slowing down password guessing: failed logins are counted per client
address over a sliding window; past the limit that address gets 429 with
Retry-After, while the real user, from another address, gets in.

LoginThrottle is tested alone with small numbers and a hand-moved clock;
the app with its default limit (10 failures in 60 s) through TestClients that
present different client addresses to one app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx2
import pytest
from starlette.testclient import TestClient

import espf.api.throttle
from espf.api.throttle import LoginThrottle
from espf.errors import TooManyRequests
from tests.unit.api_harness import CUSTOM_TYPE, LOGIN, PASSWORD, URL, ApiHarness, api_harness

GUESSER = "10.0.0.1"
REAL_USER = "10.0.0.2"
DEFAULT_LIMIT = 10  # LoginThrottle's default, which the app uses


# -- LoginThrottle alone ------------------------------------------------------------------
class Clock:
    """Stands in for time.monotonic, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    # Only the throttle's view of time: asyncio and the rest keep the real one.
    monkeypatch.setattr(espf.api.throttle, "time", SimpleNamespace(monotonic=fake))
    return fake


def retry_after(throttle: LoginThrottle, address: str) -> int | None:
    """The Retry-After the throttle asks of ``address``, None if it may try."""
    try:
        throttle.check(address)
    except TooManyRequests as refused:
        return refused.retry_after_s
    return None


def test_limit_is_reached_at_the_nth_failure_not_before(clock: Clock) -> None:
    throttle = LoginThrottle(max_failures=3, window_s=10)
    for _ in range(2):
        throttle.failed(GUESSER)
    assert retry_after(throttle, GUESSER) is None
    throttle.failed(GUESSER)
    assert retry_after(throttle, GUESSER) == 10


def test_retry_after_counts_down_until_the_oldest_failure_leaves_the_window(
    clock: Clock,
) -> None:
    throttle = LoginThrottle(max_failures=3, window_s=10)
    for offset in (0.0, 5.0, 6.0):  # failures at 1000, 1005 and 1006
        clock.now = 1000.0 + offset
        throttle.failed(GUESSER)

    clock.now = 1004.2
    assert retry_after(throttle, GUESSER) == 6  # 1010 - 1004.2, rounded up
    clock.now = 1009.9
    assert retry_after(throttle, GUESSER) == 1  # never 0: "now" would invite a retry storm
    clock.now = 1010.0
    assert retry_after(throttle, GUESSER) is None  # the first failure has left the window

    # The window slides: one more failure, and the wait is until the one at
    # 1005 leaves, not a whole window from now.
    throttle.failed(GUESSER)
    assert retry_after(throttle, GUESSER) == 5


def test_failures_of_one_address_do_not_slow_another(clock: Clock) -> None:
    throttle = LoginThrottle(max_failures=2, window_s=60)
    for _ in range(5):
        throttle.failed(GUESSER)
    assert retry_after(throttle, GUESSER) == 60
    assert retry_after(throttle, REAL_USER) is None
    throttle.failed(REAL_USER)
    assert retry_after(throttle, REAL_USER) is None  # one failure of its own, under the limit


# -- through the app ----------------------------------------------------------------------
@pytest.fixture
def harness(tmp_path: Path) -> Iterator[ApiHarness]:
    with api_harness(tmp_path) as started:
        yield started


def client_from(harness: ApiHarness, address: str) -> TestClient:
    """A client of the same app (and so the same throttle) at ``address``."""
    return TestClient(harness.app, client=(address, 40000), raise_server_exceptions=False)


def create(client: TestClient, auth: tuple[str, str] | None) -> httpx2.Response:
    body = {"event_type": CUSTOM_TYPE}
    return client.post(URL, json=body) if auth is None else client.post(URL, json=body, auth=auth)


def test_repeated_failures_get_429_with_retry_after(harness: ApiHarness) -> None:
    guesser = client_from(harness, GUESSER)
    for attempt in range(DEFAULT_LIMIT):
        answer = create(guesser, (LOGIN, f"guess-{attempt}"))
        assert answer.status_code == 401, (attempt, answer.text)

    refused = create(guesser, (LOGIN, "guess-11"))
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"] == "too_many_requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Even the right password: the guesser cannot test whether a guess was right.
    assert create(guesser, (LOGIN, PASSWORD)).status_code == 429
    assert harness.snapshot().last_i_event is None


def test_real_user_from_another_address_is_not_locked_out(harness: ApiHarness) -> None:
    guesser = client_from(harness, GUESSER)
    for attempt in range(DEFAULT_LIMIT + 5):
        create(guesser, (LOGIN, f"guess-{attempt}"))
    assert create(guesser, (LOGIN, PASSWORD)).status_code == 429

    answer = create(client_from(harness, REAL_USER), (LOGIN, PASSWORD))
    assert answer.status_code == 200, answer.text
    assert harness.snapshot().last_i_event == answer.json()["i_event"]


def test_requests_without_credentials_do_not_count(harness: ApiHarness) -> None:
    # A client that first asks without credentials (as browsers and many
    # HTTP libraries do, waiting for the 401 challenge) is not guessing.
    client = client_from(harness, GUESSER)
    for _ in range(3 * DEFAULT_LIMIT):
        answer = create(client, None)
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"] == "missing_credentials"

    # All the failures still allowed remain: a single counted one would
    # make the last of these a 429.
    for attempt in range(DEFAULT_LIMIT):
        assert create(client, (LOGIN, f"guess-{attempt}")).status_code == 401, attempt
    assert create(client, (LOGIN, PASSWORD)).status_code == 429
