"""The console over plain HTTP, for the security tests: signs in as a browser
would (the sign-in form's token and cookie), then GETs and POSTs forms."""

from __future__ import annotations

import re

import httpx

_TOKEN = re.compile(r'name="token" value="([^"]+)"')
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class ConsoleClient:
    def __init__(self, console_url: str) -> None:
        self.http = httpx.Client(base_url=console_url, follow_redirects=False, timeout=15)

    def sign_in(self, login: str, password: str) -> httpx.Response:
        form = self.http.get("/signin")
        token = _TOKEN.search(form.text)
        assert token, form.text
        return self.http.post(
            "/signin",
            data={"login": login, "password": password, "token": token.group(1), "next": ""},
        )

    def csrf(self) -> str:
        page = self.http.get("/")
        found = _CSRF.search(page.text)
        assert found, page.text
        return found.group(1)

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path)

    def post(self, path: str, data: dict[str, str]) -> httpx.Response:
        return self.http.post(path, data=data)

    def close(self) -> None:
        self.http.close()
