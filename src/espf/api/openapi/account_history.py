"""An account's history: export as JSON lines, expunge."""

from __future__ import annotations

from typing import Any

from espf.account_history import JSON_LINES
from espf.account_status import MAX_I_ACCOUNT
from espf.api.openapi.kit import Schema, answer, integer, obj, operation, post, string

TAG = "accounts"
BODY = obj({"i_account": integer(maximum=MAX_I_ACCOUNT, examples=[541])}, ("i_account",))
RECORD = obj(
    {
        "record": string(
            "What this line is: event, delivery, attempt, transition or status",
            20,
            examples=["event"],
        ),
    },
    ("record",),
    "One row, with the columns of its kind (an event's i_event, variables, state...; "
    "a delivery's i_delivery, state, attempts...)",
)


def _export() -> dict[str, Any]:
    described = operation(
        operation_id="account_export",
        tag=TAG,
        summary="Every event, delivery, attempt and status of an account, as JSON lines",
        description=(
            "The account's events are those whose variables carry its i_account. The answer "
            f"is {JSON_LINES}: one JSON object per line, events first, then their deliveries, "
            "attempts and state changes, then the account's status reports."
        ),
        body=BODY,
        answer_schema=RECORD,
        errors={404: "No such environment."},
        answer_description="The account's history, one record per line",
        example={"i_account": 541},
    )
    described["responses"]["200"]["content"] = {JSON_LINES: {"schema": RECORD}}
    return described


def _expunge() -> dict[str, Any]:
    counts: dict[str, Schema] = {
        name: integer(minimum=0)
        for name in ("events", "deliveries", "attempts", "transitions", "status_reports")
    }
    return operation(
        operation_id="account_expunge",
        tag=TAG,
        summary="Delete an account's whole history (a data-protection request)",
        description=(
            "Deletes what account/export shows, in one transaction, and records that it "
            "happened (when, by whom, how much). Refused while a delivery of the account is "
            "being sent."
        ),
        body=BODY,
        answer_schema=answer({"i_expunge": integer(), **counts}),
        errors={404: "No such environment.", 409: "A delivery of the account is in flight."},
        example={"i_account": 541},
    )


PATHS = {
    "/espf/v1/account/export": post(_export()),
    "/espf/v1/account/expunge": post(_expunge()),
}
