"""Signature auth: what we send verifies with the Standard Webhooks reference
library, a tampered request does not, and rotation sends several signatures."""

from __future__ import annotations

import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from espf.dispatch.sender import request_body, request_headers
from espf.domain import AuthMethod, ClaimedDelivery, Handler
from espf.errors import BadRequest
from espf.signing import generate_signing_secret, validate_signing_secret, webhook_id


def signed_delivery(*secrets: str) -> ClaimedDelivery:
    handler = Handler(
        i_handler=1,
        i_env=3,
        name="EventSender",
        kind="EventSender",
        enabled=True,
        url="https://app.example/",
        auth_method=AuthMethod.SIGNATURE,
        login=None,
        password=None,
        auth_scheme=None,
        auth_token=None,
        auth_header="Authorization",
        timeout_s=5,
        signing_secrets=secrets,
    )
    return ClaimedDelivery(
        i_delivery=11,
        i_event=623623,
        i_env=3,
        event_type="Custom/NextMonth",
        variables_json='{"i_account": 541}',
        attempts=0,
        handler=handler,
    )


def test_receivers_verify_with_the_reference_library():
    secret = generate_signing_secret()
    delivery = signed_delivery(secret)
    body = request_body(delivery)
    headers = request_headers(delivery, body)
    assert "Authorization" not in headers
    assert headers["webhook-id"] == webhook_id(623623, 11)
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 5
    payload = Webhook(secret).verify(body, headers)
    assert payload["variables"]["i_event"] == 623623


def test_a_tampered_body_is_rejected():
    secret = generate_signing_secret()
    delivery = signed_delivery(secret)
    body = request_body(delivery)
    headers = request_headers(delivery, body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"541", b"542"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_signing_secret()).verify(body, headers)


def test_rotation_signs_with_every_secret():
    old, new = generate_signing_secret(), generate_signing_secret()
    delivery = signed_delivery(new, old)
    body = request_body(delivery)
    headers = request_headers(delivery, body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(body, headers)
    Webhook(new).verify(body, headers)


def test_the_webhook_id_is_stable_for_a_delivery():
    assert webhook_id(5, 9) == webhook_id(5, 9) != webhook_id(5, 10)


@pytest.mark.parametrize("secret", ["", "whsec_", "whsec_c2hvcnQ=", "nope", "whsec_!!!"])
def test_bad_secrets_are_refused(secret: str):
    with pytest.raises(BadRequest):
        validate_signing_secret(secret)
