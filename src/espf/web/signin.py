"""Signing in and out. Sign-in checks the login and password exactly as the
API does (same users, hashes and failed-login throttle); its form carries a
token that must match a cookie set with it (double submit), so another site
cannot sign a browser in to an account of its choosing."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from espf.errors import EspfError, Unauthorized
from espf.web.kit import PREFIX, Console, Form
from espf.web.session import Session, clear_cookie, csrf_matches

PRE_COOKIE = "espf_console_signin"


def _safe_next(target: str | None) -> str:
    # Only a page of the console: never an address elsewhere (open redirect).
    if target and target.startswith(PREFIX + "/") and not target.startswith("//"):
        return target
    return PREFIX + "/"


def signin_routes(console: Console) -> list[Route]:
    def form_page(
        request: Request, next_page: str, login: str = "", error: str = "", status: int = 200
    ) -> Response:
        token = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24)
        response = console.render(
            request,
            "signin.html",
            None,
            status_code=status,
            title="Sign in",
            next=next_page,
            login=login,
            error=error,
            signin_token=token,
        )
        response.set_cookie(
            PRE_COOKIE,
            token,
            path=PREFIX,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    async def show(request: Request) -> Response:
        if await console.session(request) is not None:
            return RedirectResponse(_safe_next(request.query_params.get("next")), 303)
        return form_page(request, _safe_next(request.query_params.get("next")))

    async def submit(request: Request) -> Response:
        form: Form = await console.read_form(request)
        next_page = _safe_next(form.get("next"))
        login = form.get("login", "").strip()
        expected = request.cookies.get(PRE_COOKIE)
        if not expected or not csrf_matches(expected, form.get("token")):
            return form_page(
                request,
                next_page,
                login,
                "the sign-in form was out of date; it has been renewed: sign in again",
                status=403,
            )
        # The API's failed-login throttle, per address: guesses through the
        # form count as guesses through HTTP Basic, and the other way round.
        throttle = console.ctx.auth.throttle
        address = request.client.host if request.client else "unknown"
        try:
            throttle.check(address)
            user = await console.ctx.service.authenticate(login, form.get("password", ""))
        except Unauthorized as error:
            throttle.failed(address)
            return form_page(request, next_page, login, error.message, error.http_status)
        except EspfError as error:
            return form_page(request, next_page, login, error.message, error.http_status)
        response = RedirectResponse(next_page, status_code=303)
        await console.start_session(request, response, Session(user, secrets.token_urlsafe(24)))
        response.delete_cookie(PRE_COOKIE, path=PREFIX)
        return response

    async def sign_out(request: Request, session: Session, form: Form) -> Response:
        response = RedirectResponse(PREFIX + "/signin", status_code=303)
        return response

    signed_out = console.page(sign_out)

    async def sign_out_endpoint(request: Request) -> Response:
        response = await signed_out(request)
        if response.status_code == 303:
            # The wrapper renewed the cookie; a sign-out replaces it with none.
            response.raw_headers = [
                (k, v) for k, v in response.raw_headers if k.lower() != b"set-cookie"
            ]
            clear_cookie(response, request)
        return response

    return [
        Route("/signin", show, methods=["GET"]),
        Route("/signin", submit, methods=["POST"]),
        Route("/signout", sign_out_endpoint, methods=["POST"]),
    ]
