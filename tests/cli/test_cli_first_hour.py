"""The CLI as a newcomer meets it: every command says what it does and shows
an example; 'not found' exits 4 whatever the object; a hint for a missing
event type is a command that works; history times stay aligned."""

from __future__ import annotations

import re
from collections.abc import Iterator

import click
import pytest

from espf.cli import main
from espf.cli.output import event_detail
from espf.domain import Event, EventState, Transition
from espf.service import EventDetail
from tests.cli.test_cli_admin import Cli, cheap_password_hashing, cli

__all__ = ["cheap_password_hashing", "cli"]


def commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, click.Command]]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            assert command.help, f"group {' '.join((*path, name))} has no help"
            yield from commands(command, (*path, name))
        else:
            yield " ".join((*path, name)), command


@pytest.mark.parametrize(("name", "command"), list(commands(main)))
def test_every_command_has_a_description_and_an_example(name: str, command: click.Command) -> None:
    assert command.help, name
    first_paragraph = command.help.strip().split("\n\n")[0]
    assert "\n" not in first_paragraph, f"{name}: the description is not one line"
    assert first_paragraph.endswith(".") and len(first_paragraph) <= 100, first_paragraph
    example = re.search(r"Example: (.+)", command.help)
    assert example, f"{name} has no example"
    # The example runs the command it documents (after any settings).
    assert re.match(rf"([A-Z_]+=\S+ )*espf {name}( |$)", example.group(1)), example.group(1)


@pytest.mark.parametrize(
    "args",
    [
        ("user", "create", "99", "someone", "--password", "long-enough"),
        ("user", "delete", "3", "nobody"),
        ("user", "set-password", "3", "nobody", "--password", "long-enough"),
        ("user", "token", "revoke", "3", "nobody", "1"),
        ("handler", "create", "99", "EventSender", "--url", "http://127.0.0.1:9/"),
        ("handler", "show", "3", "Nobody"),
        ("handler", "enable", "3", "Nobody"),
        ("handler", "subscriptions", "3", "Nobody"),
        ("event", "create", "99", "Account/New"),
        ("event", "show", "999"),
        ("event", "cancel", "999"),
        ("event", "retry", "999"),
        ("type", "delete", "Custom/Nothing"),
        ("event", "create", "3", "Custom/Nothing"),
    ],
)
def test_not_found_exits_4_for_every_object(cli: Cli, args: tuple[str, ...]) -> None:
    output = cli(*args, code=4)
    assert "does not exist" in output or "has no" in output, output


@pytest.mark.parametrize("typo", ["custom/nextmonth", "custom/later", "Account/Nwe"])
def test_type_hints_are_commands_that_work(cli: Cli, typo: str) -> None:
    cli("type", "create", "Custom/NextMonth")
    message = cli("event", "create", "3", typo, code=4)
    suggested = re.findall(r"'espf (type create [^']+)'", message)
    if not suggested:  # a type that exists under another case
        (meant,) = re.findall(r"did you mean '([^']+)'", message)
        assert "Created event" in cli("event", "create", "3", meant)
        return
    for command in suggested:
        created = cli(*command.split())
        name = command.split()[-1]
        assert "Created event type" in created
        assert "Created event" in cli("event", "create", "3", name)


def test_history_times_stay_aligned_when_milliseconds_are_zero() -> None:
    event = Event(
        i_event=1,
        i_env=1,
        event_type="Custom/NextMonth",
        variables={},
        start_at=1_614_556_800_000,
        created_at=1_614_556_800_000,
        state=EventState.DELIVERED,
    )
    detail = EventDetail(
        event,
        [],
        [
            Transition(1, None, "scheduled", 1_614_556_800_000, "created"),
            Transition(1, None, "delivered", 1_614_556_801_250, "answered"),
        ],
    )
    history = event_detail(detail).split("  history:\n")[1].splitlines()
    assert history == [
        "    2021-03-01 00:00:00.000 UTC  event -> scheduled: created",
        "    2021-03-01 00:00:01.250 UTC  event -> delivered: answered",
    ]
