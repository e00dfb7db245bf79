"""``espf event ...``: events in the queue, and what happened to them."""

from __future__ import annotations

import click
import orjson

from espf.cli.common import with_service
from espf.cli.output import event_detail, table
from espf.clock import format_ms
from espf.domain import DeliveryState, EventFilter, EventState, ReplayFilter
from espf.errors import BadRequest, NotFound
from espf.event_request import parse_event_request
from espf.json_text import loads_exact
from espf.service import EventDetail, Service, parse_variable_filter
from espf.timeparse import parse_start_time


@click.group()
def event() -> None:
    """Events in the queue."""


@event.command("create")
@click.argument("i_env", type=int)
@click.argument("event_type")
@click.option("--variables", default="{}", help="a JSON object, e.g. '{\"i_account\": 541}'")
@click.option("--start-time", help="'YYYY-MM-DD HH:MM:SS' UTC (default: now)")
@click.option(
    "--time-zone",
    help="an IANA zone, e.g. Europe/Prague: --start-time is then local time in it",
)
@click.pass_context
def event_create(
    ctx: click.Context,
    i_env: int,
    event_type: str,
    variables: str,
    start_time: str | None,
    time_zone: str | None,
) -> None:
    """Put an event into the queue, as the API's event/create does.

    \b
    Example: espf event create 1 Custom/NextMonth --variables '{"i_account": 541}'
    """
    try:
        parsed = loads_exact(variables.encode(), "--variables")
        request = parse_event_request(
            {
                "event_type": event_type,
                "variables": parsed,
                "start_time": start_time,
                "time_zone": time_zone,
            }
        )
    except BadRequest as error:
        raise click.UsageError(error.message) from None

    async def create(service: Service) -> int:
        if not await service.env_exists(i_env):
            raise NotFound(
                f"environment {i_env} does not exist; create it with "
                f"'espf env create --i-env {i_env} NAME'",
                code="unknown_environment",
            )
        return await service.event_create_parsed(i_env, request)

    click.echo(f"Created event #{with_service(ctx, create)}")


@event.command("list")
@click.option("--i-env", type=int)
@click.option("--type", "event_type")
@click.option("--state", type=click.Choice([s.value for s in EventState]))
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--before", type=int, help="only events with a smaller i_event (paging)")
@click.option("--variable", help="only events with this variable, e.g. i_account=541")
@click.option("--from", "created_from", help="only events created at or after this time (UTC)")
@click.option("--to", "created_to", help="only events created before this time (UTC)")
@click.pass_context
def event_list(
    ctx: click.Context,
    i_env: int | None,
    event_type: str | None,
    state: str | None,
    limit: int,
    before: int | None,
    variable: str | None,
    created_from: str | None,
    created_to: str | None,
) -> None:
    """List events, newest first, with filters.

    \b
    Example: espf event list --i-env 1 --variable i_account=541 --limit 10
    """
    try:
        event_filter = EventFilter(
            i_env=i_env,
            event_type=event_type,
            state=EventState(state) if state else None,
            limit=limit,
            before_i_event=before,
            variable=parse_variable_filter(variable) if variable else None,
            created_from=parse_start_time(created_from) if created_from else None,
            created_to=parse_start_time(created_to) if created_to else None,
        )
    except BadRequest as error:
        raise click.UsageError(error.message) from None
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
    """An event, its deliveries and every attempt.

    \b
    Example: espf event show 1
    """
    click.echo(event_detail(with_service(ctx, lambda s: s.event_get(i_event, None))))


@event.command("cancel")
@click.argument("i_event", type=int)
@click.option("--reason", default="", help="why, for the state log")
@click.pass_context
def event_cancel(ctx: click.Context, i_event: int, reason: str) -> None:
    """Cancel a scheduled event, or its deliveries that have not gone out.

    \b
    Example: espf event cancel 1 --reason 'account closed'
    """

    async def cancel(service: Service) -> EventDetail:
        found = await service.event_get(i_event, None)
        return await service.event_cancel(i_event, found.event.i_env, reason)

    click.echo(event_detail(with_service(ctx, cancel)))


@event.command("reschedule")
@click.argument("i_event", type=int)
@click.argument("start_time")
@click.pass_context
def event_reschedule(ctx: click.Context, i_event: int, start_time: str) -> None:
    """Give a not yet delivered event a new start_time (UTC).

    \b
    Example: espf event reschedule 1 '2021-04-01 00:00:00'
    """

    async def reschedule(service: Service) -> EventDetail:
        found = await service.event_get(i_event, None)
        return await service.event_reschedule(i_event, found.event.i_env, start_time)

    click.echo(event_detail(with_service(ctx, reschedule)))


@event.command("retry")
@click.argument("i_delivery", type=int)
@click.pass_context
def event_retry(ctx: click.Context, i_delivery: int) -> None:
    """Send one delivery (see 'event show') again now, with a fresh retry budget.

    \b
    Example: espf event retry 7
    """
    delivery = with_service(ctx, lambda s: s.delivery_retry(i_delivery, None))
    click.echo(f"Delivery {i_delivery} of event {delivery.i_event} is {delivery.state.value}")


@event.command("replay")
@click.argument("i_env", type=int)
@click.option("--handler", help="only deliveries to this handler")
@click.option("--type", "event_type", help="only events of this type")
@click.option("--variable", help="only events with this variable, e.g. i_account=541")
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(sorted(s.value for s in DeliveryState if s.is_final)),
    help="only deliveries in this state (repeatable; default: every finished state)",
)
@click.option("--from", "created_from", help="only events created at or after this time (UTC)")
@click.option("--to", "created_to", help="only events created before this time (UTC)")
@click.option("--dry-run", is_flag=True, help="only count what would be sent again")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@click.pass_context
def event_replay(
    ctx: click.Context,
    i_env: int,
    handler: str | None,
    event_type: str | None,
    variable: str | None,
    states: tuple[str, ...],
    created_from: str | None,
    created_to: str | None,
    dry_run: bool,
    yes: bool,
) -> None:
    """Send finished deliveries again, chosen by filter.

    \b
    Example: espf event replay 1 --handler EventSender --state failed --dry-run
    """
    try:
        replay = ReplayFilter(
            i_env=i_env,
            handler=handler,
            event_type=event_type,
            variable=parse_variable_filter(variable) if variable else None,
            states=tuple(DeliveryState(s) for s in states),
            created_from=parse_start_time(created_from) if created_from else None,
            created_to=parse_start_time(created_to) if created_to else None,
        )
    except BadRequest as error:
        raise click.UsageError(error.message) from None
    count = with_service(ctx, lambda s: s.replay(replay, dry_run=True))
    click.echo(f"{count} deliveries match")
    if dry_run or count == 0:
        return
    if not yes:
        click.confirm(f"Send these {count} deliveries again?", abort=True)
    sent = with_service(ctx, lambda s: s.replay(replay, dry_run=False))
    click.echo(f"{sent} deliveries will be sent again")
