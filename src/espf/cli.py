"""The admin CLI. Its verbs follow the original's evctl, and it answers to
both names, ``espf`` and ``evctl``. Every command works directly on the
database (``--database-url`` / ``ESPF_DATABASE_URL``), like evctl on the
server itself."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from espf.cli_common import run_async, settings_of_context, with_service
from espf.cli_output import table
from espf.config import ConfigError, load_settings
from espf.domain import Role
from espf.errors import EspfError
from espf.service import Service
from espf.store import create_store


class _Group(click.Group):
    """Turns configuration errors into one clear line and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.option(
    "--database-url",
    envvar="ESPF_DATABASE_URL",
    help="sqlite:///path.db (default: sqlite:///espf.db) or postgresql://...",
)
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """espf: External System Provisioning Framework."""
    try:
        ctx.obj = load_settings(database_url=database_url)
    except ConfigError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)


# -- running -----------------------------------------------------------------------
def _serve(ctx: click.Context, api: bool, dispatch: bool, **options: Any) -> None:
    from espf.logs import configure_logging
    from espf.runner import run_service

    settings = settings_of_context(ctx).replace(
        **{k: v for k, v in options.items() if v is not None}
    )
    configure_logging(settings.log_level, settings.log_format)
    try:
        run_async(run_service(settings, api=api, dispatch=dispatch))
    except EspfError as error:
        click.echo(f"error: {error.message}", err=True)
        sys.exit(error.exit_code)


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


@main.command()
@_api_options
@_log_format
@click.pass_context
def serve(ctx: click.Context, /, **options: Any) -> None:
    """Run the API and the dispatcher in one process."""
    _serve(ctx, api=True, dispatch=True, **options)


@main.command()
@_api_options
@_log_format
@click.pass_context
def api(ctx: click.Context, /, **options: Any) -> None:
    """Run the API only."""
    _serve(ctx, api=True, dispatch=False, **options)


@main.command()
@_log_format
@click.pass_context
def dispatcher(ctx: click.Context, /, **options: Any) -> None:
    """Run the dispatcher only."""
    _serve(ctx, api=False, dispatch=True, **options)


@main.group()
def config() -> None:
    """The effective configuration."""


@config.command("show")
@click.pass_context
def config_show(ctx: click.Context) -> None:
    """Print every setting as the service would use it, secrets masked."""
    from espf.config import masked

    for name, value in masked(settings_of_context(ctx)).items():
        click.echo(f"{name} = {value!r}")


@main.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Apply the database migrations not yet applied."""

    settings = settings_of_context(ctx)

    async def run() -> tuple[list[int], int]:
        store = create_store(settings.database_url, pool_size=settings.db_pool_size)
        await store.open()
        try:
            service = Service(store, settings)
            applied = await service.prepare_database()
            return applied, await store.schema_version()
        finally:
            await store.close()

    try:
        applied, version = run_async(run())
    except EspfError as error:
        click.echo(f"error: {error.message}", err=True)
        sys.exit(error.exit_code)
    if applied:
        click.echo(
            f"Applied migrations {', '.join(map(str, applied))}; schema is at version {version}"
        )
    else:
        click.echo(f"Schema is up to date at version {version}")


@main.command("copy")
@click.option(
    "--from", "source_url", required=True, help="the database to copy, e.g. sqlite:///espf.db"
)
@click.option(
    "--to", "target_url", required=True, help="an empty database, e.g. postgresql://host/espf"
)
@click.pass_context
def copy_command(ctx: click.Context, source_url: str, target_url: str) -> None:
    """Copy every environment, user, type, handler, subscription, event,
    delivery and attempt, ids kept, into an empty database. Stop the service
    on the source first; then start it on the target."""
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

    try:
        report = run_async(run())
    except EspfError as error:
        click.echo(f"error: {error.message}", err=True)
        sys.exit(error.exit_code)
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


# -- environments and users -------------------------------------------------------
@main.group()
def env() -> None:
    """Environments (i_env)."""


@env.command("create")
@click.option("--i-env", type=int, help="the id to give (default: the next free one)")
@click.argument("name")
@click.pass_context
def env_create(ctx: click.Context, i_env: int | None, name: str) -> None:
    created = with_service(ctx, lambda s: s.env_create(name, i_env))
    click.echo(f"Created environment #{created.i_env} {created.name}")


@env.command("list")
@click.pass_context
def env_list(ctx: click.Context) -> None:
    envs = with_service(ctx, lambda s: s.env_list())
    click.echo(table(["i_env", "name"], [(e.i_env, e.name) for e in envs]))


@main.group()
def user() -> None:
    """API users."""


@user.command("create")
@click.argument("i_env", type=int)
@click.argument("login")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="at least 8 characters; asked for (twice, not echoed) when not given",
)
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default="producer",
    show_default=True,
    help="producer: create and read its own events; admin: everything in its environment",
)
@click.option(
    "--allow-weak-password",
    is_flag=True,
    help="accept a password shorter than 8 characters (an existing Application's); logged",
)
@click.pass_context
def user_create(
    ctx: click.Context,
    i_env: int,
    login: str,
    password: str,
    role: str,
    allow_weak_password: bool,
) -> None:
    """Create an API user (a producer unless --role admin).

    Example: espf user create 1 app --password change-me-please --role admin
    """
    created = with_service(
        ctx, lambda s: s.user_create(i_env, login, password, Role(role), allow_weak_password)
    )
    weak = " (weak password, allowed explicitly)" if created.weak_password else ""
    click.echo(
        f"Created {created.role.value} user {created.login} in environment {created.i_env}{weak}"
    )


@user.command("list")
@click.argument("i_env", type=int, required=False)
@click.pass_context
def user_list(ctx: click.Context, i_env: int | None) -> None:
    users = with_service(ctx, lambda s: s.user_list(i_env))
    click.echo(
        table(
            ["i_env", "login", "role", "password"],
            [(u.i_env, u.login, u.role.value, "weak" if u.weak_password else "") for u in users],
        )
    )


@user.command("delete")
@click.argument("i_env", type=int)
@click.argument("login")
@click.pass_context
def user_delete(ctx: click.Context, i_env: int, login: str) -> None:
    """Delete an API user; the events it created stay. An environment keeps
    its last administrator."""
    with_service(ctx, lambda s: s.user_delete(i_env, login))
    click.echo(f"Deleted user {login} of environment {i_env}")


@user.command("set-role")
@click.argument("i_env", type=int)
@click.argument("login")
@click.argument("role", type=click.Choice([r.value for r in Role]))
@click.pass_context
def user_set_role(ctx: click.Context, i_env: int, login: str, role: str) -> None:
    """Make a user an admin or a producer."""
    updated = with_service(ctx, lambda s: s.user_set_role(i_env, login, Role(role)))
    click.echo(f"User {updated.login} of environment {i_env} is now {updated.role.value}")


# -- event types --------------------------------------------------------------------
@main.group("type")
def type_() -> None:
    """Event types."""


@type_.command("create")
@click.argument("name")
@click.pass_context
def type_create(ctx: click.Context, name: str) -> None:
    """Create a custom type; its name must start with Custom/."""
    created = with_service(ctx, lambda s: s.type_create(name))
    click.echo(f"Created event type #{created.i_event_type} {created.name}")


@type_.command("list")
@click.pass_context
def type_list(ctx: click.Context) -> None:
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
    """Delete a custom type that no subscription and no event uses."""
    deleted = with_service(ctx, lambda s: s.type_delete(name))
    click.echo(f"Deleted event type #{deleted.i_event_type} {deleted.name}")


@main.command()
def secret() -> None:
    """Print a new signing secret for signature auth (Standard Webhooks)."""
    from espf.signing import generate_signing_secret

    click.echo(generate_signing_secret())


def _register_groups() -> None:
    # Imported here: these modules import cli_common, which the root needs too.
    from espf.cli_event import event
    from espf.cli_handler import handler
    from espf.cli_user_auth import register_user_auth_commands

    main.add_command(handler)
    main.add_command(event)
    register_user_auth_commands(user)


_register_groups()
