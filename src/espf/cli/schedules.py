"""espf schedule create|list|show|pause|resume|delete|preview.

A schedule is named by its key (e.g. ``i_account=541``) or by ``#<id>``."""

from __future__ import annotations

import click
import orjson

from espf.calendar.local_time import local_at
from espf.calendar.occurrences import Occurrence
from espf.calendar.zones import load_zone
from espf.cli.common import with_service
from espf.cli.output import table
from espf.clock import format_ms
from espf.schedule_model import Schedule
from espf.schedules.decide import occurrence_local_time
from espf.schedules.request import ScheduleSpec
from espf.service import Service
from espf.service.schedules import SchedulePage, ScheduleRef


def _ref(text: str) -> ScheduleRef:
    if text.startswith("#") and text[1:].isdigit():
        return ScheduleRef(i_schedule=int(text[1:]))
    return ScheduleRef(key=text)


def _next(schedule: Schedule) -> str:
    if schedule.next_at is None:
        return "paused" if schedule.paused else "none (past its end)"
    local = local_at(schedule.next_at, load_zone(schedule.time_zone)).isoformat(sep=" ")
    return f"{format_ms(schedule.next_at)} UTC ({local} {schedule.time_zone})"


def schedule_detail(schedule: Schedule) -> str:
    zone = load_zone(schedule.time_zone)

    def local(ms: int | None) -> str:
        return "-" if ms is None else local_at(ms, zone).isoformat(sep=" ")

    window = f", window {schedule.catch_up_window_s} s" if schedule.catch_up_window_s else ""
    return "\n".join(
        [
            f"Schedule #{schedule.i_schedule}  {schedule.key}  (environment {schedule.i_env})",
            f"  event type: {schedule.event_type}",
            f"  rule:       {schedule.rule}  in {schedule.time_zone}",
            f"  start/end:  {local(schedule.start_at)} / {local(schedule.end_at)}",
            f"  missed:     {schedule.catch_up}{window}",
            f"  paused:     {'yes' if schedule.paused else 'no'}",
            f"  next:       {_next(schedule)}",
            f"  variables:  {orjson.dumps(schedule.variables).decode()}",
        ]
    )


def _occurrences(shown: list[Occurrence]) -> str:
    return table(
        ["utc", "local", "moved"],
        [
            (format_ms(o.instant_ms), occurrence_local_time(o), "yes" if o.shifted else "")
            for o in shown
        ],
    )


@click.group()
def schedule() -> None:
    """Recurring schedules that make events (docs/calendar.md)."""


@schedule.command("create")
@click.argument("i_env", type=int)
@click.argument("key")
@click.argument("event_type")
@click.option("--rule", required=True, help="e.g. 'monthly on day 1 at 00:00', cron")
@click.option("--time-zone", required=True, help="an IANA zone, e.g. Europe/Prague")
@click.option("--variables", default="{}", help="the template, a JSON object")
@click.option("--start-time", help="first possible occurrence, local time")
@click.option("--end-time", help="occurrences are before it, local time")
@click.option("--catch-up", type=click.Choice(["skip", "latest", "all"]), help="missed runs")
@click.option("--catch-up-window", type=int, help="with --catch-up all: seconds back")
@click.option("--replace", is_flag=True, help="replace the schedule with this key")
@click.pass_context
def schedule_create(
    ctx: click.Context,
    i_env: int,
    key: str,
    event_type: str,
    rule: str,
    time_zone: str,
    variables: str,
    start_time: str | None,
    end_time: str | None,
    catch_up: str | None,
    catch_up_window: int | None,
    replace: bool,
) -> None:
    """Create a schedule for KEY (e.g. i_account=541), or --replace it.

    \b
    Example: espf schedule create 1 i_account=541 Custom/NextMonth \\
        --rule 'monthly on day 1 at 00:00' --time-zone Europe/Prague \\
        --variables '{"i_account": 541}'
    """
    try:
        parsed = orjson.loads(variables)
    except orjson.JSONDecodeError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", param_hint="--variables") from None
    if not isinstance(parsed, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--variables")
    spec = ScheduleSpec(
        key=key,
        event_type=event_type,
        rule=rule,
        time_zone=time_zone,
        variables=parsed,
        start_time=start_time,
        end_time=end_time,
        catch_up=catch_up,
        catch_up_window_s=catch_up_window,
    )

    async def create(service: Service) -> Schedule:
        return await service.schedule_create(i_env, spec, replace)

    created = with_service(ctx, create)
    click.echo(f"{'Saved' if replace else 'Created'} schedule #{created.i_schedule} {created.key}")
    click.echo(f"  next: {_next(created)}")


@schedule.command("list")
@click.argument("i_env", type=int)
@click.option("--key-prefix", default="", help="only keys starting so, e.g. i_account=")
@click.option("--after", type=int, default=0, help="only ids above this (paging)")
@click.option("--limit", type=int, default=100, show_default=True)
@click.pass_context
def schedule_list(ctx: click.Context, i_env: int, key_prefix: str, after: int, limit: int) -> None:
    """List the environment's schedules.

    Example: espf schedule list 1 --key-prefix i_account=
    """

    async def page(service: Service) -> SchedulePage:
        return await service.schedule_page(i_env, after, limit, key_prefix)

    found = with_service(ctx, page)
    click.echo(
        table(
            ["i_schedule", "key", "type", "rule", "time_zone", "next"],
            [
                (s.i_schedule, s.key, s.event_type, s.rule, s.time_zone, _next(s))
                for s in found.schedules
            ],
        )
    )
    if found.next_after is not None:
        click.echo(f"(more: --after {found.next_after})")


def _by_ref(name: str, verb: str, description: str) -> None:
    help_text = f"{description}\n\nExample: espf schedule {name} 1 i_account=541\n"

    @schedule.command(name, help=help_text)
    @click.argument("i_env", type=int)
    @click.argument("schedule_ref", metavar="KEY|#ID")
    @click.pass_context
    def command(ctx: click.Context, i_env: int, schedule_ref: str) -> None:
        async def act(service: Service) -> Schedule:
            operation = getattr(service, f"schedule_{verb}")
            found: Schedule = await operation(i_env, _ref(schedule_ref))
            return found

        done = with_service(ctx, act)
        if verb == "delete":
            click.echo(f"Deleted schedule #{done.i_schedule} {done.key}")
        else:
            click.echo(schedule_detail(done))


_by_ref("show", "get", "Show a schedule.")
_by_ref("pause", "pause", "Pause a schedule: it makes no events until resumed.")
_by_ref("resume", "resume", "Resume a schedule; missed occurrences follow its policy.")
_by_ref("delete", "delete", "Delete a schedule; the events it made stay.")


@schedule.command("preview")
@click.argument("i_env", type=int)
@click.argument("schedule_ref", metavar="KEY|#ID")
@click.option("--count", type=int, default=10, show_default=True)
@click.pass_context
def schedule_preview(ctx: click.Context, i_env: int, schedule_ref: str, count: int) -> None:
    """Show the next occurrences, in UTC and local time.

    Example: espf schedule preview 1 i_account=541 --count 12
    """

    async def show(service: Service) -> list[Occurrence]:
        return await service.schedule_preview(i_env, _ref(schedule_ref), count)

    click.echo(_occurrences(with_service(ctx, show)))
