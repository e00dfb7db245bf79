"""What every console page shares: who is signed in, the CSRF check on every
form, rendering with the navigation, and errors shown as the API words them.

A page is an async function ``(request, session, form) -> Response`` wrapped
by :meth:`Console.page`; the wrapper does the rest, so no page can forget it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from espf.api.context import ApiContext
from espf.api.request_body import read_body
from espf.domain import Role
from espf.errors import BadRequest, EspfError, Forbidden
from espf.web import format as fmt
from espf.web.session import (
    COOKIE,
    Session,
    SessionCodec,
    belongs_to,
    csrf_matches,
    set_cookie,
)

PREFIX = "/console"
MAX_FORM_FIELDS = 100
# Only the console's own files may load or run: an injected script or an
# outside resource is refused by the browser even if some text slipped through.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

Form = Mapping[str, str]
PageFunction = Callable[[Request, Session, Form], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def templates() -> Jinja2Templates:
    folder = Path(str(resources.files("espf.web").joinpath("templates")))
    found = Jinja2Templates(directory=folder)
    found.env.filters.update(fmt.FILTERS)
    found.env.globals.update(prefix=PREFIX)
    return found


@dataclass
class Console:
    ctx: ApiContext
    templates: Jinja2Templates = field(default_factory=templates)
    _codec: SessionCodec | None = None
    _codec_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def codec(self) -> SessionCodec:
        """Built on first need from the key in the database (made there once)."""
        if self._codec is None:
            async with self._codec_lock:
                if self._codec is None:
                    self._codec = SessionCodec(await self.ctx.service.console_session_key())
        return self._codec

    # -- sessions ------------------------------------------------------------------
    async def session(self, request: Request) -> Session | None:
        value = request.cookies.get(COOKIE)
        if not value:
            return None
        payload = (await self.codec()).read(value)
        if payload is None:
            return None
        user = await self.ctx.service.console_user(str(payload["l"]))
        if user is None or not belongs_to(payload, user):
            return None
        return Session(user, str(payload["c"]))

    async def start_session(self, request: Request, response: Response, session: Session) -> None:
        value, _ = (await self.codec()).issue(session.user, session.csrf)
        set_cookie(response, request, value)

    # -- rendering -----------------------------------------------------------------
    def render(
        self,
        request: Request,
        template: str,
        session: Session | None,
        status_code: int = 200,
        **values: Any,
    ) -> Response:
        context = {
            "request": request,
            "session": session,
            "user": session.user if session else None,
            "is_admin": bool(session and session.user.role is Role.ADMIN),
            "csrf": session.csrf if session else "",
            "nav": values.pop("nav", ""),
            **values,
        }
        response = self.templates.TemplateResponse(
            request, template, context, status_code=status_code
        )
        response.headers.update(SECURITY_HEADERS)
        return response

    def error_page(self, request: Request, session: Session | None, error: EspfError) -> Response:
        return self.render(
            request,
            "error.html",
            session,
            status_code=error.http_status,
            error=error,
            title="Error",
        )

    # -- the wrapper every page goes through ----------------------------------------
    def page(self, function: PageFunction, admin: bool = False, renew: bool = True) -> Endpoint:
        """``renew=False`` for requests a page makes by itself (the overview's
        refresh): they do not count as activity, so an open page still idles out."""

        async def endpoint(request: Request) -> Response:
            session = await self.session(request)
            if session is None:
                return sign_in_redirect(request)
            try:
                form: Form = {}
                if request.method == "POST":
                    form = await self.read_form(request)
                    if not csrf_matches(session.csrf, form.get("csrf")):
                        raise Forbidden(
                            "this form was not sent from a current console page (its "
                            "security token is missing or old); nothing was changed: "
                            "reload the page and try again",
                            code="csrf_failed",
                        )
                if admin:
                    require_admin(session)
                response = await function(request, session, form)
            except EspfError as error:
                response = self.error_page(request, session, error)
            # Every answer renews the session: it ends after IDLE_S without one.
            if renew:
                await self.start_session(request, response, session)
            return response

        return endpoint

    def admin_page(self, function: PageFunction) -> Endpoint:
        return self.page(function, admin=True)

    async def read_form(self, request: Request) -> dict[str, str]:
        body = await read_body(request, self.ctx.body_limit)
        try:
            pairs = parse_qsl(
                body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS
            )
        except (UnicodeDecodeError, ValueError):
            raise BadRequest("the form could not be read", code="malformed_form") from None
        return dict(pairs)


def require_admin(session: Session) -> None:
    """The same refusal as the API's (Authenticator.admin)."""
    user = session.user
    if user.role is not Role.ADMIN:
        raise Forbidden(
            f"user {user.login!r} has the role {user.role.value}; this needs admin",
            code="admin_required",
        )


def sign_in_redirect(request: Request) -> Response:
    if request.headers.get("hx-request"):
        # A refresh made by htmx: send the whole page to the sign-in form,
        # not the form into the part being refreshed.
        return Response(status_code=204, headers={"HX-Redirect": f"{PREFIX}/signin"})
    target = request.url.path
    if request.method == "GET" and request.url.query:
        target += "?" + request.url.query
    return RedirectResponse(f"{PREFIX}/signin?next={quote(target)}", status_code=303)


def redirect(path: str, **query: str | int | None) -> Response:
    """303 after a POST: the browser shows the result page with GET."""
    shown = {k: str(v) for k, v in query.items() if v is not None and v != ""}
    suffix = "?" + urlencode(shown) if shown else ""
    return RedirectResponse(PREFIX + path + suffix, status_code=303)
