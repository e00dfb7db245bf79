"""EventSender: one HTTP POST per delivery, over keep-alive connection pools.

The request is the original's: ``Date`` (HTTP-date), ``Content-Type:
application/json``, the handler's auth header, and the body
``{"event_type": ..., "variables": {..., "i_event": N, "i_env": E}}``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from email.utils import formatdate

import aiohttp
import orjson

from espf.auth_header import authorization_header
from espf.domain import ClaimedDelivery, Handler

# Enough of an error body to explain a failure in `event show`, no more.
MAX_ERROR_TEXT = 500
USER_AGENT = "espf-EventSender/1"


@dataclass(frozen=True, slots=True)
class SendResult:
    status_code: int | None  # None: no HTTP answer at all
    error: str | None


def request_body(delivery: ClaimedDelivery) -> bytes:
    variables = orjson.loads(delivery.variables_json)
    # i_event and i_env are ours to set: a producer cannot spoof them.
    variables["i_event"] = delivery.i_event
    variables["i_env"] = delivery.i_env
    return orjson.dumps({"event_type": delivery.event_type, "variables": variables})


def request_headers(handler: Handler) -> dict[str, str]:
    headers = {
        "Date": formatdate(usegmt=True),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    auth = authorization_header(handler)
    if auth is not None:
        headers[auth[0]] = auth[1]
    return headers


class EventSender:
    """Sends deliveries; one connection pool per handler, so that one slow
    Application cannot take the connections another one needs."""

    def __init__(self, connections_per_handler: int) -> None:
        self._limit = connections_per_handler
        self._sessions: dict[int, aiohttp.ClientSession] = {}

    def _session(self, handler: Handler) -> aiohttp.ClientSession:
        session = self._sessions.get(handler.i_handler)
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(limit=self._limit, ttl_dns_cache=60)
            session = aiohttp.ClientSession(
                connector=connector,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
                # We send our own Date and auth headers and read JSON ourselves.
                auto_decompress=False,
            )
            self._sessions[handler.i_handler] = session
        return session

    async def send(self, delivery: ClaimedDelivery) -> SendResult:
        handler = delivery.handler
        timeout = aiohttp.ClientTimeout(total=handler.timeout_s)
        try:
            async with self._session(handler).post(
                handler.url,
                data=request_body(delivery),
                headers=request_headers(handler),
                timeout=timeout,
                allow_redirects=False,
            ) as response:
                text = await response.text(errors="replace")
                status = response.status
        except TimeoutError:
            return SendResult(None, f"no answer within {handler.timeout_s:g} s")
        except aiohttp.ClientError as exc:
            return SendResult(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_TEXT])
        except (OSError, ValueError) as exc:
            return SendResult(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_TEXT])
        if 200 <= status < 300:
            return SendResult(status, None)
        return SendResult(status, (text.strip() or response.reason or "")[:MAX_ERROR_TEXT] or None)

    async def close(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        await asyncio.gather(*(session.close() for session in sessions), return_exceptions=True)
