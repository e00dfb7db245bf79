"""EventSender: one HTTP POST per delivery, over keep-alive connection pools.

The request is the original's: ``Date`` (HTTP-date), ``Content-Type:
application/json``, the handler's auth header, and the body
``{"event_type": ..., "variables": {..., "i_event": N, "i_env": E}}``. With
signature auth, the Standard Webhooks headers replace the auth header.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from dataclasses import dataclass
from email.utils import formatdate

import aiohttp
import orjson

from espf.auth_header import authorization_header
from espf.domain import AuthMethod, ClaimedDelivery, Handler, TlsSettings
from espf.signing import signature_headers, webhook_id

# Enough of an error body to explain a failure in `event show`, no more.
MAX_ERROR_TEXT = 500
USER_AGENT = "espf-EventSender/1"


@dataclass(frozen=True, slots=True)
class SendResult:
    status_code: int | None  # None: no HTTP answer at all
    error: str | None
    retry_after: str | None = None  # the Retry-After header, if any
    timed_out: bool = False  # no answer within the handler's timeout


def request_body(delivery: ClaimedDelivery) -> bytes:
    variables = orjson.loads(delivery.variables_json)
    # i_event and i_env are ours to set: a producer cannot spoof them.
    variables["i_event"] = delivery.i_event
    variables["i_env"] = delivery.i_env
    return orjson.dumps({"event_type": delivery.event_type, "variables": variables})


class _DateHeader:
    """The HTTP-date changes once a second; formatting it for every request
    of a busy second would be wasted work."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def now(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._second, self._text = second, formatdate(second, usegmt=True)
        return self._text


_date = _DateHeader()


def request_headers(delivery: ClaimedDelivery, body: bytes) -> dict[str, str]:
    handler = delivery.handler
    headers = {
        "Date": _date.now(),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    if handler.auth_method is AuthMethod.SIGNATURE:
        headers.update(
            signature_headers(
                handler.signing_secrets,
                webhook_id(delivery.i_event, delivery.i_delivery),
                int(time.time()),
                body,
            )
        )
        return headers
    auth = authorization_header(handler)
    if auth is not None:
        headers[auth[0]] = auth[1]
    return headers


def ssl_context(tls: TlsSettings) -> ssl.SSLContext | bool:
    """Verification on unless turned off; a custom CA bundle; a client
    certificate for mutual TLS."""
    if tls.verify is False:
        return False
    if tls.ca_file is None and tls.client_cert is None:
        return True  # aiohttp's default context, verifying against the system store
    context = ssl.create_default_context(cafile=tls.ca_file)
    if tls.client_cert is not None:
        context.load_cert_chain(tls.client_cert, tls.client_key)
    return context


@functools.lru_cache(maxsize=64)
def _timeout(seconds: float) -> aiohttp.ClientTimeout:
    # Immutable, and the same few values for every request.
    return aiohttp.ClientTimeout(total=seconds)


class EventSender:
    """Sends deliveries; one connection pool per handler, so that one slow
    Application cannot take the connections another one needs."""

    def __init__(self, connections_per_handler: int) -> None:
        self._limit = connections_per_handler
        self._sessions: dict[int, tuple[TlsSettings, aiohttp.ClientSession]] = {}

    def _session(self, handler: Handler) -> aiohttp.ClientSession:
        known = self._sessions.get(handler.i_handler)
        if known is not None and known[0] == handler.tls and not known[1].closed:
            return known[1]
        if known is not None:
            # TLS settings changed: new pool; the old one closes once idle.
            asyncio.get_running_loop().create_task(known[1].close())
        connector = aiohttp.TCPConnector(
            limit=self._limit, ttl_dns_cache=60, ssl=ssl_context(handler.tls)
        )
        session = aiohttp.ClientSession(
            connector=connector,
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
            auto_decompress=False,
        )
        self._sessions[handler.i_handler] = (handler.tls, session)
        return session

    async def send(self, delivery: ClaimedDelivery) -> SendResult:
        handler = delivery.handler
        timeout = _timeout(handler.timeout_s)
        body = request_body(delivery)
        try:
            async with self._session(handler).post(
                handler.url,
                data=body,
                headers=request_headers(delivery, body),
                timeout=timeout,
                allow_redirects=False,
            ) as response:
                text = await response.text(errors="replace")
                status = response.status
                retry_after = response.headers.get("Retry-After")
        except TimeoutError:
            return SendResult(None, f"no answer within {handler.timeout_s:g} s", timed_out=True)
        except (aiohttp.ClientError, OSError, ValueError, ssl.SSLError) as exc:
            return SendResult(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_TEXT])
        if 200 <= status < 300:
            return SendResult(status, None)
        reason = (text.strip() or response.reason or "")[:MAX_ERROR_TEXT] or None
        return SendResult(status, reason, retry_after)

    async def close(self) -> None:
        sessions, self._sessions = [s for _, s in self._sessions.values()], {}
        await asyncio.gather(*(session.close() for session in sessions), return_exceptions=True)
