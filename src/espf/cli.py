"""The admin CLI. Its verbs follow the original's evctl, and it answers to
both names, ``espf`` and ``evctl``. Every command works directly on the
database (``--database-url`` / ``ESPF_DATABASE_URL``), like evctl on the
server itself."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
import orjson

from espf.cli_output import event_detail, handler_table, table
from espf.clock import format_ms
from espf.config import ConfigError, Settings, load_settings
from espf.domain import AuthMethod, EventFilter, EventState, HandlerSettings, Role
from espf.errors import BadRequest, EspfError
from espf.event_request import parse_event_request
from espf.service import Service
from espf.store import create_store

T = TypeVar("T")


def run_async(coro: Awaitable[T]) -> T:
    try:
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(coro)  # type: ignore[arg-type]
    except ImportError:
        return asyncio.run(coro)  # type: ignore[arg-type]


def _settings(ctx: click.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


def with_service(ctx: click.Context, action: Callable[[Service], Awaitable[T]]) -> T:
    """Open the database, bring its schema up to date, run ``action``."""
    settings = _settings(ctx)

    async def run() -> T:
        store = create_store(settings.database_url, pool_size=settings.db_pool_size)
        await store.open()
        try:
            service = Service(store, settings)
            await service.prepare_database()
            return await action(service)
        finally:
            await store.close()

    try:
        return run_async(run())
    except EspfError as error:
        click.echo(f"error: {error.message}", err=True)
        sys.exit(error.exit_code)


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
def _serve(
    ctx: click.Context, host: str | None, port: int | None, api: bool, dispatch: bool
) -> None:
    from espf.logs import configure_logging
    from espf.runner import run_service

    settings = _settings(ctx).replace(
        **{k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    )
    configure_logging(settings.log_level)
    try:
        run_async(run_service(settings, api=api, dispatch=dispatch))
    except EspfError as error:
        click.echo(f"error: {error.message}", err=True)
        sys.exit(error.exit_code)


_host = click.option("--host", help="address to listen on (default 127.0.0.1, ESPF_HOST)")
_port = click.option("--port", type=int, help="port to listen on (default 8080, ESPF_PORT)")


@main.command()
@_host
@_port
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Run the API and the dispatcher in one process."""
    _serve(ctx, host, port, api=True, dispatch=True)


@main.command()
@_host
@_port
@click.pass_context
def api(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Run the API only."""
    _serve(ctx, host, port, api=True, dispatch=False)


@main.command()
@click.pass_context
def dispatcher(ctx: click.Context) -> None:
    """Run the dispatcher only."""
    _serve(ctx, None, None, api=False, dispatch=True)


@main.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Apply the database migrations not yet applied."""

    settings = _settings(ctx)

    async def run() -> tuple[list[int], int]:
        store = create_store(settings.database_url, pool_size=settings.db_pool_size)
        await store.open()
        try:
            service = Service(store, settings)
            applied = await service.prepare_database()
            return applied, await store.schema_version()
        finally:
            await store.close()

    applied, version = run_async(run())
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

    settings = _settings(ctx)
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
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option(
    "--role", type=click.Choice([r.value for r in Role]), default="admin", show_default=True
)
@click.pass_context
def user_create(ctx: click.Context, i_env: int, login: str, password: str, role: str) -> None:
    created = with_service(ctx, lambda s: s.user_create(i_env, login, password, Role(role)))
    click.echo(f"Created {created.role.value} user {created.login} in environment {created.i_env}")


@user.command("list")
@click.argument("i_env", type=int, required=False)
@click.pass_context
def user_list(ctx: click.Context, i_env: int | None) -> None:
    users = with_service(ctx, lambda s: s.user_list(i_env))
    click.echo(table(["i_env", "login", "role"], [(u.i_env, u.login, u.role.value) for u in users]))


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


# -- handlers -------------------------------------------------------------------------
@main.group()
def handler() -> None:
    """Handlers (EventSender) and their subscriptions."""


def _handler_options(creating: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        options = [
            click.option("--url", required=creating, help="the Application's URL"),
            click.option("--login", help="basic auth login"),
            click.option("--password", help="basic auth password"),
            click.option(
                "--auth",
                "auth_method",
                type=click.Choice([m.value for m in AuthMethod]),
                help="how to authenticate to the Application (default: basic)",
            ),
            click.option("--auth-scheme", help="custom auth: the scheme, e.g. Token"),
            click.option("--auth-token", help="custom auth: the token"),
            click.option("--auth-header", help="header name (default: Authorization)"),
            click.option("--timeout", type=float, help="seconds to wait for an answer (300)"),
        ]
        if creating:
            options.append(click.option("--disabled", is_flag=True, help="create it disabled"))
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


def _handler_settings(**values: Any) -> HandlerSettings:
    method = values.get("auth_method")
    return HandlerSettings(
        url=values.get("url"),
        auth_method=AuthMethod(method) if method else None,
        login=values.get("login"),
        password=values.get("password"),
        auth_scheme=values.get("auth_scheme"),
        auth_token=values.get("auth_token"),
        auth_header=values.get("auth_header"),
        timeout_s=values.get("timeout"),
        enabled=False if values.get("disabled") else None,
    )


@handler.command("create")
@click.argument("i_env", type=int)
@click.argument("name")
@_handler_options(creating=True)
@click.pass_context
def handler_create(ctx: click.Context, /, i_env: int, name: str, **values: Any) -> None:
    """Create an EventSender handler."""
    created = with_service(
        ctx, lambda s: s.handler_create(i_env, name, _handler_settings(**values))
    )
    state = "enabled" if created.enabled else "disabled"
    click.echo(f"Created handler {created.name} ({created.kind}, {state}) in environment {i_env}")


@handler.command("set")
@click.argument("i_env", type=int)
@click.argument("name")
@_handler_options(creating=False)
@click.pass_context
def handler_set(ctx: click.Context, /, i_env: int, name: str, **values: Any) -> None:
    """Change a handler's settings."""
    changes = _handler_settings(**values)
    if changes == HandlerSettings():
        raise click.UsageError("nothing to change: give at least one option, e.g. --url")
    updated = with_service(ctx, lambda s: s.handler_set(i_env, name, changes))
    click.echo(handler_table([updated]))


@handler.command("enable")
@click.argument("i_env", type=int)
@click.argument("name")
@click.pass_context
def handler_enable(ctx: click.Context, i_env: int, name: str) -> None:
    with_service(ctx, lambda s: s.handler_set_enabled(i_env, name, True))
    click.echo(f"Handler {name} is enabled")


@handler.command("disable")
@click.argument("i_env", type=int)
@click.argument("name")
@click.pass_context
def handler_disable(ctx: click.Context, i_env: int, name: str) -> None:
    with_service(ctx, lambda s: s.handler_set_enabled(i_env, name, False))
    click.echo(f"Handler {name} is disabled; its waiting deliveries are held until it is enabled")


@handler.command("list")
@click.argument("i_env", type=int, required=False)
@click.pass_context
def handler_list(ctx: click.Context, i_env: int | None) -> None:
    click.echo(handler_table(with_service(ctx, lambda s: s.handler_list(i_env))))


@handler.command("subscribe")
@click.argument("i_env", type=int)
@click.argument("name")
@click.argument("event_type")
@click.pass_context
def handler_subscribe(ctx: click.Context, i_env: int, name: str, event_type: str) -> None:
    subscribed = with_service(ctx, lambda s: s.subscribe(i_env, name, event_type))
    click.echo(f"Handler {name} is subscribed to {subscribed.name}")


@handler.command("unsubscribe")
@click.argument("i_env", type=int)
@click.argument("name")
@click.argument("event_type")
@click.pass_context
def handler_unsubscribe(ctx: click.Context, i_env: int, name: str, event_type: str) -> None:
    removed = with_service(ctx, lambda s: s.unsubscribe(i_env, name, event_type))
    click.echo(f"Handler {name} is unsubscribed from {removed.name}")


@handler.command("sub")
@click.argument("i_env", type=int)
@click.argument("name")
@click.pass_context
def handler_sub(ctx: click.Context, i_env: int, name: str) -> None:
    """Subscribe a handler to every event type."""
    added = with_service(ctx, lambda s: s.subscribe_all(i_env, name))
    click.echo(f"Handler {name} is subscribed to all event types ({added} new)")


@handler.command("subscriptions")
@click.argument("i_env", type=int)
@click.argument("name")
@click.pass_context
def handler_subscriptions(ctx: click.Context, i_env: int, name: str) -> None:
    for type_name in with_service(ctx, lambda s: s.subscriptions(i_env, name)):
        click.echo(type_name)


# -- events ----------------------------------------------------------------------------
@main.group()
def event() -> None:
    """Events in the queue."""


@event.command("create")
@click.argument("i_env", type=int)
@click.argument("event_type")
@click.option("--variables", default="{}", help="a JSON object, e.g. '{\"i_account\": 541}'")
@click.option("--start-time", help="'YYYY-MM-DD HH:MM:SS' UTC (default: now)")
@click.pass_context
def event_create(
    ctx: click.Context, i_env: int, event_type: str, variables: str, start_time: str | None
) -> None:
    try:
        parsed = orjson.loads(variables)
    except orjson.JSONDecodeError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", param_hint="--variables") from None
    try:
        request = parse_event_request(
            {"event_type": event_type, "variables": parsed, "start_time": start_time}
        )
    except BadRequest as error:
        raise click.UsageError(error.message) from None

    async def create(service: Service) -> int:
        if await service.store.env_get(i_env) is None:
            raise BadRequest(f"environment {i_env} does not exist")
        return await service.event_create_parsed(i_env, request)

    click.echo(f"Created event #{with_service(ctx, create)}")


@event.command("list")
@click.option("--i-env", type=int)
@click.option("--type", "event_type")
@click.option("--state", type=click.Choice([s.value for s in EventState]))
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--before", type=int, help="only events with a smaller i_event (paging)")
@click.pass_context
def event_list(
    ctx: click.Context,
    i_env: int | None,
    event_type: str | None,
    state: str | None,
    limit: int,
    before: int | None,
) -> None:
    event_filter = EventFilter(
        i_env=i_env,
        event_type=event_type,
        state=EventState(state) if state else None,
        limit=limit,
        before_i_event=before,
    )
    events = with_service(ctx, lambda s: s.event_list(event_filter))
    click.echo(
        table(
            ["i_event", "i_env", "type", "state", "start_time", "variables"],
            [
                (
                    e.i_event,
                    e.i_env,
                    e.event_type,
                    e.state.value,
                    format_ms(e.start_at),
                    orjson.dumps(e.variables).decode(),
                )
                for e in events
            ],
        )
    )


@event.command("show")
@click.argument("i_event", type=int)
@click.pass_context
def event_show(ctx: click.Context, i_event: int) -> None:
    """An event, its deliveries and every attempt."""
    click.echo(event_detail(with_service(ctx, lambda s: s.event_get(i_event, None))))
