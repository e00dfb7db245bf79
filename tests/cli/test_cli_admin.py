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


def test_event_create_with_a_time_zone_shows_the_local_time(cli: Cli) -> None:
    cli("type", "create", "Custom/NextMonth")
    out = cli(
        "event", "create", "3", "Custom/NextMonth",
        "--start-time", "2026-03-01 00:00:00", "--time-zone", "Europe/Prague",
    )  # fmt: skip
    i_event = out.split("#")[1].strip()
    shown = cli("event", "show", i_event)
    assert "start_time: 2026-02-28 23:00:00 UTC" in shown
    assert "asked for:  2026-03-01 00:00:00 Europe/Prague" in shown
    refused = cli(
        "event", "create", "3", "Custom/NextMonth",
        "--start-time", "2026-03-01 00:00:00", "--time-zone", "Europe/Pargue", code=2,
    )  # fmt: skip
    assert "unknown time zone 'Europe/Pargue'" in refused


def test_schedule_verbs_by_key(cli: Cli) -> None:
    cli("type", "create", "Custom/NextMonth")
    out = cli(
        "schedule", "create", "3", "i_account=541", "Custom/NextMonth",
        "--rule", "monthly on day 1 at 00:00", "--time-zone", "Europe/Prague",
        "--variables", '{"i_account": 541}',
    )  # fmt: skip
    assert out.startswith("Created schedule #1 i_account=541\n")
    refused = cli(
        "schedule", "create", "3", "i_account=541", "Custom/NextMonth",
        "--rule", "daily at 02:30", "--time-zone", "Europe/Prague", code=5,
    )  # fmt: skip
    assert "already exists" in refused
    cli(
        "schedule", "create", "3", "i_account=541", "Custom/NextMonth",
        "--rule", "daily at 02:30", "--time-zone", "Europe/Prague", "--replace",
    )  # fmt: skip
    assert "daily at 02:30" in cli("schedule", "show", "3", "i_account=541")
    assert "i_account=541" in cli("schedule", "list", "3")
    assert "paused:     yes" in cli("schedule", "pause", "3", "#1")
    assert "paused:     no" in cli("schedule", "resume", "3", "i_account=541")
    preview = cli("schedule", "preview", "3", "i_account=541", "--count", "2").splitlines()
    assert preview[0].split() == ["utc", "local", "moved"] and len(preview) == 3
    bad = cli(
        "schedule", "create", "3", "k", "Custom/NextMonth",
        "--rule", "daily at 02:30", "--time-zone", "Mars/Base", code=2,
    )  # fmt: skip
    assert "Mars/Base" in bad
    assert cli("schedule", "delete", "3", "i_account=541") == "Deleted schedule #1 i_account=541\n"
    assert cli("schedule", "list", "3").splitlines()[1:] == []


def test_handler_delivery_limits(cli: Cli) -> None:
    cli(
        "handler", "create", "3", "Hss", "--url", "http://127.0.0.1:9/", "--auth", "none",
        "--max-in-flight", "4", "--max-rate", "50",
    )  # fmt: skip
    assert "limits:       4 in flight, 50/s (burst 1)" in cli("handler", "show", "3", "Hss")
    cli("handler", "set", "3", "Hss", "--max-in-flight", "0", "--rate-burst", "10")
    assert "limits:       50/s (burst 10)" in cli("handler", "show", "3", "Hss")
    refused = cli("handler", "set", "3", "Hss", "--max-rate", "-5", code=2)
    assert "max_rate must be" in refused


def test_handler_breaker_and_effective_rate(cli: Cli) -> None:
    cli(
        "handler", "create", "3", "Hss", "--url", "http://127.0.0.1:9/", "--auth", "none",
        "--max-rate", "50",
    )  # fmt: skip
    shown = cli("handler", "show", "3", "Hss")
    assert "effective rate 50/s" in shown
    assert "breaker:      opens after 10 failures in a row" in shown
    cli("handler", "set", "3", "Hss", "--breaker-after", "0")
    assert "breaker:      off" in cli("handler", "show", "3", "Hss")
    refused = cli("handler", "set", "3", "Hss", "--breaker-after", "-1", code=2)
    assert "breaker_after must be a whole number of failures in a row" in refused


def test_handler_maintenance_windows(cli: Cli) -> None:
    cli("handler", "create", "3", "Hss", "--url", "http://127.0.0.1:9/", "--auth", "none")
    added = cli(
        "handler", "maintenance", "add", "3", "Hss",
        "--rule", "weekly on tue at 23:00", "--zone", "Europe/Prague", "--duration", "14400",
    )  # fmt: skip
    assert "Added maintenance window 1 to handler Hss" in added
    listed = cli("handler", "maintenance", "list", "3", "Hss")
    assert "weekly on tue at 23:00" in listed and "Europe/Prague" in listed
    assert "next maintenance" in listed or "maintenance until" in listed
    refused = cli("handler", "maintenance", "add", "3", "Hss", "--start", "soon", code=2)
    assert "is not a time" in refused
    assert "Removed" in cli("handler", "maintenance", "remove", "3", "Hss", "1")
    assert "No maintenance window" in cli("handler", "maintenance", "list", "3", "Hss")
    cli("handler", "maintenance", "remove", "3", "Hss", "1", code=4)
