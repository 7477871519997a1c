"""``create_app(settings) -> FastAPI``: the JSON API, the pages and the hardening around them."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from revspine import __version__
from revspine.domain.case import Case
from revspine.knowledge import Knowledge, load_knowledge
from revspine.settings import Settings, resolve_secret_key
from revspine.storage import Clock, Store, open_store, system_clock
from revspine.web import api, cdshooks, pages, pages_auth
from revspine.web.context import AppContext
from revspine.web.credentials import Passwords
from revspine.web.errors import HttpProblem, install_error_handlers

__all__ = ["create_app"]

_access = logging.getLogger("revspine.web.access")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
MAX_REQUEST_BYTES = 2_000_000


class _Hardening:
    """Security headers, no caching of PHI, a request-size cap and an access log without ids."""

    def __init__(self, app: ASGIApp, hsts: bool) -> None:
        self.app = app
        self.headers = {
            "content-security-policy": CSP,
            "x-content-type-options": "nosniff",
            "x-frame-options": "DENY",
            "referrer-policy": "same-origin",  # "no-referrer" makes browsers send Origin: null
            "cross-origin-opener-policy": "same-origin",
            "permissions-policy": "camera=(), microphone=(), geolocation=()",
        }
        if hsts:
            self.headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 0
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
            await self._too_large(send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
                if not static:
                    headers["cache-control"] = "no-store"
            await send(message)

        received = 0

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > MAX_REQUEST_BYTES:
                raise HttpProblem("the request is too large", status=413, code="payload_too_large")
            return message

        # An over-long body raises HttpProblem(413) inside the app, where the error handlers
        # turn it into the usual JSON error or error page.
        await self.app(scope, capped_receive, send_with_headers)
        route = getattr(scope.get("route"), "path", "-")
        elapsed = (time.perf_counter() - started) * 1000
        # The route template only: concrete paths and query strings carry case ids.
        _access.info("%s %s %s %.1fms", scope["method"], route, status, elapsed)

    @staticmethod
    async def _too_large(send: Send) -> None:
        body = b'{"error":{"code":"payload_too_large","message":"the request is too large","fields":[]}}'
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The OpenAPI document with the case schema as a component (request bodies refer to it)."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(
                title="revspine API",
                version=__version__,
                description="Cases, versions and assessments. Bearer tokens: `revspine user token USER`.",
                routes=app.routes,
            )
            case = Case.model_json_schema(
                by_alias=True, ref_template="#/components/schemas/{model}"
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(case.pop("$defs", {}))
            components["Case"] = case
            schema["components"]["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer"}
            }
            schema["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    return build


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    clock: Clock = system_clock,
    passwords: Passwords | None = None,
    knowledge: Knowledge | None = None,
) -> FastAPI:
    """The revspine web app: JSON API under ``/api/v1`` and the human pages."""
    settings = settings or Settings()
    owned = store is None
    store = store or open_store(settings.database_url, clock)
    if settings.db_auto_upgrade:
        store.upgrade()
    override = Path(settings.knowledge_override) if settings.knowledge_override else None
    ctx = AppContext(
        settings=settings,
        store=store,
        knowledge=knowledge or load_knowledge(override=override),
        clock=clock,
        secret=resolve_secret_key(settings),
        passwords=passwords or Passwords(),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:
            ctx.store.close()

    app = FastAPI(
        title="revspine",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    install_error_handlers(app)
    app.include_router(api.router)
    app.include_router(pages_auth.router)
    app.include_router(pages.router)
    app.include_router(cdshooks.cds_router(settings, knowledge=ctx.knowledge, clock=clock))
    app.mount("/static", StaticFiles(packages=[("revspine.web", "static")]), name="static")
    app.add_middleware(_Hardening, hsts=settings.cookie_secure)
    app.openapi = _openapi(app)  # type: ignore[method-assign]
    return app
