"""Checking that a request comes from espf, in each of EventSender's auth
methods: Basic, a custom ``<scheme> <token>`` under any header name, and
signatures in the Standard Webhooks form (several secrets for rotation, a
tolerance for timestamps in the past and in the future). Secrets are
compared in constant time and never appear in messages or reprs."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from standardwebhooks.webhooks import Webhook

from espf.receiver.request import Headers


class NotAuthenticated(Exception):
    """Answered 401 with this message; espf records it and does not resend."""


class Authenticator(Protocol):
    def verify(self, headers: Headers, body: bytes, now: float) -> str | None:
        """Raise :class:`NotAuthenticated`, or return the request's message id
        (the ``webhook-id`` under signature auth; None otherwise)."""
        ...


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


class NoAuth:
    """No credentials expected (a handler with ``--auth none``)."""

    def verify(self, headers: Headers, body: bytes, now: float) -> str | None:
        return None

    def __repr__(self) -> str:
        return "NoAuth()"


def _credentials(headers: Headers, header: str, scheme: str, what: str) -> str:
    """What follows ``scheme`` in ``header``; NotAuthenticated, saying
    what was expected, when the header is missing or of another scheme."""
    value = headers.get(header)
    if value is None:
        raise NotAuthenticated(f"the {header} header is missing ({what})")
    given, _, rest = value.partition(" ")
    if given.lower() != scheme.lower():
        raise NotAuthenticated(f"the {header} header is not {what}")
    return rest


class BasicAuth:
    """``Authorization: Basic base64(login:password)`` (the handler's
    ``--login``/``--password``); ``header`` as in ``--auth-header``."""

    def __init__(self, login: str, password: str, *, header: str = "Authorization") -> None:
        self.login = login
        self._password = password
        self.header = header

    def __repr__(self) -> str:
        return f"BasicAuth(login={self.login!r}, header={self.header!r})"

    def verify(self, headers: Headers, body: bytes, now: float) -> str | None:
        encoded = _credentials(headers, self.header, "Basic", "Basic credentials")
        try:
            login, _, password = (
                base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            raise NotAuthenticated(
                f"the {self.header} header is not valid Basic credentials"
            ) from None
        # Both compared, whatever the first gives: no timing hint of which was wrong.
        if not (_same(login, self.login) & _same(password, self._password)):
            raise NotAuthenticated("wrong login or password")
        return None


class TokenAuth:
    """``<scheme> <token>`` (the handler's ``--auth custom --auth-scheme S
    --auth-token T``) under ``header`` (``--auth-header``)."""

    def __init__(self, scheme: str, token: str, *, header: str = "Authorization") -> None:
        self.scheme = scheme
        self._token = token
        self.header = header

    def __repr__(self) -> str:
        return f"TokenAuth(scheme={self.scheme!r}, header={self.header!r})"

    def verify(self, headers: Headers, body: bytes, now: float) -> str | None:
        token = _credentials(headers, self.header, self.scheme, f"a {self.scheme} token")
        if not _same(token.strip(), self._token):
            raise NotAuthenticated(f"wrong {self.scheme} token")
        return None


class SignatureAuth:
    """Standard Webhooks signatures (``--auth signature``): ``webhook-id``,
    ``webhook-timestamp`` and ``webhook-signature``, one ``v1,`` signature
    per secret of espf. Any of ``secrets`` may match, so that a rotation is
    seamless: give the new and the old secret until espf has dropped the old.
    A timestamp older than ``past`` or further ahead than ``future`` is refused
    (a replayed capture, or a clock far off)."""

    def __init__(
        self,
        secrets: Sequence[str],
        *,
        past: timedelta = timedelta(minutes=5),
        future: timedelta = timedelta(minutes=5),
    ) -> None:
        if not secrets:
            raise ValueError("SignatureAuth needs at least one secret (whsec_...)")
        # The reference library computes the HMACs, so the form matches the spec.
        self._signers = tuple(Webhook(secret) for secret in secrets)
        self.past = past
        self.future = future

    def __repr__(self) -> str:
        return (
            f"SignatureAuth(secrets={len(self._signers)}, past={self.past}, future={self.future})"
        )

    def verify(self, headers: Headers, body: bytes, now: float) -> str | None:
        msg_id = headers.get("webhook-id")
        stamp = headers.get("webhook-timestamp")
        given = headers.get("webhook-signature")
        if not msg_id or not stamp or not given:
            raise NotAuthenticated(
                "signature auth needs the webhook-id, webhook-timestamp and "
                "webhook-signature headers"
            )
        try:
            sent = int(stamp)
        except ValueError:
            raise NotAuthenticated("webhook-timestamp is not a number of seconds") from None
        if sent < now - self.past.total_seconds():
            raise NotAuthenticated(
                f"webhook-timestamp is {now - sent:.0f} s old, more than the "
                f"{self.past.total_seconds():g} s allowed"
            )
        if sent > now + self.future.total_seconds():
            raise NotAuthenticated(
                f"webhook-timestamp is {sent - now:.0f} s in the future, more than the "
                f"{self.future.total_seconds():g} s allowed"
            )
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise NotAuthenticated("the signed body is not UTF-8") from None
        when = datetime.fromtimestamp(sent, tz=UTC)
        expected = [signer.sign(msg_id, when, text) for signer in self._signers]
        presented = [part for part in given.split(" ") if part.startswith("v1,")]
        if not any(_same(p, e) for p in presented for e in expected):
            raise NotAuthenticated(
                "no webhook-signature matches the body with any of our secrets "
                "(a changed body, or a secret we do not have)"
            )
        return msg_id
