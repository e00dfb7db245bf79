"""Recurring schedules of the caller's environment (docs/calendar.md)."""

from __future__ import annotations

from typing import Any

from espf.api.openapi.components import TIME
from espf.api.openapi.kit import (
    Schema,
    answer,
    array,
    boolean,
    enum,
    integer,
    nullable,
    obj,
    operation,
    post,
    string,
)
from espf.api.schedules import MAX_WINDOW_S
from espf.calendar.occurrences import MAX_PREVIEW
from espf.schedules.request import MAX_KEY_LENGTH

TAG = "schedules"
KEY = string(
    "Unique in the environment; names the schedule, e.g. one per account",
    MAX_KEY_LENGTH,
    examples=["i_account=541"],
)
I_SCHEDULE = integer("The schedule's id")
LOCAL = "local time in time_zone, 'YYYY-MM-DD HH:MM:SS'"
NO_SCHEDULE = "No such schedule in the caller's environment."

SCHEDULE: Schema = answer(
    {
        "i_schedule": I_SCHEDULE,
        "i_env": integer("Its environment"),
        "key": KEY,
        "event_type": string("The type of the events it makes"),
        "variables": {
            "type": "object",
            "description": "The template of each event's variables; each event also gets "
            "schedule_id, schedule_key and occurrence_local_time",
        },
        "rule": string("e.g. 'monthly on day 1 at 00:00', 'daily at 02:30', cron"),
        "time_zone": string("IANA zone the rule is read in"),
        "start_time": nullable(string(f"First possible occurrence, {LOCAL}")),
        "end_time": nullable(string(f"Occurrences are before it, {LOCAL}")),
        "catch_up": enum(["skip", "latest", "all"], "What fires for missed occurrences"),
        "catch_up_window_s": nullable(integer("With 'all': how far back, in seconds")),
        "paused": boolean("A paused schedule makes no events"),
        "next_time": nullable(TIME),
        "next_local_time": nullable(
            string("The next occurrence in local time with its offset, 'YYYY-MM-DD HH:MM:SS+HH:MM'")
        ),
        "created": TIME,
        "updated": TIME,
    },
    "A recurring schedule",
)
REF = obj({"i_schedule": I_SCHEDULE, "key": KEY})
REF_NOTE = " Name the schedule by i_schedule or by key."


def _ref_op(operation_id: str, summary: str, description: str, extra: Schema | None = None) -> Any:
    return post(
        operation(
            operation_id=operation_id,
            tag=TAG,
            summary=summary,
            description=description + REF_NOTE,
            body=REF,
            answer_schema=extra or SCHEDULE,
            errors={404: NO_SCHEDULE},
            example={"key": "i_account=541"},
        )
    )


PATHS = {
    "/espf/v1/schedule/create": post(
        operation(
            operation_id="schedule_create",
            tag=TAG,
            summary="Create a recurring schedule, or replace the one with its key",
            description=(
                "Makes an event of event_type at each occurrence of rule in time_zone, "
                "exactly once per occurrence. Daylight saving follows docs/calendar.md: in a "
                "repeated hour an occurrence fires once, in a skipped hour at the end of the "
                "gap. Each event's variables are the template plus schedule_id, schedule_key "
                "and occurrence_local_time. A key that exists is a 409 unless replace is "
                "true; a replaced schedule keeps its id, so occurrences already made are not "
                "made again. An unknown zone, an impossible rule or an end before the start "
                "is a 400 and creates nothing."
            ),
            body=obj(
                {
                    "key": KEY,
                    "event_type": string(
                        "A standard or custom type", examples=["Custom/NextMonth"]
                    ),
                    "variables": nullable({"type": "object", "description": "The template"}),
                    "rule": string(
                        "'every N minutes', 'every N hours', 'hourly at :MM', 'daily at HH:MM', "
                        "'weekly on monday at HH:MM', 'monthly on day D at HH:MM', "
                        "'monthly on the last day at HH:MM', or five-field cron",
                        300,
                    ),
                    "time_zone": string("IANA zone name", 100, examples=["Europe/Prague"]),
                    "start_time": nullable(string(f"Inclusive, {LOCAL}", 40)),
                    "end_time": nullable(string(f"Exclusive, {LOCAL}", 40)),
                    "catch_up": nullable(
                        enum(
                            ["skip", "latest", "all"],
                            "Missed occurrences (espf down, schedule paused): skip (default), "
                            "latest (the most recent once) or all within catch_up_window_s",
                        )
                    ),
                    "catch_up_window_s": nullable(
                        integer("With 'all' only: seconds back from now", maximum=MAX_WINDOW_S)
                    ),
                    "replace": nullable(boolean("Replace the schedule with this key")),
                },
                ("key", "event_type", "rule", "time_zone"),
            ),
            answer_schema=SCHEDULE,
            errors={
                404: "The event type does not exist.",
                409: "A schedule with this key exists and replace is not true.",
            },
            example={
                "key": "i_account=541",
                "event_type": "Custom/NextMonth",
                "variables": {"i_account": 541},
                "rule": "monthly on day 1 at 00:00",
                "time_zone": "Europe/Prague",
            },
        )
    ),
    "/espf/v1/schedule/list": post(
        operation(
            operation_id="schedule_list",
            tag=TAG,
            summary="The environment's schedules, by id",
            description="Pass next_after back as after for the next page.",
            body=obj(
                {
                    "after": nullable(integer("Only ids above this", minimum=0)),
                    "limit": nullable(integer("At most this many", maximum=1000)),
                    "key_prefix": nullable(string("Only keys starting so", MAX_KEY_LENGTH)),
                }
            ),
            body_required=False,
            answer_schema=answer(
                {
                    "schedules": array(SCHEDULE),
                    "next_after": nullable(integer("null on the last page")),
                }
            ),
            example={"key_prefix": "i_account="},
        )
    ),
    "/espf/v1/schedule/get": _ref_op("schedule_get", "One schedule", "By id or key."),
    "/espf/v1/schedule/pause": _ref_op(
        "schedule_pause", "Pause a schedule", "A paused schedule makes no events."
    ),
    "/espf/v1/schedule/resume": _ref_op(
        "schedule_resume",
        "Resume a paused schedule",
        "The occurrences missed while paused follow its catch_up policy.",
    ),
    "/espf/v1/schedule/delete": _ref_op(
        "schedule_delete",
        "Delete a schedule",
        "The events it made stay. The answer is the schedule as it was, with deleted: true.",
        answer({**SCHEDULE["properties"], "deleted": boolean()}),
    ),
    "/espf/v1/schedule/preview": post(
        operation(
            operation_id="schedule_preview",
            tag=TAG,
            summary="The next occurrences of a schedule, in UTC and local time",
            description="moved: a spring-forward gap moved it off the time its rule names."
            + REF_NOTE,
            body=obj(
                {
                    "i_schedule": I_SCHEDULE,
                    "key": KEY,
                    "count": nullable(integer("How many (10)", maximum=MAX_PREVIEW)),
                }
            ),
            answer_schema=answer(
                {
                    "occurrences": array(
                        answer(
                            {
                                "time": TIME,
                                "local_time": string("'YYYY-MM-DD HH:MM:SS+HH:MM'"),
                                "moved": boolean(),
                            }
                        )
                    )
                }
            ),
            errors={404: NO_SCHEDULE},
            example={"key": "i_account=541", "count": 3},
        )
    ),
}
