"""The CLI verbs for the credentials of existing Applications: weak
passwords allowed explicitly, set-password, API tokens; and user create's
default role. In-process with click's CliRunner against a SQLite file."""

from __future__ import annotations

import asyncio
import re

import pytest

from espf.config import load_settings
from espf.errors import Unauthorized
from espf.service import Service
from espf.store import create_store
from tests.cli.test_cli_admin import Cli, cheap_password_hashing, cli

__all__ = ["cheap_password_hashing", "cli"]


def test_user_create_makes_a_producer_unless_told(cli: Cli) -> None:
    assert "Created producer user feed" in cli("user", "create", "3", "feed", "--password", "p" * 8)
    assert "Created admin user boss" in cli(
        "user", "create", "3", "boss", "--password", "p" * 8, "--role", "admin"
    )


def test_weak_passwords_need_the_opt_in(cli: Cli) -> None:
    refused = cli("user", "create", "3", "username", "--password", "secret", code=2)
    assert "--allow-weak-password" in refused
    made = cli("user", "create", "3", "username", "--password", "secret", "--allow-weak-password")
    assert "weak password" in made
    assert re.search(r"3\s+username\s+producer\s+weak", cli("user", "list", "3"))

    cli("user", "set-password", "3", "username", "--password", "short", code=2)
    changed = cli("user", "set-password", "3", "username", "--password", "long-enough")
    assert "changed" in changed and "weak" not in changed
    assert not re.search(r"username\s+producer\s+weak", cli("user", "list", "3"))
    cli("user", "set-password", "3", "nobody", "--password", "long-enough", code=4)


def test_api_tokens(cli: Cli) -> None:
    cli("user", "create", "3", "app", "--password", "p" * 8)
    made = cli("user", "token", "create", "3", "app", "--name", "billing sync")
    found = re.fullmatch(r"Created API token #(\d+) for user app \(shown once\):\n(\S+)\n", made)
    assert found is not None, made
    number, secret = found.groups()
    assert secret.startswith("espf_")
    listed = cli("user", "token", "list", "3")
    assert re.search(rf"{number}\s+3\s+app\s+billing sync\s+\S+ \S+\s+never", listed), listed
    assert secret not in listed

    # The token logs in (Session/login's check), and no longer once revoked.
    async def log_in() -> str:
        settings = load_settings({}, database_url=cli.url)
        store = create_store(cli.url)
        await store.open()
        try:
            tokens = await Service(store, settings).sessions.login("app", token=secret)
            return tokens.session_id
        finally:
            await store.close()

    assert asyncio.run(log_in())
    assert "Revoked API token" in cli("user", "token", "revoke", "3", "app", number)
    cli("user", "token", "revoke", "3", "app", number, code=4)
    assert "app" not in cli("user", "token", "list", "3")
    with pytest.raises(Unauthorized, match="wrong login or API token"):
        asyncio.run(log_in())
