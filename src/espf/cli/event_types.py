"""``espf type ...``: event types."""

from __future__ import annotations

import click

from espf.cli.common import with_service
from espf.cli.output import table


@click.group("type")
def type_() -> None:
    """Event types."""


@type_.command("create")
@click.argument("name")
@click.pass_context
def type_create(ctx: click.Context, name: str) -> None:
    """Create a custom type; its name must start with Custom/.

    \b
    Example: espf type create Custom/NextMonth
    """
    created = with_service(ctx, lambda s: s.type_create(name))
    click.echo(f"Created event type #{created.i_event_type} {created.name}")


@type_.command("list")
@click.pass_context
def type_list(ctx: click.Context) -> None:
    """List the built-in and custom event types with their ids.

    \b
    Example: espf type list
    """
    types = with_service(ctx, lambda s: s.type_list())
    click.echo(
        table(
            ["id", "name", "kind"],
            [(t.i_event_type, t.name, "built-in" if t.builtin else "custom") for t in types],
        )
    )


@type_.command("delete")
@click.argument("name")
@click.pass_context
def type_delete(ctx: click.Context, name: str) -> None:
    """Delete a custom type that no subscription and no event uses.

    \b
    Example: espf type delete Custom/NextMonth
    """
    deleted = with_service(ctx, lambda s: s.type_delete(name))
    click.echo(f"Deleted event type #{deleted.i_event_type} {deleted.name}")
