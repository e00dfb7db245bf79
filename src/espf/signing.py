"""Signature auth towards the Application, in the form of the Standard
Webhooks specification (https://www.standardwebhooks.com/):

    webhook-id:        stable for a delivery across every resend
    webhook-timestamp: Unix seconds when the request was signed
    webhook-signature: "v1,<base64 HMAC-SHA256 of '<id>.<timestamp>.<body>'>",
                       one per secret, space-separated, during a rotation

Secrets are ``whsec_`` followed by base64 of 24 to 64 random bytes. The
signing itself is done by the ``standardwebhooks`` reference library, so
receivers using any Standard Webhooks library verify it as they expect.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from espf.errors import BadRequest

SECRET_PREFIX = "whsec_"


def generate_signing_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def validate_signing_secret(secret: str) -> None:
    body = secret.removeprefix(SECRET_PREFIX)
    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if not secret.startswith(SECRET_PREFIX) or not 24 <= len(raw) <= 64:
        raise BadRequest(
            "a signing secret is 'whsec_' followed by base64 of 24 to 64 random bytes; "
            "make one with 'espf secret'",
            code="invalid_handler",
        )


def webhook_id(i_event: int, i_delivery: int) -> str:
    """The same for every resend of a delivery: receivers deduplicate on it."""
    return f"espf_{i_event}_{i_delivery}"


def signature_headers(
    signing_secrets: tuple[str, ...], message_id: str, timestamp_s: int, body: bytes
) -> dict[str, str]:
    """Headers for one request, signed with every secret (newest first)."""
    when = datetime.fromtimestamp(timestamp_s, tz=UTC)
    text = body.decode("utf-8")
    signatures = " ".join(
        Webhook(secret).sign(msg_id=message_id, timestamp=when, data=text)
        for secret in signing_secrets
    )
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp_s),
        "webhook-signature": signatures,
    }
