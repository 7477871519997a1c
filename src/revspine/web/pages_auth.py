"""Sign-in, the TOTP step and sign-out pages."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from revspine.storage import WebSession
from revspine.web.auth import (
    LoginRejected,
    Principal,
    anonymous_csrf,
    check_anonymous_csrf,
    check_password,
    check_totp_code,
    end_session,
    form_principal,
    load_session,
    set_csrf_cookie,
    signed_in,
    start_session,
    totp_form_session,
    totp_session,
)
from revspine.web.context import app_context, client_ip
from revspine.web.errors import TooManyAttempts
from revspine.web.render import render

router = APIRouter(include_in_schema=False)

NextField = Annotated[str, Form(max_length=2000)]


def safe_next(target: str | None) -> str:
    """A local path to return to after sign-in (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/cases"
    return target


def _login_page(
    request: Request, next_url: str, message: str = "", status: int = 200, username: str = ""
) -> Response:
    token, fresh_seed = anonymous_csrf(request)
    context = {"form_token": token, "message": message, "username": username, "next_url": next_url}
    page = render(request, "login.html", context, status)
    if fresh_seed is not None:
        set_csrf_cookie(app_context(request), page, fresh_seed)
    return page


@router.get("/login")
def login_form(request: Request) -> Response:
    """The sign-in form (signed-in users go straight on)."""
    next_url = safe_next(request.query_params.get("next"))
    if load_session(request, "active") is not None:
        return RedirectResponse(next_url, status_code=303)
    return _login_page(request, next_url)


@router.post("/login", dependencies=[Depends(check_anonymous_csrf)])
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    next: NextField = "/cases",
) -> Response:
    """Check the password; continue to the TOTP step or sign in (a new session either way)."""
    ctx, ip, next_url = app_context(request), client_ip(request), safe_next(next)
    try:
        user = check_password(ctx, username, password, ip)
    except (LoginRejected, TooManyAttempts) as exc:
        return _login_page(request, next_url, exc.message, exc.status, username)
    two_step = user.totp_secret is not None
    target = f"/login/totp?next={quote(next_url, safe='')}" if two_step else next_url
    response = RedirectResponse(target, status_code=303)
    end_session(request, None)  # a new session id at every sign-in (no fixation)
    start_session(ctx, response, user, "totp" if two_step else "active", ip)
    if not two_step:
        signed_in(ctx, user, ip, "web: password")
    return response


@router.get("/login/totp")
def totp_form(request: Request, session: Annotated[WebSession, Depends(totp_session)]) -> Response:
    """The second-factor form (only after a correct password)."""
    next_url = safe_next(request.query_params.get("next"))
    context = {"form_token": session.csrf_token, "message": "", "next_url": next_url}
    return render(request, "totp.html", context)


@router.post("/login/totp")
def totp(
    request: Request,
    session: Annotated[WebSession, Depends(totp_form_session)],
    code: Annotated[str, Form(max_length=16)],
    next: NextField = "/cases",
) -> Response:
    """Check the code; on success replace the half session with a signed-in one."""
    ctx, ip, next_url = app_context(request), client_ip(request), safe_next(next)
    try:
        check_totp_code(ctx, session.user, code, ip)
    except (LoginRejected, TooManyAttempts) as exc:
        context = {"form_token": session.csrf_token, "message": exc.message, "next_url": next_url}
        return render(request, "totp.html", context, exc.status)
    response = RedirectResponse(next_url, status_code=303)
    end_session(request, None)
    start_session(ctx, response, session.user, "active", ip)
    signed_in(ctx, session.user, ip, "web: password + totp")
    return response


@router.post("/logout")
def logout(request: Request, who: Annotated[Principal, Depends(form_principal)]) -> Response:
    """End the session."""
    response = RedirectResponse("/login", status_code=303)
    end_session(request, response)
    app_context(request).store.append_audit(who.event("logout", who.user.username, entity="user"))
    return response
