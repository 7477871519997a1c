"""Who is asking: bearer tokens (API), session cookies (pages), CSRF, sign-in and TOTP.

* API: ``Authorization: Bearer rvs_…``; the token's SHA-256 is looked up. Cookies are ignored on
  the API, so it needs no CSRF protection.
* Pages: an HttpOnly, SameSite=Lax session cookie (Secure and ``__Host-`` prefixed when
  ``cookie_secure``) holding a random token whose SHA-256 is stored; sessions end after
  ``session_lifetime_minutes`` and after ``session_idle_minutes`` without a request; the id is
  rotated at sign-in and after the TOTP step.
* CSRF: every form POST carries the session's CSRF token (the sign-in form: an HMAC of a
  random cookie, double-submit); a cross-site ``Origin`` is refused as well.
* Sign-in: argon2id; the same generic message for an unknown user and a wrong password (and the
  same time spent); throttled per user name + address and per address.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Literal
from urllib.parse import urlsplit

import pyotp
from fastapi import Depends, Request, Response

from revspine.storage import AuditEvent, User, WebSession
from revspine.storage.records import Outcome, SessionStage
from revspine.web.context import AppContext, app_context, client_ip
from revspine.web.credentials import new_token, sign, token_hash
from revspine.web.errors import Forbidden, HttpProblem, TooManyAttempts, Unauthorized

TOTP_STAGE = timedelta(minutes=5)
GENERIC_LOGIN_FAILURE = "The user name or password is incorrect."


class LoginRejected(HttpProblem):
    """A sign-in attempt failed (the message never says which part was wrong)."""

    status = 401
    code = "login_failed"


@dataclass(frozen=True)
class Principal:
    """The authenticated user of one request, and how and from where they came."""

    user: User
    channel: Literal["web", "api"]
    ip: str
    session: WebSession | None = None

    def event(
        self,
        action: str,
        entity_id: str | None = None,
        *,
        entity: str = "case",
        outcome: Outcome = "success",
        detail: str | None = None,
    ) -> AuditEvent:
        """An audit event for this principal (the channel is recorded in ``detail``)."""
        text = self.channel if detail is None else f"{self.channel}: {detail}"
        return AuditEvent(
            actor=self.user.username,
            action=action,
            entity=entity,
            entity_id=entity_id,
            source_ip=self.ip,
            outcome=outcome,
            detail=text,
        )


def session_cookie(ctx: AppContext) -> str:
    """The session cookie's name (``__Host-`` prefixed when cookies are Secure)."""
    return "__Host-revspine_session" if ctx.settings.cookie_secure else "revspine_session"


def csrf_cookie(ctx: AppContext) -> str:
    """The anonymous CSRF cookie's name."""
    return "__Host-revspine_csrf" if ctx.settings.cookie_secure else "revspine_csrf"


# -- API -----------------------------------------------------------------------------------
def api_principal(request: Request) -> Principal:
    """The API caller from its bearer token; Unauthorized without a valid one."""
    ctx = app_context(request)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "a bearer token is required (create one with `revspine user token USER`)"
        )
    user = ctx.store.user_for_token(token_hash(token.strip()))
    if user is None:
        raise Unauthorized("the bearer token is invalid, revoked or expired")
    return Principal(user, "api", client_ip(request))


# -- sessions -------------------------------------------------------------------------------
def load_session(request: Request, stage: SessionStage) -> WebSession | None:
    """The request's live session at ``stage``; expired or idle sessions are deleted."""
    ctx = app_context(request)
    token = request.cookies.get(session_cookie(ctx))
    if not token:
        return None
    session = ctx.store.get_session(token_hash(token))
    if session is None or session.stage != stage:
        return None
    now = ctx.clock()
    idle = timedelta(minutes=ctx.settings.session_idle_minutes)
    if now >= session.expires_at or now - session.last_seen_at > idle:
        ctx.store.delete_session(session.id_hash)
        return None
    ctx.store.touch_session(session.id_hash)
    return session


def page_principal(request: Request) -> Principal:
    """The signed-in user of a page request; Unauthorized (→ sign-in page) otherwise."""
    session = load_session(request, "active")
    if session is None:
        raise Unauthorized("sign in to continue")
    principal = Principal(session.user, "web", client_ip(request), session)
    request.state.principal = principal
    return principal


def start_session(
    ctx: AppContext, response: Response, user: User, stage: SessionStage, ip: str
) -> None:
    """Create a new session (a fresh id) and set its cookie on ``response``."""
    token = new_token()
    if stage == "totp":
        lifetime = TOTP_STAGE
    else:
        lifetime = timedelta(minutes=ctx.settings.session_lifetime_minutes)
    ctx.store.create_session(
        token_hash(token), user.id, stage, new_token(), ctx.clock() + lifetime, ip
    )
    response.set_cookie(
        session_cookie(ctx),
        token,
        max_age=int(lifetime.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=ctx.settings.cookie_secure,
    )


def end_session(request: Request, response: Response | None) -> None:
    """Delete the request's session (if any); clear its cookie when ``response`` is given."""
    ctx = app_context(request)
    token = request.cookies.get(session_cookie(ctx))
    if token:
        ctx.store.delete_session(token_hash(token))
    if response is None:
        return
    response.delete_cookie(
        session_cookie(ctx),
        path="/",
        httponly=True,
        samesite="lax",
        secure=ctx.settings.cookie_secure,
    )


# -- CSRF -----------------------------------------------------------------------------------
_CSRF_MESSAGE = (
    "The form has expired or was not sent from this site (CSRF check failed); "
    "reload the page and try again."
)


def check_origin(request: Request) -> None:
    """Forbidden when the browser says the request comes from another origin."""
    origin = request.headers.get("origin")
    if origin is None:  # not sent by every browser for same-origin form posts
        return
    host = request.headers.get("host", "")
    if urlsplit(origin).netloc != host:
        raise Forbidden(_CSRF_MESSAGE, code="csrf_failed")


async def check_csrf(request: Request, expected: str) -> None:
    """Forbidden unless the form's ``csrf_token`` equals ``expected``."""
    check_origin(request)
    form = await request.form()
    token = form.get("csrf_token")
    if not isinstance(token, str) or not hmac.compare_digest(token, expected):
        raise Forbidden(_CSRF_MESSAGE, code="csrf_failed")


async def form_principal(
    request: Request, who: Annotated[Principal, Depends(page_principal)]
) -> Principal:
    """The signed-in user of a form POST whose CSRF token is valid."""
    assert who.session is not None
    await check_csrf(request, who.session.csrf_token)
    return who


def totp_session(request: Request) -> WebSession:
    """The half-signed-in session awaiting its TOTP code; Unauthorized otherwise."""
    session = load_session(request, "totp")
    if session is None:
        raise Unauthorized("sign in to continue")
    return session


async def totp_form_session(
    request: Request, session: Annotated[WebSession, Depends(totp_session)]
) -> WebSession:
    """The TOTP-stage session of a form POST whose CSRF token is valid."""
    await check_csrf(request, session.csrf_token)
    return session


def anonymous_csrf(request: Request) -> tuple[str, str | None]:
    """The sign-in form's CSRF token, and a new cookie seed to set (None if the cookie is fine)."""
    ctx = app_context(request)
    seed = request.cookies.get(csrf_cookie(ctx))
    fresh = None
    if not seed or len(seed) > 128:
        seed = fresh = new_token()
    return sign(ctx.secret, seed), fresh


def set_csrf_cookie(ctx: AppContext, response: Response, seed: str) -> None:
    """Set the random cookie the sign-in form's CSRF token is derived from."""
    response.set_cookie(
        csrf_cookie(ctx),
        seed,
        path="/",
        httponly=True,
        samesite="strict",
        secure=ctx.settings.cookie_secure,
    )


async def check_anonymous_csrf(request: Request) -> None:
    """Forbidden unless the sign-in form's token matches its cookie."""
    ctx = app_context(request)
    seed = request.cookies.get(csrf_cookie(ctx))
    await check_csrf(request, sign(ctx.secret, seed) if seed else "\x00missing")


# -- sign-in --------------------------------------------------------------------------------
def _login_event(username: str, ip: str, action: str, outcome: Outcome, detail: str) -> AuditEvent:
    return AuditEvent(
        actor=username[:64] or "(empty)",
        action=action,
        entity="user",
        entity_id=username[:64] or None,
        source_ip=ip,
        outcome=outcome,
        detail=detail,
    )


def _throttle(ctx: AppContext, username: str, ip: str) -> None:
    since = ctx.clock() - timedelta(minutes=ctx.settings.login_window_minutes)
    failures = ctx.store.login_failures(username, ip, since)
    if (
        failures.user_and_ip >= ctx.settings.login_max_failures
        or failures.ip >= ctx.settings.login_max_failures_per_ip
    ):
        ctx.store.append_audit(_login_event(username, ip, "login_failed", "failure", "throttled"))
        raise TooManyAttempts(
            f"Too many failed sign-in attempts. Try again in {ctx.settings.login_window_minutes} minutes."
        )


def _fail(ctx: AppContext, username: str, ip: str, detail: str, message: str) -> LoginRejected:
    ctx.store.record_login(username, ip, False)
    ctx.store.append_audit(_login_event(username, ip, "login_failed", "failure", detail))
    return LoginRejected(message)


def check_password(ctx: AppContext, username: str, password: str, ip: str) -> User:
    """The user if the password is right; LoginRejected (generic) or TooManyAttempts otherwise."""
    name = username.strip().lower()
    _throttle(ctx, name, ip)
    user = ctx.store.get_user(name) if name else None
    if user is None or not user.active:
        ctx.passwords.burn(password)
        raise _fail(ctx, name, ip, "unknown or inactive user", GENERIC_LOGIN_FAILURE)
    if not ctx.passwords.verify(user.password_hash, password):
        raise _fail(ctx, name, ip, "wrong password", GENERIC_LOGIN_FAILURE)
    if user.totp_secret is None and ctx.settings.require_totp:
        raise _fail(
            ctx,
            name,
            ip,
            "second factor required but not enrolled",
            "This site requires a second factor (TOTP) and none is set up for your account; "
            "ask an administrator to enrol you.",
        )
    if ctx.passwords.needs_rehash(user.password_hash):
        ctx.store.set_password(name, ctx.passwords.hash(password), None)
    return user


def check_totp_code(ctx: AppContext, user: User, code: str, ip: str) -> None:
    """Accept a current TOTP code once (±1 step); LoginRejected or TooManyAttempts otherwise."""
    _throttle(ctx, user.username, ip)
    digits = code.replace(" ", "").strip()
    if user.totp_secret and digits.isdigit() and len(digits) == 6:
        totp = pyotp.TOTP(user.totp_secret)
        base = totp.timecode(ctx.clock())
        for counter in (base, base - 1, base + 1):
            if hmac.compare_digest(totp.generate_otp(counter), digits):
                if ctx.store.use_totp_counter(user.id, counter):
                    return
                break
    raise _fail(
        ctx,
        user.username,
        ip,
        "wrong or reused TOTP code",
        "The code is incorrect or has already been used.",
    )


def signed_in(ctx: AppContext, user: User, ip: str, how: str) -> None:
    """Record a completed sign-in (throttle reset and audit)."""
    ctx.store.record_login(user.username, ip, True)
    ctx.store.append_audit(_login_event(user.username, ip, "login", "success", how))
