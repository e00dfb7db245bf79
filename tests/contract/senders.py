"""Handler settings for the contract tests, written once."""

from __future__ import annotations

import dataclasses
from typing import Any

from espf.domain import AuthMethod, HandlerSettings


def sender_settings(name: str = "espf", **changes: Any) -> HandlerSettings:
    """Complete settings of an EventSender, as the service layer hands them
    to the store; ``name`` ends its URL, ``changes`` replace settings."""
    base = HandlerSettings(
        url=f"http://app.example.com/{name}",
        auth_method=AuthMethod.BASIC,
        login="espf",
        password="s3cret",
        auth_scheme=None,
        auth_token=None,
        auth_header="Authorization",
        timeout_s=30.0,
        enabled=True,
    )
    return dataclasses.replace(base, **changes)
