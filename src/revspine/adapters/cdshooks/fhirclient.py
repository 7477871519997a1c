"""Fetch missing prefetch from the client's ``fhirServer`` (httpx, time-bounded, same server).

The whole fetch runs under one time budget (``fhir_timeout_s``, 2 s by default); keys are
fetched concurrently and search pages (``Bundle.link[next]``) followed only on the same server,
up to ``fhir_max_pages``. The bearer token from ``fhirAuthorization`` is sent only to
``fhirServer`` and never logged. Outcomes:

* the server cannot be asked (no ``fhirServer``, plain http, not allow-listed) or refuses
  (401/403/404/410) → :class:`PrefetchMissingError` (412);
* unreachable, an HTTP error or a body that is not JSON → :class:`FhirServerError` (502);
* the budget runs out → :class:`FhirServerTimeout` (504).

A failure on an optional key (allergies, medications, devices) is only noted.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson

from revspine.adapters.cdshooks.config import CdsSettings
from revspine.adapters.cdshooks.errors import (
    FhirServerError,
    FhirServerTimeout,
    PrefetchMissingError,
)
from revspine.adapters.cdshooks.models import CdsRequest
from revspine.adapters.cdshooks.prefetch import PrefetchSpec, Received, expand, prefetch_specs

__all__ = ["FhirFetcher"]

MAX_RESPONSE_BYTES = 32 * 1024 * 1024
_REFUSED = frozenset({401, 403, 404, 410})


class FhirFetcher:
    """Completes a :class:`Received` prefetch from the request's FHIR server."""

    def __init__(
        self, settings: CdsSettings, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        self.transport = transport

    async def complete(self, request: CdsRequest, got: Received) -> None:
        """Fetch every missing key and every partial searchset's remaining pages into ``got``."""
        jobs: dict[str, tuple[PrefetchSpec, str]] = {}
        specs = {s.key: s for s in got.missing}
        missing_required = [s.key for s in got.missing if s.required]
        if not got.missing and not got.next_links:
            return
        base = self._base(request.fhirServer, missing_required)
        if base is None:  # only optional keys or pages are missing: go without them
            got.notes += [f"prefetch {k!r} was not provided" for k in specs]
            got.notes += [f"prefetch {k!r} is incomplete (more pages)" for k in got.next_links]
            got.missing, got.next_links = [], {}
            return
        for spec in got.missing:
            jobs[spec.key] = (spec, f"{base}/{expand(spec.template, request.context)}")
        for key, link in got.next_links.items():
            spec = next(s for s in prefetch_specs() if s.key == key)
            url = self._same_server(base, link)
            if url is None:
                got.notes.append(f"prefetch {key!r}: next page is on another server; not followed")
            else:
                jobs[key] = (spec, url)
        got.missing, got.next_links = [], {}
        headers = {"Accept": "application/fhir+json"}
        if request.fhirAuthorization is not None:
            headers["Authorization"] = f"Bearer {request.fhirAuthorization.access_token}"
        budget = self.settings.fhir_timeout_s
        async with httpx.AsyncClient(
            transport=self.transport,
            headers=headers,
            timeout=httpx.Timeout(budget),
            follow_redirects=False,
        ) as client:
            try:
                async with asyncio.timeout(budget):
                    results = await asyncio.gather(
                        *(self._pages(client, base, spec, url) for spec, url in jobs.values()),
                        return_exceptions=True,
                    )
            except TimeoutError:
                raise FhirServerTimeout(
                    f"the FHIR server did not answer within {budget:g} s"
                ) from None
        self._collect(got, list(jobs.values()), results)

    def _collect(
        self, got: Received, jobs: list[tuple[PrefetchSpec, str]], results: list[Any]
    ) -> None:
        for (spec, _), result in zip(jobs, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, PrefetchMissingError | FhirServerError):
                    raise result
                if spec.required:
                    raise result
                got.notes.append(f"prefetch {spec.key!r} could not be fetched: {result}")
                continue
            pages, truncated = result
            for page in pages:
                got.add_value(spec, page)
            got.next_links.pop(spec.key, None)
            if truncated:
                got.notes.append(
                    f"prefetch {spec.key!r}: only the first {len(pages)} pages were read"
                )
        still = [s.key for s in got.missing if s.required]
        if still:
            raise PrefetchMissingError(still, "the FHIR server returned no usable resource")
        got.missing = []

    def _base(self, server: str | None, required: list[str]) -> str | None:
        """The server's base URL, or None when only optional data is missing and it cannot be
        asked; raises 412 when required data is missing and it cannot be asked."""
        reason = None
        if server is None:
            reason = "the request has no fhirServer to fetch it from"
        else:
            try:
                url = httpx.URL(server)
            except httpx.InvalidURL:
                url = None
            if url is None or url.scheme not in ("http", "https") or not url.host:
                reason = "fhirServer is not an absolute http(s) URL"
            elif url.userinfo:
                reason = "fhirServer must not carry credentials"
            elif url.scheme == "http" and self.settings.require_https_fhir:
                reason = "fhirServer is not https (tokens are never sent over plain http)"
            elif self.settings.fhir_server_allowlist and not any(
                server.startswith(p) for p in self.settings.fhir_server_allowlist
            ):
                reason = "fhirServer is not on this service's allow-list"
        if reason is None:
            assert server is not None
            return server.rstrip("/")
        if required:
            raise PrefetchMissingError(required, reason)
        return None

    @staticmethod
    def _same_server(base: str, link: str) -> str | None:
        if "://" not in link:
            return f"{base}/{link.lstrip('/')}"
        return link if link.startswith((base + "/", base + "?")) else None

    async def _pages(
        self, client: httpx.AsyncClient, base: str, spec: PrefetchSpec, url: str
    ) -> tuple[list[Any], bool]:
        pages: list[Any] = []
        next_url: str | None = url
        while next_url is not None and len(pages) < self.settings.fhir_max_pages:
            page = await self._get(client, next_url, spec.key)
            pages.append(page)
            next_url = None
            if isinstance(page, dict) and page.get("resourceType") == "Bundle":
                for link in page.get("link") or []:
                    if isinstance(link, dict) and link.get("relation") == "next":
                        found = link.get("url")
                        next_url = (
                            self._same_server(base, found) if isinstance(found, str) else None
                        )
        for page in pages:  # pages were followed here: drop the links so they are not re-read
            if isinstance(page, dict):
                page.pop("link", None)
        return pages, next_url is not None

    async def _get(self, client: httpx.AsyncClient, url: str, key: str) -> Any:
        try:
            async with client.stream("GET", url) as response:
                if response.status_code in _REFUSED:
                    raise PrefetchMissingError(
                        [key], f"the FHIR server refused it (HTTP {response.status_code})"
                    )
                if response.status_code != 200:
                    raise FhirServerError(
                        f"the FHIR server answered HTTP {response.status_code} for {key!r}", key
                    )
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_RESPONSE_BYTES:
                        raise FhirServerError(f"the FHIR response for {key!r} is too large", key)
        except httpx.TimeoutException:
            raise FhirServerTimeout(f"the FHIR server timed out on {key!r}", key) from None
        except httpx.HTTPError as exc:
            raise FhirServerError(
                f"the FHIR server could not be reached ({type(exc).__name__})", key
            ) from None
        try:
            return orjson.loads(bytes(body))
        except orjson.JSONDecodeError:
            raise FhirServerError(f"the FHIR response for {key!r} is not JSON", key) from None
