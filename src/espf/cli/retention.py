"""`espf prune`: remove finished events past their retention window now, or
with --dry-run only show what would go."""

from __future__ import annotations

import click

from espf.cli.common import with_service
from espf.retention import ACCOUNT_HISTORY
from espf.service import Service


def _window(seconds: float) -> str:
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _show_preview(
    counts: dict[str, int], windows: dict[str, float], by_env: dict[int, dict[str, float]]
) -> None:
    for name, count in counts.items():
        what = "status reports" if name == ACCOUNT_HISTORY else "events"
        own = "".join(
            f", env {i_env}: {_window(env_windows[name])}"
            for i_env, env_windows in sorted(by_env.items())
            if env_windows[name] != windows[name]
        )
        click.echo(f"  {name:<16} {count:>12,} {what:<15} (kept {_window(windows[name])}{own})")


@click.command("prune")
@click.option("--dry-run", is_flag=True, help="only show what would be removed")
@click.pass_context
def prune(ctx: click.Context, dry_run: bool) -> None:
    """Remove finished events past their retention window now.

    Old account status reports go too (setting retention; an environment
    may have windows of its own, setting retention_by_env). Pending and
    scheduled events are never removed. The dispatcher does this by itself
    every prune_interval_s.

    Example: espf prune --dry-run
    """

    async def run(service: Service) -> None:
        counts = await service.prune_preview()
        windows = service.retention_windows_s()
        by_env = service.retention_windows_by_env_s()
        total = sum(counts.values())
        if dry_run:
            click.echo(f"Would remove {total:,} events and status reports:")
            _show_preview(counts, windows, by_env)
            return
        if total == 0:
            click.echo("Nothing to prune")
            return
        # The bar shows only on a terminal: run by hand, not in a cron job's log.
        with click.progressbar(length=total, label="Pruning") as bar:
            totals = await service.prune(on_batch=bar.update)
        if totals.busy:
            click.echo("Another node is pruning now; try again later")
            return
        rows = ", ".join(f"{table} {count:,}" for table, count in totals.rows.items())
        click.echo(
            f"Removed {totals.events:,} events ({rows}) and "
            f"{totals.account_history:,} account status reports"
        )

    with_service(ctx, run)
