"""`espf db stats`: what the database holds, how big it is, and what the
next prune would remove."""

from __future__ import annotations

import click

from espf.cli.common import with_service
from espf.cli.output import table
from espf.clock import format_ms
from espf.db_stats import DbStats, StateRows
from espf.retention import ACCOUNT_HISTORY
from espf.service import Service


def _size(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def _by_state(title: str, states: dict[str, StateRows]) -> str:
    rows = [(state, f"{r.count:,}", format_ms(r.oldest_at)) for state, r in states.items()]
    return table([title, "rows", "oldest (created)"], rows or [("(none)", "0", "")])


def render(stats: DbStats) -> str:
    size = f"Database size: {_size(stats.size_bytes)}"
    if stats.free_bytes is not None:
        size += f" ({_size(stats.free_bytes)} of it free pages, reused before the file grows)"
    prune_rows = [
        (name, f"{count:,}", "status reports" if name == ACCOUNT_HISTORY else "events")
        for name, count in stats.next_prune.items()
    ]
    return "\n\n".join(
        [
            size,
            table(["table", "rows"], [(t, f"{n:,}") for t, n in stats.rows.items()]),
            _by_state("events", stats.events_by_state),
            _by_state("deliveries", stats.deliveries_by_state),
            "The next prune removes:\n" + table(["state", "rows", ""], prune_rows),
        ]
    )


@click.group("db")
def db() -> None:
    """The database itself."""


@db.command("stats")
@click.pass_context
def stats(ctx: click.Context) -> None:
    """Rows per table and state, oldest row per state, size, next prune.

    Example: espf db stats
    """

    async def run(service: Service) -> DbStats:
        return await service.db_stats()

    click.echo(render(with_service(ctx, run)))
