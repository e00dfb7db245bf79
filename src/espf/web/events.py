"""Events: the filtered list with cursor paging, acting on everything that
matches (always counted first, then confirmed), and one event's detail with
its deliveries, attempts and history, and the actions on it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from espf.api.cursor import decode_cursor, encode_cursor
from espf.domain import Role
from espf.errors import BadRequest, NotFound
from espf.service import own_events_only
from espf.service.console import BulkAction
from espf.web.event_filter import read_filter
from espf.web.kit import Console, Form, redirect
from espf.web.session import Session

EVENTS_CURSOR = "events"  # the API's cursor kind: a console URL and an API cursor agree

BULK_LABELS = {
    BulkAction.REPLAY: ("Replay", "finished deliveries will be sent again"),
    BulkAction.RETRY_FAILED: ("Retry failed", "failed deliveries will be sent again"),
    BulkAction.CANCEL: ("Cancel", "events not yet delivered will be cancelled"),
}
DONE_NOTICES = {
    "cancelled": "Cancelled.",
    "rescheduled": "Rescheduled.",
    "retried": "The delivery is due again and goes out in a moment.",
}


def event_routes(console: Console) -> list[Route]:
    service = console.ctx.service

    async def event_list(request: Request, session: Session, form: Form) -> Response:
        cursor = request.query_params.get("cursor")
        before = decode_cursor(EVENTS_CURSOR, cursor) if cursor else None
        flt = read_filter(request.query_params, session.user, before)
        page = None
        if flt.query is not None:
            try:
                page = await service.console_event_page(flt.query)
            except (BadRequest, NotFound) as error:
                flt.errors[_field_of(error.code)] = error.message
        next_cursor = (
            encode_cursor(EVENTS_CURSOR, page.next_before)
            if page is not None and page.next_before is not None
            else None
        )
        notice = None
        if request.query_params.get("done") in {a.value for a in BulkAction}:
            action = BulkAction(request.query_params["done"])
            count = request.query_params.get("count", "0")
            notice = f"{BULK_LABELS[action][0]}: {count} done."
        return console.render(
            request,
            "events.html",
            session,
            title="Events",
            nav="events",
            flt=flt,
            page=page,
            next_cursor=next_cursor,
            first_page=cursor is None,
            types=await service.type_list(),
            handlers=await service.handler_list(session.user.i_env)
            if session.user.role is Role.ADMIN
            else [],
            actions=BULK_LABELS,
            notice=notice,
        )

    async def bulk(request: Request, session: Session, form: Form) -> Response:
        flt = read_filter(form, session.user)
        try:
            action = BulkAction(form.get("action", ""))
        except ValueError:
            raise BadRequest(
                "action must be replay, retry_failed or cancel", code="invalid_field"
            ) from None
        if flt.query is None:
            raise BadRequest("; ".join(flt.errors.values()), code="invalid_filter")
        i_env = session.user.i_env
        if form.get("confirm") != "yes":
            count = await service.console_bulk(i_env, flt.query, action, dry_run=True)
            return console.render(
                request,
                "bulk_confirm.html",
                session,
                title="Confirm",
                nav="events",
                flt=flt,
                action=action,
                label=BULK_LABELS[action],
                count=count,
                noun=_noun(action, count),
            )
        done = await service.console_bulk(i_env, flt.query, action, dry_run=False)
        return redirect("/events?" + flt.url_query(done=action.value, count=done))

    async def detail(request: Request, session: Session, form: Form) -> Response:
        user = session.user
        i_event = _int(request.path_params["i_event"], "event")
        found = await service.event_get(i_event, user.i_env, own_events_only(user))
        return console.render(
            request,
            "event.html",
            session,
            title=f"Event {i_event}",
            nav="events",
            detail=found,
            notice=DONE_NOTICES.get(request.query_params.get("done", "")),
            reschedule_error=None,
        )

    async def cancel(request: Request, session: Session, form: Form) -> Response:
        i_event = _int(request.path_params["i_event"], "event")
        await service.event_cancel(i_event, session.user.i_env, form.get("reason", "").strip())
        return redirect(f"/events/{i_event}", done="cancelled")

    async def reschedule(request: Request, session: Session, form: Form) -> Response:
        user = session.user
        i_event = _int(request.path_params["i_event"], "event")
        try:
            await service.event_reschedule(i_event, user.i_env, form.get("start_time", ""))
        except BadRequest as error:
            # The message beside the field, on the event's page.
            found = await service.event_get(i_event, user.i_env)
            return console.render(
                request,
                "event.html",
                session,
                status_code=error.http_status,
                title=f"Event {i_event}",
                nav="events",
                detail=found,
                reschedule_error=error.message,
                start_time=form.get("start_time", ""),
            )
        return redirect(f"/events/{i_event}", done="rescheduled")

    async def retry(request: Request, session: Session, form: Form) -> Response:
        i_delivery = _int(request.path_params["i_delivery"], "delivery")
        delivery = await service.delivery_retry(i_delivery, session.user.i_env)
        return redirect(f"/events/{delivery.i_event}", done="retried")

    admin_page = console.admin_page
    return [
        Route("/events", console.page(event_list), methods=["GET"]),
        Route("/events/bulk", admin_page(bulk), methods=["POST"]),
        Route("/events/{i_event}", console.page(detail), methods=["GET"]),
        Route("/events/{i_event}/cancel", admin_page(cancel), methods=["POST"]),
        Route("/events/{i_event}/reschedule", admin_page(reschedule), methods=["POST"]),
        Route("/deliveries/{i_delivery}/retry", admin_page(retry), methods=["POST"]),
    ]


def _noun(action: BulkAction, count: int) -> str:
    if action is BulkAction.CANCEL:
        return "event" if count == 1 else "events"
    return "delivery" if count == 1 else "deliveries"


def _int(text: str, what: str) -> int:
    if not text.isdigit() or len(text) > 18:
        raise NotFound(f"{what} {text} does not exist", code=f"unknown_{what}")
    return int(text)


def _field_of(code: str) -> str:
    """Which filter field a service error is about, to show it there."""
    return {"unknown_event_type": "event_type", "unknown_handler": "handler"}.get(code, "form")
