"""Subscriptions (the matrix of event types by handlers, a toggle per cell),
the event type catalog, and account lookups."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from espf.domain import AccountKind, AccountRef, Event, EventFilter
from espf.errors import BadRequest, EspfError
from espf.schedule_model import Schedule
from espf.service.console import EventQuery
from espf.web.kit import Console, Form, redirect
from espf.web.session import Session

MAX_ACCOUNT_EVENTS = 50


def catalog_routes(console: Console) -> list[Route]:
    service = console.ctx.service

    async def matrix(request: Request, session: Session, form: Form) -> Response:
        i_env = session.user.i_env
        prefix = request.query_params.get("prefix", "").strip()
        handlers = await service.handler_list(i_env)
        subscribed = {h.name: set(await service.subscriptions(i_env, h.name)) for h in handlers}
        types = [t for t in await service.type_list() if t.name.startswith(prefix)]
        groups = sorted({t.name.split("/")[0] + "/" for t in await service.type_list()})
        return console.render(
            request,
            "subscriptions.html",
            session,
            title="Subscriptions",
            nav="subscriptions",
            handlers=handlers,
            subscribed=subscribed,
            types=types,
            type_prefix=prefix,
            groups=groups,
        )

    async def toggle(request: Request, session: Session, form: Form) -> Response:
        i_env = session.user.i_env
        handler, type_name = form.get("handler", ""), form.get("event_type", "")
        if form.get("subscribe") == "yes":
            await service.subscribe(i_env, handler, type_name)
        else:
            await service.unsubscribe(i_env, handler, type_name)
        return redirect("/subscriptions", prefix=form.get("prefix"))

    async def type_list(request: Request, session: Session, form: Form) -> Response:
        return await types_page(request, session, "", None)

    async def types_page(
        request: Request, session: Session, name: str, error: EspfError | None
    ) -> Response:
        return console.render(
            request,
            "types.html",
            session,
            status_code=error.http_status if error else 200,
            title="Event types",
            nav="types",
            types=await service.type_list(),
            name=name,
            error=error.message if error else None,
            notice=f"Created {request.query_params['created']}."
            if request.query_params.get("created")
            else None,
        )

    async def type_create(request: Request, session: Session, form: Form) -> Response:
        name = form.get("name", "")
        try:
            created = await service.type_create(name)
        except EspfError as error:
            return await types_page(request, session, name, error)
        return redirect("/types", created=created.name)

    async def accounts(request: Request, session: Session, form: Form) -> Response:
        i_env = session.user.i_env
        text = request.query_params.get("i_account", "").strip()
        error = view = None
        events: list[Event] = []
        schedules: list[Schedule] = []
        if text:
            try:
                if not text.isdigit() or len(text) > 18:
                    raise BadRequest(
                        f"i_account {text!r} must be a positive integer", code="invalid_account"
                    )
                view = await service.account_status(
                    i_env, AccountRef(AccountKind.I_ACCOUNT, str(int(text)))
                )
                page = await service.console_event_page(_account_query(session, text))
                events = list(page.events)
                schedules = await service.schedules_of_account(i_env, int(text))
            except EspfError as err:
                error = err.message
        return console.render(
            request,
            "accounts.html",
            session,
            title="Accounts",
            nav="accounts",
            i_account=text,
            error=error,
            view=view,
            events=events,
            schedules=schedules,
        )

    return [
        Route("/subscriptions", console.admin_page(matrix), methods=["GET"]),
        Route("/subscriptions/toggle", console.admin_page(toggle), methods=["POST"]),
        Route("/types", console.admin_page(type_list), methods=["GET"]),
        Route("/types", console.admin_page(type_create), methods=["POST"]),
        Route("/accounts", console.admin_page(accounts), methods=["GET"]),
    ]


def _account_query(session: Session, i_account: str) -> EventQuery:
    return EventQuery(
        EventFilter(
            i_env=session.user.i_env,
            limit=MAX_ACCOUNT_EVENTS,
            variable=("i_account", str(int(i_account))),
        )
    )
