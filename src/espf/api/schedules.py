"""Schedules over HTTP, for the administrators of their environment: create
(or replace by key), list, get, pause, resume, delete and preview. A schedule
is named by ``i_schedule`` or by ``key`` (docs/calendar.md, "Schedules")."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from espf.api.context import ApiContext, Endpoint
from espf.api.json_input import Fields
from espf.api.responses import JSONResponse
from espf.calendar.local_time import local_at
from espf.calendar.occurrences import MAX_PREVIEW, Occurrence
from espf.calendar.zones import load_zone
from espf.clock import format_ms
from espf.event_request import format_local
from espf.schedule_model import Schedule
from espf.schedules.decide import occurrence_local_time
from espf.schedules.request import MAX_KEY_LENGTH, ScheduleSpec
from espf.service.schedules import ScheduleRef

CREATE_FIELDS = (
    "key",
    "event_type",
    "variables",
    "rule",
    "time_zone",
    "start_time",
    "end_time",
    "catch_up",
    "catch_up_window_s",
    "replace",
)
REF_FIELDS = ("i_schedule", "key")
MAX_WINDOW_S = 31 * 86_400


def schedule_json(schedule: Schedule) -> dict[str, Any]:
    zone = load_zone(schedule.time_zone)

    def local(ms: int | None) -> str | None:
        return None if ms is None else format_local(local_at(ms, zone).replace(tzinfo=None))

    next_at = schedule.next_at
    return {
        "i_schedule": schedule.i_schedule,
        "i_env": schedule.i_env,
        "key": schedule.key,
        "event_type": schedule.event_type,
        "variables": schedule.variables,
        "rule": schedule.rule,
        "time_zone": schedule.time_zone,
        "start_time": local(schedule.start_at),
        "end_time": local(schedule.end_at),
        "catch_up": schedule.catch_up,
        "catch_up_window_s": schedule.catch_up_window_s,
        "paused": schedule.paused,
        "next_time": format_ms(next_at) if next_at is not None else None,
        "next_local_time": (
            local_at(next_at, zone).isoformat(sep=" ") if next_at is not None else None
        ),
        "created": format_ms(schedule.created_at),
        "updated": format_ms(schedule.updated_at),
    }


def occurrence_json(occurrence: Occurrence) -> dict[str, Any]:
    return {
        "time": format_ms(occurrence.instant_ms),
        "local_time": occurrence_local_time(occurrence),
        "moved": occurrence.shifted,
    }


def _ref(f: Fields) -> ScheduleRef:
    return ScheduleRef(f.integer("i_schedule"), f.text("key", max_length=MAX_KEY_LENGTH))


def schedule_endpoints(ctx: ApiContext) -> dict[str, Endpoint]:
    service, auth = ctx.service, ctx.auth

    async def schedule_create(request: Request) -> Response:
        admin = await auth.admin(request)
        f = await ctx.fields(request, CREATE_FIELDS)
        spec = ScheduleSpec(
            key=f.require_text("key", MAX_KEY_LENGTH),
            event_type=f.require_text("event_type", 300),
            rule=f.require_text("rule", 300),
            time_zone=f.require_text("time_zone", 100),
            variables=f.json_object("variables") or {},
            start_time=f.text("start_time", max_length=40),
            end_time=f.text("end_time", max_length=40),
            catch_up=f.choice("catch_up", ("skip", "latest", "all")),
            catch_up_window_s=f.integer("catch_up_window_s", maximum=MAX_WINDOW_S),
        )
        created = await service.schedule_create(admin.i_env, spec, f.flag("replace"))
        return JSONResponse(schedule_json(created))

    async def schedule_list(request: Request) -> Response:
        admin = await auth.admin(request)
        f = await ctx.fields(request, ("after", "limit", "key_prefix"))
        page = await service.schedule_page(
            admin.i_env,
            f.integer("after", minimum=0) or 0,
            f.integer("limit") or 100,
            f.text("key_prefix", max_length=MAX_KEY_LENGTH) or "",
        )
        return JSONResponse(
            {
                "schedules": [schedule_json(s) for s in page.schedules],
                "next_after": page.next_after,
            }
        )

    async def schedule_get(request: Request) -> Response:
        admin = await auth.admin(request)
        f = await ctx.fields(request, REF_FIELDS)
        return JSONResponse(schedule_json(await service.schedule_get(admin.i_env, _ref(f))))

    async def schedule_pause(request: Request) -> Response:
        admin = await auth.admin(request)
        f = await ctx.fields(request, REF_FIELDS)
        return JSONResponse(schedule_json(await service.schedule_pause(admin.i_env, _ref(f))))

    async def schedule_resume(request: Request) -> Response:
        admin = await auth.admin(request)
        f = await ctx.fields(request, REF_FIELDS)
        return JSONResponse(schedule_json(await service.schedule_resume(admin.i_env, _ref(f))))

    async def schedule_delete(request: Request) -> Response:
        admin = await auth.admin(request)
        f = await ctx.fields(request, REF_FIELDS)
        deleted = await service.schedule_delete(admin.i_env, _ref(f))
        return JSONResponse({**schedule_json(deleted), "deleted": True})

    async def schedule_preview(request: Request) -> Response:
        admin = await auth.admin(request)
        f = await ctx.fields(request, (*REF_FIELDS, "count"))
        count = f.integer("count", maximum=MAX_PREVIEW) or 10
        shown = await service.schedule_preview(admin.i_env, _ref(f), count)
        return JSONResponse({"occurrences": [occurrence_json(o) for o in shown]})

    return {
        "schedule/create": schedule_create,
        "schedule/list": schedule_list,
        "schedule/get": schedule_get,
        "schedule/pause": schedule_pause,
        "schedule/resume": schedule_resume,
        "schedule/delete": schedule_delete,
        "schedule/preview": schedule_preview,
    }
