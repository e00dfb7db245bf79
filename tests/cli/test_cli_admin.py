"""The CLI verbs added with the whole API: user delete and set-role, type
delete, handler delete, and event list's filters. Run in-process with
click's CliRunner against a SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner

from espf import passwords
from espf.cli import main


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


class Cli:
    def __init__(self, database: Path) -> None:
        self.runner = CliRunner()
        self.url = f"sqlite:///{database}"

    def __call__(self, *args: str, code: int = 0) -> str:
        result = self.runner.invoke(main, ["--database-url", self.url, *args])
        assert result.exit_code == code, result.output
        return result.output


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    run = Cli(tmp_path / "espf.db")
    run("env", "create", "--i-env", "3", "three")
    return run


def test_type_create_keeps_its_contract_and_delete_retires_the_id(cli: Cli) -> None:
    assert (
        cli("type", "create", "Custom/NextMonth") == "Created event type #10001 Custom/NextMonth\n"
    )
    assert (
        cli("type", "delete", "Custom/NextMonth") == "Deleted event type #10001 Custom/NextMonth\n"
    )
    assert cli("type", "create", "Custom/Other") == "Created event type #10002 Custom/Other\n"
    cli("handler", "create", "3", "EventSender", "--url", "http://127.0.0.1:9/", "--auth", "none")
    cli("handler", "subscribe", "3", "EventSender", "Custom/Other")
    assert "1 subscription(s)" in cli("type", "delete", "Custom/Other", code=5)
    assert "built in" in cli("type", "delete", "Account/New", code=5)


def test_user_delete_and_set_role(cli: Cli) -> None:
    cli("user", "create", "3", "boss", "--password", "boss-password", "--role", "admin")
    cli("user", "create", "3", "feed", "--password", "feed-password", "--role", "producer")
    assert "now admin" in cli("user", "set-role", "3", "feed", "admin")
    assert "now producer" in cli("user", "set-role", "3", "feed", "producer")
    assert "last administrator" in cli("user", "set-role", "3", "boss", "producer", code=5)
    assert "last administrator" in cli("user", "delete", "3", "boss", code=5)
    assert "Deleted user feed" in cli("user", "delete", "3", "feed")
    cli("user", "delete", "3", "feed", code=4)
    assert "feed" not in cli("user", "list", "3")


def test_handler_delete(cli: Cli) -> None:
    cli("handler", "create", "3", "Old", "--url", "http://127.0.0.1:9/", "--auth", "none")
    assert "Old (deleted #1)" in cli("handler", "delete", "3", "Old")
    cli("handler", "delete", "3", "Old", code=4)
    assert "Old" not in cli("handler", "list", "3")


def test_event_list_filters(cli: Cli) -> None:
    cli("event", "create", "3", "Account/New", "--variables", '{"i_account": 541}')
    cli("event", "create", "3", "Account/New", "--variables", '{"i_account": 542}')
    listed = cli("event", "list", "--variable", "i_account=542")
    assert "542" in listed and "541" not in listed
    assert len(cli("event", "list", "--from", "2000-01-01 00:00:00").splitlines()) == 3
    assert len(cli("event", "list", "--to", "2000-01-01 00:00:00").splitlines()) == 1
    cli("event", "list", "--variable", "nonsense", code=2)
