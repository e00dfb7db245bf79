"""Sessions across two real API processes on one PostgreSQL: a client that
works like the PHP libraries logs in on one node and calls the other, lets
its access token expire and refreshes it, and is logged out on one node
and refused on the other within session_check_ttl_s, then logs in again."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.multinode_support import (
    EVENT_TYPE,
    PRODUCER_LOGIN,
    PRODUCER_PASSWORD,
    EspfProcess,
    espf_env,
    free_port,
    prepare_database,
    wait_for_api,
)
from tests.php_like_client import PhpLikeClient

ACCESS_TTL_S = 2
CHECK_TTL_S = 0.5
EVENT = {"event_type": EVENT_TYPE, "variables": {"i_account": 541}}


class AlternatingNodes:
    """Sends each request to the next node in turn: no two consecutive
    requests of the client reach the same process."""

    def __init__(self, clients: list[httpx.Client]) -> None:
        self.clients = clients
        self._next = itertools.cycle(clients)
        self.last: httpx.Client | None = None

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        self.last = next(self._next)
        return self.last.post(url, **kwargs)


@pytest.fixture
async def two_api_nodes(postgres_url: str, tmp_path: Path) -> AsyncIterator[list[httpx.Client]]:
    await prepare_database(postgres_url, "http://127.0.0.1:9/")
    env = espf_env(
        postgres_url,
        session_access_ttl_s=ACCESS_TTL_S,
        session_check_ttl_s=CHECK_TTL_S,
        db_pool_size=3,
    )
    nodes = [EspfProcess("api", env, tmp_path, f"api{n}", port=free_port()) for n in range(2)]
    clients = [httpx.Client(base_url=node.base_url, timeout=10) for node in nodes]
    try:
        await wait_for_api(nodes)
        yield clients
    finally:
        for client in clients:
            client.close()
        for node in nodes:
            node.stop()


def test_php_client_across_two_api_nodes(two_api_nodes: list[httpx.Client]) -> None:
    node_a, node_b = two_api_nodes
    http = AlternatingNodes(two_api_nodes)
    client = PhpLikeClient(
        http,
        {"login": PRODUCER_LOGIN, "password": PRODUCER_PASSWORD},
        time.time,
        refresh_margin_s=1,
    )
    # Logged in on one node, the event created on the other: one key for all.
    assert client.post("/event/create", EVENT)["i_event"] > 0
    assert (client.logins, client.refreshes) == (1, 0)

    # The token comes within the refresh margin: refreshed (on a node that
    # did not issue it), and the new token works on both.
    time.sleep(ACCESS_TTL_S - 1 + 0.2)
    assert client.post("/event/create", EVENT)["i_event"] > 0
    assert client.refreshes == 1
    token = client.session["access_token"]
    for node in (node_a, node_b):
        answer = node.post(
            "/espf/v1/event/list", json={"limit": 1}, headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 200, answer.text

    # An expired token is refused on both nodes with a JSON 401.
    time.sleep(ACCESS_TTL_S + 0.2)
    for node in (node_a, node_b):
        answer = node.post("/espf/v1/event/create", json=EVENT, headers=bearer(token))
        assert answer.status_code == 401 and answer.json()["error"] == "token_expired"

    # Logged out on node A: node B, which had checked the session, refuses
    # it within session_check_ttl_s.
    client.refresh_margin_s = -(10**9)  # the client does not look at exp now
    client.login()
    token = client.session["access_token"]
    assert (
        node_b.post("/espf/v1/event/create", json=EVENT, headers=bearer(token)).status_code == 200
    )
    out = node_a.post("/rest/Session/logout", json={"params": {"access_token": token}})
    assert out.status_code == 200
    time.sleep(CHECK_TTL_S + 0.1)
    refused = node_b.post("/espf/v1/event/create", json=EVENT, headers=bearer(token))
    assert refused.status_code == 401 and refused.json()["error"] == "session_ended"

    # The client sees the 401, logs in again and goes on.
    logins = client.logins
    assert client.post("/event/create", EVENT)["i_event"] > 0
    assert client.logins == logins + 1 and client.retried_after_401 == 1


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
