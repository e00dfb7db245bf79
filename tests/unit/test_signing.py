"""Signature auth: what we send verifies with the Standard Webhooks reference
library, a tampered request does not, and rotation sends several signatures."""

from __future__ import annotations

import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from espf.dispatch.sender import request_body, request_headers
from espf.domain import AuthMethod, ClaimedDelivery
from espf.errors import BadRequest
from espf.signing import generate_signing_secret, validate_signing_secret, webhook_id
from tests.factories import a_claimed_delivery, a_handler


def signed_delivery(*secrets: str) -> ClaimedDelivery:
    handler = a_handler(
        url="https://app.example/",
        auth_method=AuthMethod.SIGNATURE,
        login=None,
        password=None,
        signing_secrets=secrets,
    )
    return a_claimed_delivery(handler, variables_json='{"i_account": 541}')


def test_receivers_verify_with_the_reference_library() -> None:
    secret = generate_signing_secret()
    delivery = signed_delivery(secret)
    body = request_body(delivery)
    headers = request_headers(delivery, body)
    assert "Authorization" not in headers
    assert headers["webhook-id"] == webhook_id(623623, 11)
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 5
    payload = Webhook(secret).verify(body, headers)
    assert payload["variables"]["i_event"] == 623623


def test_a_tampered_body_is_rejected() -> None:
    secret = generate_signing_secret()
    delivery = signed_delivery(secret)
    body = request_body(delivery)
    headers = request_headers(delivery, body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"541", b"542"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_signing_secret()).verify(body, headers)


def test_rotation_signs_with_every_secret() -> None:
    old, new = generate_signing_secret(), generate_signing_secret()
    delivery = signed_delivery(new, old)
    body = request_body(delivery)
    headers = request_headers(delivery, body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(body, headers)
    Webhook(new).verify(body, headers)


def test_the_webhook_id_is_stable_for_a_delivery() -> None:
    assert webhook_id(5, 9) == webhook_id(5, 9) != webhook_id(5, 10)


@pytest.mark.parametrize("secret", ["", "whsec_", "whsec_c2hvcnQ=", "nope", "whsec_!!!"])
def test_bad_secrets_are_refused(secret: str) -> None:
    with pytest.raises(BadRequest):
        validate_signing_secret(secret)


def _verify_by_hand(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    """The hand-written check from docs/delivery.md, for receivers without a library."""
    import base64
    import hashlib
    import hmac

    key = base64.b64decode(secret.removeprefix("whsec_"))
    msg_id, ts = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(time.time() - int(ts)) > 300:
        return False
    expected = base64.b64encode(
        hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    ).decode()
    return any(
        hmac.compare_digest(expected, sig.split(",", 1)[1])
        for sig in headers["webhook-signature"].split(" ")
        if sig.startswith("v1,")
    )


def test_the_documented_hand_check_agrees() -> None:
    secret = generate_signing_secret()
    delivery = signed_delivery(secret)
    body = request_body(delivery)
    headers = request_headers(delivery, body)
    assert _verify_by_hand(secret, body, headers)
    assert not _verify_by_hand(secret, body + b" ", headers)
