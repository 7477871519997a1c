"""CDS Hooks 2.0 over HTTP: discovery, service calls and feedback, with CORS.

* ``GET /cds-services`` — the discovery document;
* ``POST /cds-services/{id}`` — a hook call (JWT checked first, against the exact URL);
* ``POST /cds-services/{id}/feedback`` — card outcomes (idempotent; 200, empty body);
* ``OPTIONS`` on each — CORS preflight (any origin; ``Authorization`` and ``Content-Type``).

Handlers only read the request, call :class:`~revspine.adapters.cdshooks.CdsService` and write
JSON. Every failure is mapped to HTTP in :func:`_problem` (one place): a bad JWT is a bare 401,
bad input a 400 with a JSON body, missing prefetch 412, unusable FHIR data 422, the client's FHIR
server failing 502/504, our own bugs 500 (logged with the hookInstance).

``cds_router(...)`` gives the routes for inclusion in the main app; ``cds_app(settings)`` an app
with just these routes (tests, ``revspine serve`` integration, the benchmark).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.routing import APIRoute
from starlette.requests import ClientDisconnect

from revspine import __version__
from revspine.adapters.cdshooks.cards import strip_empty
from revspine.adapters.cdshooks.config import CdsSettings
from revspine.adapters.cdshooks.errors import (
    AuthenticationError,
    CdsHooksRequestError,
    FhirServerError,
    FhirServerTimeout,
    PrefetchMissingError,
    UnknownServiceError,
    UnusableDataError,
)
from revspine.adapters.cdshooks.service import CdsService
from revspine.errors import RevspineError

__all__ = ["cds_app", "cds_router"]

_log = logging.getLogger("revspine.cdshooks")
MAX_BODY_BYTES = 32 * 1024 * 1024
CORS = {"access-control-allow-origin": "*"}
PREFLIGHT = {
    **CORS,
    "access-control-allow-methods": "GET, POST, OPTIONS",
    "access-control-allow-headers": "Authorization, Content-Type",
    "access-control-max-age": "600",
}


class _TooLarge(Exception):
    pass


class _Gone(Exception):
    """The client went away while sending the body (nothing to answer, nothing to log)."""


def cds_router(
    settings: CdsSettings | object | None = None,
    *,
    service: CdsService | None = None,
    **ports: Any,
) -> APIRouter:
    """The CDS Hooks routes. ``settings``: :class:`CdsSettings` or the project's ``Settings``
    (its ``cds_*`` values); ``ports`` go to :class:`CdsService` (knowledge, clock, transports,
    feedback store, case source)."""
    svc = service or CdsService(_settings(settings), **ports)
    # Not in the revspine API's OpenAPI document: the CDS Hooks specification defines them.
    router = APIRouter(route_class=_CdsRoute, include_in_schema=False)

    @router.get("/cds-services")
    async def discovery(request: Request) -> Response:
        if svc.settings.discovery_requires_jwt:
            await svc.authenticate(request.headers.get("authorization"), _url(svc, request))
        return _json(svc.discovery())

    @router.post("/cds-services/{service_id}")
    async def call(service_id: str, request: Request) -> Response:
        await svc.authenticate(request.headers.get("authorization"), _url(svc, request))
        return _json(await svc.call(service_id, await _body(request)))

    @router.post("/cds-services/{service_id}/feedback")
    async def feedback(service_id: str, request: Request) -> Response:
        await svc.authenticate(request.headers.get("authorization"), _url(svc, request))
        svc.feedback(service_id, await _body(request))
        return Response(status_code=200)

    for path in (
        "/cds-services",
        "/cds-services/{service_id}",
        "/cds-services/{service_id}/feedback",
    ):
        router.add_api_route(path, _preflight, methods=["OPTIONS"], include_in_schema=False)
    return router


def cds_app(settings: CdsSettings | object | None = None, **ports: Any) -> FastAPI:
    """An app serving only the CDS Hooks routes."""
    app = FastAPI(
        title="revspine CDS Hooks",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.include_router(cds_router(settings, **ports))
    return app


class _CdsRoute(APIRoute):
    """Adds the CORS header to every answer and maps every failure through :func:`_problem`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await original(request)
            except Exception as exc:  # the one place failures become HTTP
                response = await _problem(request, exc)
            for name, value in CORS.items():
                response.headers.setdefault(name, value)
            return response

        return handler


async def _problem(request: Request, exc: Exception) -> Response:
    if isinstance(exc, AuthenticationError):
        return Response(status_code=401, headers={"www-authenticate": "Bearer"})
    if isinstance(exc, _Gone):
        return Response(status_code=400)
    extra: dict[str, Any] = {}
    if isinstance(exc, UnknownServiceError):
        status, code = 404, "unknown_service"
    elif isinstance(exc, CdsHooksRequestError):
        status, code = 400, "invalid_request"
        extra["fields"] = [{"path": p.path, "message": p.message} for p in exc.problems]
    elif isinstance(exc, _TooLarge):
        status, code, exc = 413, "payload_too_large", RevspineError("the request body is too large")
    elif isinstance(exc, PrefetchMissingError):
        status, code = 412, "prefetch_missing"
        extra["missing"] = exc.keys
    elif isinstance(exc, UnusableDataError):
        status, code = 422, "unusable_fhir_data"
        extra["path"] = exc.path
    elif isinstance(exc, FhirServerTimeout):
        status, code = 504, "fhir_server_timeout"
    elif isinstance(exc, FhirServerError):
        status, code = 502, "fhir_server_error"
    else:
        hook = await _hook_instance(request)
        _log.error("CDS Hooks call failed (hookInstance=%s): %r", hook, exc, exc_info=exc)
        status, code, exc = (
            500,
            "internal_error",
            RevspineError("internal error; a bug in revspine"),
        )
    body = {"error": {"code": code, "message": str(exc), **extra}}
    return _json(strip_empty(body), status)


async def _preflight() -> Response:
    return Response(status_code=204, headers=PREFLIGHT)


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def _url(svc: CdsService, request: Request) -> str:
    """The exact URL being called (the JWT ``aud``): the configured base URL + path, else the
    request's own URL without query."""
    if svc.settings.base_url:
        return svc.settings.base_url.rstrip("/") + request.url.path
    return str(request.url.replace(query=None, fragment=None))


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "0")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _TooLarge
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise _TooLarge
    except ClientDisconnect:
        raise _Gone from None
    request.state.cds_body = bytes(body)
    return request.state.cds_body  # type: ignore[no-any-return]


async def _hook_instance(request: Request) -> str:
    try:
        data = orjson.loads(getattr(request.state, "cds_body", b""))
    except orjson.JSONDecodeError:
        return "?"
    value = data.get("hookInstance") if isinstance(data, dict) else None
    return value if isinstance(value, str) else "?"


def _settings(settings: CdsSettings | object | None) -> CdsSettings:
    if settings is None:
        return CdsSettings()
    if isinstance(settings, CdsSettings):
        return settings
    return CdsSettings.from_settings(settings)
