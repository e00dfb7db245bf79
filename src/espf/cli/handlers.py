"""``espf handler ...``: EventSender handlers and their subscriptions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from espf.circuit_breaker import DEFAULT_BREAKER_AFTER
from espf.cli.common import with_service
from espf.cli.output import handler_detail, handler_table, table
from espf.domain import (
    AuthMethod,
    Handler,
    HandlerFlow,
    HandlerSettings,
    RetryOverrides,
    TlsSettings,
)
from espf.handler_rules import deleted_handler_name
from espf.service import Service


@click.group()
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
            click.option(
                "--signing-secret",
                "signing_secrets",
                multiple=True,
                help="signature auth: a whsec_ secret; repeat during a rotation, newest first",
            ),
            click.option("--retry-schedule", help="delays in seconds, e.g. '1,5,30,300*10,3600'"),
            click.option("--retry-base", type=float, help="exponential back-off: first delay (s)"),
            click.option("--retry-factor", type=float, help="exponential back-off: growth"),
            click.option("--retry-cap", type=float, help="exponential back-off: longest delay (s)"),
            click.option("--retry-max-attempts", type=int, help="give up after N attempts"),
            click.option("--retry-max-age", type=float, help="give up after N seconds"),
            click.option(
                "--auto-pause-after", type=float, help="pause after failing this many seconds"
            ),
            click.option(
                "--ordered/--unordered",
                default=None,
                help="send deliveries that share a key one at a time, in i_event order",
            ),
            click.option(
                "--order-key", help="the ordering variable (default i_account/i_customer)"
            ),
            click.option(
                "--max-in-flight",
                type=int,
                help="at most N requests open at once, over every node (0: no limit)",
            ),
            click.option(
                "--max-rate",
                type=float,
                help="at most N requests per second, over every node (0: no limit)",
            ),
            click.option(
                "--rate-burst",
                type=int,
                help="requests the rate lets out at once (default 1: evenly spaced)",
            ),
            click.option(
                "--breaker-after",
                type=int,
                help=f"open the circuit after N failures in a row: then one probe at a time "
                f"until one succeeds (default {DEFAULT_BREAKER_AFTER}; 0: never)",
            ),
            click.option("--tls-verify/--no-tls-verify", default=None, help="verify certificates"),
            click.option("--tls-ca-file", help="CA bundle to verify the Application with"),
            click.option("--tls-client-cert", help="client certificate (PEM) for mutual TLS"),
            click.option("--tls-client-key", help="its private key, if not in the certificate"),
        ]
        if creating:
            options.append(click.option("--disabled", is_flag=True, help="create it disabled"))
        else:
            options.append(
                click.option(
                    "--retry-default", is_flag=True, help="drop retry overrides: use the default"
                )
            )
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


_RETRY_OPTIONS = {
    "retry_max_attempts": "max_attempts",
    "retry_max_age": "max_age_s",
    "retry_schedule": "schedule",
    "retry_base": "base_s",
    "retry_factor": "factor",
    "retry_cap": "cap_s",
}
_TLS_OPTIONS = {
    "tls_verify": "verify",
    "tls_ca_file": "ca_file",
    "tls_client_cert": "client_cert",
    "tls_client_key": "client_key",
}


def _handler_settings(**values: Any) -> HandlerSettings:
    method = values.get("auth_method")
    retry = {field: values[o] for o, field in _RETRY_OPTIONS.items() if values.get(o) is not None}
    tls = {field: values[o] for o, field in _TLS_OPTIONS.items() if values.get(o) is not None}
    if values.get("retry_default"):
        if retry:
            raise click.UsageError("--retry-default cannot be combined with other --retry options")
        retry_settings: RetryOverrides | None = RetryOverrides()
    else:
        retry_settings = RetryOverrides(**retry) if retry else None
    return HandlerSettings(
        retry=retry_settings,
        tls=TlsSettings(**tls) if tls else None,
        signing_secrets=tuple(values["signing_secrets"]) if values.get("signing_secrets") else None,
        auto_pause_after_s=values.get("auto_pause_after"),
        ordered=values.get("ordered"),
        order_key=values.get("order_key"),
        url=values.get("url"),
        auth_method=AuthMethod(method) if method else None,
        login=values.get("login"),
        password=values.get("password"),
        auth_scheme=values.get("auth_scheme"),
        auth_token=values.get("auth_token"),
        auth_header=values.get("auth_header"),
        timeout_s=values.get("timeout"),
        enabled=False if values.get("disabled") else None,
        max_in_flight=values.get("max_in_flight"),
        max_rate=values.get("max_rate"),
        rate_burst=values.get("rate_burst"),
        breaker_after=values.get("breaker_after"),
    )


@handler.command("create")
@click.argument("i_env", type=int)
@click.argument("name")
@_handler_options(creating=True)
@click.pass_context
def handler_create(ctx: click.Context, /, i_env: int, name: str, **values: Any) -> None:
    """Create an EventSender handler.

    \b
    Example: espf handler create 1 EventSender --url https://app.example.com/espf --auth none
    """
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
    """Change a handler's settings.

    \b
    Example: espf handler set 1 EventSender --timeout 30 --retry-max-attempts 10
    """
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
    """Enable a handler: the deliveries it held go out.

    \b
    Example: espf handler enable 1 EventSender
    """
    with_service(ctx, lambda s: s.handler_set_enabled(i_env, name, True))
    click.echo(f"Handler {name} is enabled")


@handler.command("disable")
@click.argument("i_env", type=int)
@click.argument("name")
@click.pass_context
def handler_disable(ctx: click.Context, i_env: int, name: str) -> None:
    """Disable a handler: its deliveries are held, not dropped.

    \b
    Example: espf handler disable 1 EventSender
    """
    with_service(ctx, lambda s: s.handler_set_enabled(i_env, name, False))
    click.echo(f"Handler {name} is disabled; its waiting deliveries are held until it is enabled")


@handler.command("delete")
@click.argument("i_env", type=int)
@click.argument("name")
@click.pass_context
def handler_delete(ctx: click.Context, i_env: int, name: str) -> None:
    """Delete a handler with nothing left to send, and its subscriptions.

    The history of its deliveries stays.

    \b
    Example: espf handler delete 1 OldSender
    """
    deleted = with_service(ctx, lambda s: s.handler_delete(i_env, name))
    click.echo(
        f"Deleted handler {name} of environment {i_env}; its deliveries' history names it "
        f"'{deleted_handler_name(deleted)}'"
    )


@handler.command("list")
@click.argument("i_env", type=int, required=False)
@click.pass_context
def handler_list(ctx: click.Context, i_env: int | None) -> None:
    """List handlers, of one environment if given.

    \b
    Example: espf handler list 1
    """
    click.echo(handler_table(with_service(ctx, lambda s: s.handler_list(i_env))))


@handler.command("subscribe")
@click.argument("i_env", type=int)
@click.argument("name")
@click.argument("event_type")
@click.pass_context
def handler_subscribe(ctx: click.Context, i_env: int, name: str, event_type: str) -> None:
    """Subscribe a handler to an event type.

    \b
    Example: espf handler subscribe 1 EventSender Custom/NextMonth
    """
    subscribed = with_service(ctx, lambda s: s.subscribe(i_env, name, event_type))
    click.echo(f"Handler {name} is subscribed to {subscribed.name}")


@handler.command("unsubscribe")
@click.argument("i_env", type=int)
@click.argument("name")
@click.argument("event_type")
@click.pass_context
def handler_unsubscribe(ctx: click.Context, i_env: int, name: str, event_type: str) -> None:
    """Unsubscribe a handler from an event type.

    \b
    Example: espf handler unsubscribe 1 EventSender Custom/NextMonth
    """
    removed = with_service(ctx, lambda s: s.unsubscribe(i_env, name, event_type))
    click.echo(f"Handler {name} is unsubscribed from {removed.name}")


@handler.command("sub")
@click.argument("i_env", type=int)
@click.argument("name")
@click.pass_context
def handler_sub(ctx: click.Context, i_env: int, name: str) -> None:
    """Subscribe a handler to every event type.

    \b
    Example: espf handler sub 1 EventSender
    """
    added = with_service(ctx, lambda s: s.subscribe_all(i_env, name))
    click.echo(f"Handler {name} is subscribed to all event types ({added} new)")


@handler.command("subscriptions")
@click.argument("i_env", type=int)
@click.argument("name")
@click.pass_context
def handler_subscriptions(ctx: click.Context, i_env: int, name: str) -> None:
    """List the event types a handler delivers.

    \b
    Example: espf handler subscriptions 1 EventSender
    """
    for type_name in with_service(ctx, lambda s: s.subscriptions(i_env, name)):
        click.echo(type_name)


@handler.command("pause")
@click.argument("i_env", type=int)
@click.argument("name")
@click.option("--reason", default="", help="why, for the state log")
@click.pass_context
def handler_pause(ctx: click.Context, i_env: int, name: str, reason: str) -> None:
    """Hold the handler's deliveries until it is resumed; none is dropped.

    \b
    Example: espf handler pause 1 EventSender --reason 'Application upgrade'
    """
    with_service(ctx, lambda s: s.handler_pause(i_env, name, reason))
    click.echo(f"Handler {name} is paused; its deliveries wait until 'handler resume'")


@handler.command("resume")
@click.argument("i_env", type=int)
@click.argument("name")
@click.pass_context
def handler_resume(ctx: click.Context, i_env: int, name: str) -> None:
    """Send the deliveries a paused handler was holding.

    \b
    Example: espf handler resume 1 EventSender
    """
    with_service(ctx, lambda s: s.handler_resume(i_env, name))
    click.echo(f"Handler {name} is resumed")


@handler.command("show")
@click.argument("i_env", type=int)
@click.argument("name")
@click.pass_context
def handler_show(ctx: click.Context, i_env: int, name: str) -> None:
    """Every setting of a handler (secrets masked), and its state.

    \b
    Example: espf handler show 1 EventSender
    """

    async def shown(service: Service) -> tuple[Handler, HandlerFlow | None]:
        found = await service.handler_get(i_env, name)
        return found, (await service.handler_flows([found])).get(found.i_handler)

    click.echo(handler_detail(*with_service(ctx, shown)))


@handler.command("blocked")
@click.argument("i_env", type=int)
@click.argument("name", required=False)
@click.pass_context
def handler_blocked(ctx: click.Context, i_env: int, name: str | None) -> None:
    """Ordered handlers: which keys are blocked, and by which delivery.

    \b
    Example: espf handler blocked 1 EventSender
    """
    keys = with_service(ctx, lambda s: s.blocked_keys(i_env, name))
    if not keys:
        click.echo("No key is blocked")
        return
    click.echo(
        table(
            [
                "handler",
                "key",
                "blocked by delivery",
                "i_event",
                "state",
                "attempts",
                "waiting",
                "last error",
            ],
            [
                (
                    k.handler_name,
                    k.order_key,
                    k.head_i_delivery,
                    k.head_i_event,
                    k.head_state.value,
                    k.head_attempts,
                    k.waiting,
                    k.head_last_error or "",
                )
                for k in keys
            ],
        )
    )


@click.command()
def secret() -> None:
    """Print a new signing secret for signature auth (Standard Webhooks).

    \b
    Example: espf secret
    """
    from espf.signing import generate_signing_secret

    click.echo(generate_signing_secret())
