"""Errors mapped to HTTP in one place (STYLE §3, datasette's Base400 idea).

Every failure becomes ``{"error": {"code", "message", "fields": [{"path", "message"}]}}`` on
the API and an error page (or a redirect to sign-in) on the human pages. Our own bugs are 500,
logged with the request id only: never the case content.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from revspine.casefile import format_loc
from revspine.errors import (
    AlreadyExistsError,
    CaseValidationError,
    ConfigError,
    EngineError,
    InputError,
    KnowledgeError,
    NotFoundError,
    RevspineError,
    StorageError,
    VersionConflictError,
)

__all__ = [
    "Forbidden",
    "HttpProblem",
    "Problem",
    "TooManyAttempts",
    "Unauthorized",
    "install_error_handlers",
    "is_api",
    "problem_for",
]

_log = logging.getLogger("revspine.web")

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    428: "precondition_required",
    429: "too_many_requests",
}


class HttpProblem(Exception):
    """A request the web layer refuses, with its status, code and plain-language message."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class Unauthorized(HttpProblem):
    """Not signed in (pages redirect to the sign-in page; the API answers 401)."""

    status = 401
    code = "unauthorized"


class Forbidden(HttpProblem):
    """Signed in but not allowed (a viewer editing, a failed CSRF check)."""

    status = 403
    code = "forbidden"


class TooManyAttempts(HttpProblem):
    """Sign-in throttled."""

    status = 429
    code = "too_many_attempts"


@dataclass(frozen=True)
class Problem:
    """The HTTP rendering of a failure."""

    status: int
    code: str
    message: str
    fields: list[dict[str, str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        """The JSON error body."""
        error: dict[str, Any] = {"code": self.code, "message": self.message, "fields": self.fields}
        error.update(self.extra)
        return {"error": error}


def problem_for(exc: BaseException) -> Problem:
    """The status, code, message and field problems for any exception."""
    if isinstance(exc, HttpProblem):
        return Problem(exc.status, exc.code, exc.message)
    if isinstance(exc, CaseValidationError):
        count = len(exc.problems)
        return Problem(
            422,
            "invalid_case",
            f"the case is invalid ({count} problem{'s' if count != 1 else ''}); nothing was stored",
            [{"path": p.path, "message": p.message} for p in exc.problems],
        )
    if isinstance(exc, VersionConflictError):
        return Problem(
            409,
            "version_conflict",
            f"{exc}; nothing was stored",
            extra={"current_version": exc.current, "expected_version": exc.expected},
        )
    if isinstance(exc, AlreadyExistsError):
        return Problem(409, "already_exists", f"{exc}; nothing was stored")
    if isinstance(exc, NotFoundError):
        return Problem(404, "not_found", str(exc))
    if isinstance(exc, InputError):
        return Problem(400, "invalid_input", str(exc))
    if isinstance(exc, RequestValidationError):
        fields = [
            {"path": format_loc(tuple(e.get("loc", ()))), "message": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        return Problem(422, "invalid_request", "the request is invalid", fields)
    if isinstance(exc, StarletteHTTPException):
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        return Problem(exc.status_code, code, str(exc.detail))
    if isinstance(exc, StorageError):
        return Problem(503, "storage_error", "the database is unavailable; nothing was stored")
    if isinstance(exc, EngineError):
        return Problem(500, "engine_error", f"rule {exc.rule_id} failed; this is a bug in revspine")
    if isinstance(exc, ConfigError | KnowledgeError):
        return Problem(500, "configuration_error", "the server is misconfigured")
    return Problem(500, "internal_error", "internal error; this is a bug in revspine")


def is_api(request: Request) -> bool:
    """Whether the request is for the JSON API (as opposed to a human page)."""
    return request.url.path.startswith("/api/")


def _log_failure(request: Request, exc: BaseException, problem: Problem) -> None:
    if problem.status < 500:
        return
    incident = uuid.uuid4().hex[:12]
    rule = f" rule={exc.rule_id}" if isinstance(exc, EngineError) else ""
    # The route template (never the concrete path: it holds case ids) and the exception type.
    route = getattr(request.scope.get("route"), "path", "?")
    _log.error(
        "request failed: %s %s -> %s (%s%s) incident=%s",
        request.method,
        route,
        problem.status,
        type(exc).__name__,
        rule,
        incident,
        exc_info=not isinstance(exc, RevspineError),
    )


def _respond(request: Request, exc: BaseException) -> Response:
    problem = problem_for(exc)
    _log_failure(request, exc, problem)
    if is_api(request):
        headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else None
        return JSONResponse(problem.body(), status_code=problem.status, headers=headers)
    if problem.status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    from revspine.web.render import render_error

    return render_error(request, problem)


def install_error_handlers(app: FastAPI) -> None:
    """Route every exception through :func:`problem_for`."""

    async def handler(request: Request, exc: Exception) -> Response:
        return _respond(request, exc)

    for kind in (
        HttpProblem,
        RevspineError,
        RequestValidationError,
        StarletteHTTPException,
        Exception,
    ):
        app.add_exception_handler(kind, handler)
