"""``espf handler maintenance ...``: a handler's maintenance windows."""

from __future__ import annotations

import click

from espf.cli.common import with_service
from espf.cli.output import table
from espf.clock import format_ms
from espf.maintenance import MaintenanceWindow
from espf.timeparse import parse_start_time


@click.group()
def maintenance() -> None:
    """Maintenance windows: while one is open nothing is sent to the handler;
    its due deliveries wait, spending no attempt, and go out when it ends."""


def _instant(option: str, text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return parse_start_time(text)
    except Exception:
        raise click.BadParameter(
            f"{text!r} is not a time: use 'YYYY-MM-DD HH:MM:SS' (UTC) or ISO 8601 with an offset",
            param_hint=option,
        ) from None


@maintenance.command("add")
@click.argument("i_env", type=int)
@click.argument("name")
@click.option("--start", help="one-off: when it opens, 'YYYY-MM-DD HH:MM:SS' UTC")
@click.option("--end", help="one-off: when it ends")
@click.option("--rule", help="recurring: a calendar rule, e.g. 'weekly on tue at 23:00'")
@click.option("--zone", "time_zone", help="recurring: the rule's IANA time zone (default UTC)")
@click.option("--duration", type=int, help="recurring: seconds it stays open")
@click.pass_context
def maintenance_add(
    ctx: click.Context,
    i_env: int,
    name: str,
    start: str | None,
    end: str | None,
    rule: str | None,
    time_zone: str | None,
    duration: int | None,
) -> None:
    """Add a one-off (--start, --end) or recurring (--rule, --zone, --duration) window.

    \b
    Example: espf handler maintenance add 1 EventSender \\
        --rule 'weekly on tuesday at 02:00' --zone Europe/Prague --duration 7200
    """
    window = MaintenanceWindow(
        0, 0, _instant("--start", start), _instant("--end", end), rule, time_zone, duration
    )
    added = with_service(ctx, lambda s: s.maintenance_add(i_env, name, window))
    click.echo(f"Added maintenance window {added.i_window} to handler {name}")


@maintenance.command("list")
@click.argument("i_env", type=int)
@click.argument("name")
@click.pass_context
def maintenance_list(ctx: click.Context, i_env: int, name: str) -> None:
    """List the handler's windows, and the one open now or next.

    Example: espf handler maintenance list 1 EventSender
    """
    state = with_service(ctx, lambda s: s.maintenance_list(i_env, name))
    if state.reason:
        click.echo(f"Handler {name}: {state.reason}")
    elif state.next is not None:
        click.echo(f"Handler {name}: next maintenance {format_ms(state.next.opens_at)} UTC")
    if not state.windows:
        click.echo("No maintenance window")
        return
    click.echo(
        table(
            ["id", "start (UTC)", "end (UTC)", "rule", "zone", "duration (s)"],
            [
                (
                    w.i_window,
                    format_ms(w.starts_at) if w.starts_at is not None else None,
                    format_ms(w.ends_at) if w.ends_at is not None else None,
                    w.rule,
                    w.time_zone,
                    w.duration_s,
                )
                for w in state.windows
            ],
        )
    )


@maintenance.command("remove")
@click.argument("i_env", type=int)
@click.argument("name")
@click.argument("i_window", type=int)
@click.pass_context
def maintenance_remove(ctx: click.Context, i_env: int, name: str, i_window: int) -> None:
    """Remove a window; what it held back goes out at once.

    Example: espf handler maintenance remove 1 EventSender 1
    """
    with_service(ctx, lambda s: s.maintenance_remove(i_env, name, i_window))
    click.echo(f"Removed maintenance window {i_window} of handler {name}")
