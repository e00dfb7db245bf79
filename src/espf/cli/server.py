"""Running espf, and what operators do to the installation as a whole:
``serve``, ``api``, ``dispatcher``, ``config show``, ``migrate``, ``copy``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from espf.cli.common import open_service, run_or_exit, settings_of_context
from espf.store import create_store


# -- running -----------------------------------------------------------------------
def _serve(ctx: click.Context, api: bool, dispatch: bool, **options: Any) -> None:
    from espf.logs import configure_logging
    from espf.runner import run_service

    settings = settings_of_context(ctx).replace(
        **{k: v for k, v in options.items() if v is not None}
    )
    configure_logging(settings.log_level, settings.log_format)
    run_or_exit(run_service(settings, api=api, dispatch=dispatch))


def _api_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option("--host", help="address to listen on (default 127.0.0.1, ESPF_HOST)"),
            click.option("--port", type=int, help="port to listen on (default 8080, ESPF_PORT)"),
            click.option("--tls-cert", help="serve HTTPS with this certificate (PEM)"),
            click.option("--tls-key", help="... and this private key (PEM)"),
        ]
    ):
        f = option(f)
    return f


_log_format = click.option(
    "--log-format", type=click.Choice(["text", "json"]), help="log lines as text or JSON"
)


@click.command()
@_api_options
@_log_format
@click.pass_context
def serve(ctx: click.Context, /, **options: Any) -> None:
    """Run the API and the dispatcher in one process.

    \b
    Example: ESPF_ADMIN_LOGIN=app ESPF_ADMIN_PASSWORD=change-me-please espf serve --port 8080
    """
    _serve(ctx, api=True, dispatch=True, **options)


@click.command()
@_api_options
@_log_format
@click.pass_context
def api(ctx: click.Context, /, **options: Any) -> None:
    """Run the API only.

    \b
    Example: espf api --host 0.0.0.0 --port 8080
    """
    _serve(ctx, api=True, dispatch=False, **options)


@click.command()
@_log_format
@click.pass_context
def dispatcher(ctx: click.Context, /, **options: Any) -> None:
    """Run the dispatcher only.

    \b
    Example: espf dispatcher --log-format json
    """
    _serve(ctx, api=False, dispatch=True, **options)


@click.group()
def config() -> None:
    """The effective configuration."""


@config.command("show")
@click.pass_context
def config_show(ctx: click.Context) -> None:
    """Print every setting as the service would use it, secrets masked.

    \b
    Example: ESPF_PORT=9090 espf config show
    """
    from espf.config import masked

    for name, value in masked(settings_of_context(ctx)).items():
        click.echo(f"{name} = {value!r}")


@click.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Apply the database migrations not yet applied.

    \b
    Example: ESPF_DATABASE_URL=postgresql://espf@db/espf espf migrate
    """

    settings = settings_of_context(ctx)

    async def run() -> tuple[list[int], int]:
        async with open_service(settings) as service:
            applied = await service.prepare_database()
            return applied, await service.schema_version()

    applied, version = run_or_exit(run())
    if applied:
        click.echo(
            f"Applied migrations {', '.join(map(str, applied))}; schema is at version {version}"
        )
    else:
        click.echo(f"Schema is up to date at version {version}")


@click.command("copy")
@click.option(
    "--from", "source_url", required=True, help="the database to copy, e.g. sqlite:///espf.db"
)
@click.option(
    "--to", "target_url", required=True, help="an empty database, e.g. postgresql://host/espf"
)
@click.pass_context
def copy_command(ctx: click.Context, source_url: str, target_url: str) -> None:
    """Copy a whole database into an empty one (SQLite to PostgreSQL).

    Every environment, user, type, handler, subscription, event, delivery
    and attempt, ids kept. Stop the service on the source first; then start
    it on the target.

    \b
    Example: espf copy --from sqlite:///espf.db --to postgresql://espf@db/espf
    """
    from espf.clock import SystemClock
    from espf.copy import copy_database, require_sqlite_file

    settings = settings_of_context(ctx)
    show = _CopyProgress(sys.stdout.isatty())

    async def run() -> Any:
        require_sqlite_file(source_url)
        source = create_store(source_url, pool_size=2)
        target = create_store(target_url, pool_size=2)
        await source.open()
        try:
            await target.open()
            try:
                return await copy_database(
                    source,
                    target,
                    now_ms=SystemClock().now_ms(),
                    node_ttl_ms=int(settings.node_ttl_s * 1000),
                    progress=show,
                )
            finally:
                await target.close()
        finally:
            await source.close()

    report = run_or_exit(run())
    total = sum(report.rows_per_table.values())
    click.echo(f"Copied {total} rows from {source_url} to {target_url}")
    if report.live_source_nodes:
        click.echo(
            f"warning: {report.live_source_nodes} dispatcher(s) were running on the source "
            "during the copy; what they did meanwhile is not in the target",
            err=True,
        )


class _CopyProgress:
    """A line per table with its row count; on a terminal the line counts up."""

    def __init__(self, interactive: bool) -> None:
        self._interactive = interactive

    def __call__(self, table: str, done: int, total: int) -> None:
        line = f"{table:<14} {done:>10,} / {total:,} rows"
        finished = done >= total
        if self._interactive:
            click.echo(f"\r{line}", nl=finished)
        elif finished:
            click.echo(line)
