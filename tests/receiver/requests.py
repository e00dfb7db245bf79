"""Requests as espf's EventSender makes them, built with its own code
(the body, the Date header and the signatures), for the receiver's tests."""

from __future__ import annotations

import base64
import time
from email.utils import formatdate
from typing import Any

import orjson

from espf.receiver import IncomingRequest
from espf.signing import generate_signing_secret, signature_headers

SECRET = generate_signing_secret()
OLD_SECRET = generate_signing_secret()


def body_of(event_type: str = "Custom/NextMonth", i_event: int = 1, **variables: Any) -> bytes:
    return orjson.dumps(
        {"event_type": event_type, "variables": {**variables, "i_event": i_event, "i_env": 1}}
    )


def basic(login: str = "espf", password: str = "s3cret") -> dict[str, str]:
    token = base64.b64encode(f"{login}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def signed(
    body: bytes,
    secrets: tuple[str, ...] = (SECRET,),
    at: float | None = None,
    msg_id: str = "espf_1_1",
) -> dict[str, str]:
    return signature_headers(secrets, msg_id, int(time.time() if at is None else at), body)


def request(
    body: bytes,
    headers: dict[str, str],
    *,
    date: str | None = "now",
    method: str = "POST",
) -> IncomingRequest:
    all_headers = {"Content-Type": "application/json", **headers}
    if date == "now":
        all_headers["Date"] = formatdate(time.time(), usegmt=True)
    elif date is not None:
        all_headers["Date"] = date
    return IncomingRequest.of(method, all_headers, body)
