"""A client written the way the public PHP libraries for the original ESPF
(portabilling/billing, pavlyuts/porta-api) work, to test espf against them:

- log in with ``POST /rest/Session/login`` ``{"params": {"login", "password"}}``
  (or ``"token"``) and keep the answer;
- read the access token's payload the way PHP does, with ``base64_decode``
  of the middle part (standard alphabet, other characters silently dropped),
  and take ``exp``, ``iat`` and ``login`` from it; no signature check;
- before a call, refresh (``/rest/Session/refresh_access_token``) when the
  token expires within the refresh margin, and log in again if that fails;
- send ``Authorization: Bearer <access_token>`` to ``/espf/v1/...``; on 401,
  log in again and send the request once more;
- tell a wrong password (HTTP 500 with faultcode ``Server.Session.auth_failed``)
  from any other failure.

It counts what it did, so tests can see the refresh and the re-login.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


class Http(Protocol):
    def post(self, url: str, **kwargs: Any) -> Any: ...


class AuthFailed(Exception):
    """The server said Server.Session.auth_failed."""


class ApiFailed(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


def php_base64_decode(text: str) -> bytes:
    """PHP's base64_decode() in its default, non-strict mode."""
    kept = re.sub(r"[^A-Za-z0-9+/]", "", text)
    return base64.b64decode(kept + "=" * (-len(kept) % 4))


def decode_token(token: str | None) -> dict[str, Any]:
    """PortaTokenDecoder::setToken: the payload, or {} when it cannot be read."""
    if not token or token.count(".") < 1:
        return {}
    try:
        decoded = json.loads(php_base64_decode(token.split(".")[1]))
    except (ValueError, UnicodeDecodeError):
        return {}
    return decoded if isinstance(decoded, dict) else {}


@dataclass
class PhpLikeClient:
    http: Http
    account: dict[str, str]
    now_s: Callable[[], float]
    refresh_margin_s: float = 3600.0
    session: dict[str, Any] = field(default_factory=dict)
    logins: int = 0
    refreshes: int = 0
    retried_after_401: int = 0

    # -- SessionManager ---------------------------------------------------------------
    def _billing(self, method: str, params: dict[str, Any]) -> Any:
        return self.http.post(
            f"/rest/Session/{method}",
            json={"params": params},
            headers=self._auth(),
        )

    def _auth(self) -> dict[str, str]:
        token = self.session.get("access_token")
        return {"Authorization": f"Bearer {token}"} if token else {}

    def login(self) -> None:
        self.logins += 1
        response = self._billing("login", self.account)
        if response.status_code == 200:
            self._set_data(response.json())
            return
        self.session = {}
        if response.status_code == 500 and response.json().get("faultcode") == (
            "Server.Session.auth_failed"
        ):
            raise AuthFailed(response.json()["faultstring"])
        raise ApiFailed(response.status_code, response.text)

    def _set_data(self, data: dict[str, Any]) -> None:
        # SessionData::setData keeps nothing if the token cannot be decoded.
        if decode_token(data.get("access_token")):
            self.session = {**self.session, **data}

    def refresh(self) -> bool:
        self.refreshes += 1
        response = self._billing(
            "refresh_access_token", {"refresh_token": self.session.get("refresh_token")}
        )
        if response.status_code == 200:
            self._set_data(response.json())
            return True
        self.session = {}
        return False

    def ping(self) -> int:
        response = self._billing("ping", {"access_token": self.session.get("access_token")})
        if response.status_code != 200:
            raise ApiFailed(response.status_code, response.text)
        return int(response.json().get("user_id") or 0)

    def logout(self) -> None:
        self._billing("logout", {"access_token": self.session.get("access_token")})
        self.session = {}

    @property
    def token(self) -> dict[str, Any]:
        return decode_token(self.session.get("access_token"))

    def _load(self) -> None:
        """SessionManager::sessionLoad, run when the library is constructed."""
        claims = self.token
        if claims:
            if claims["exp"] - self.now_s() > self.refresh_margin_s:
                return
            if self.refresh():
                return
        self.login()

    # -- ESPF --------------------------------------------------------------------------
    def post(self, endpoint: str, params: dict[str, Any]) -> dict[str, Any]:
        """ESPF::post through BillingBase::sendSafe."""
        self._load()
        response = self._send(endpoint, params)
        if response.status_code == 401:
            self.retried_after_401 += 1
            self.login()
            response = self._send(endpoint, params)
        if response.status_code != 200:
            raise ApiFailed(response.status_code, response.text)
        answer: dict[str, Any] = response.json()
        return answer

    def _send(self, endpoint: str, params: dict[str, Any]) -> Any:
        return self.http.post(
            f"/espf/v1{endpoint}",
            content=json.dumps(params or {}),
            headers={"content-type": "application/json", **self._auth()},
        )
