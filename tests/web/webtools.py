"""Helpers for the web tests: a fake clock, a sync in-process HTTP client, case factories."""

from __future__ import annotations

import asyncio
import copy
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import text
from sqlalchemy.engine import make_url

from revspine.storage import open_store

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PASSWORD = "correct horse battery staple"


class FakeClock:
    """A clock the tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        """Move the clock forward (timedelta keyword arguments)."""
        self.now += timedelta(**kwargs)


class Client:
    """A synchronous facade over ``httpx.AsyncClient`` + ``ASGITransport`` (in-process, no port)."""

    def __init__(self, app: Any, ip: str = "192.0.2.10") -> None:
        self._runner = asyncio.Runner()
        transport = httpx.ASGITransport(app=app, client=(ip, 40000))
        self._client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        self.headers = self._client.headers
        self.cookies = self._client.cookies

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._runner.run(self._client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def close(self) -> None:
        self._runner.run(self._client.aclose())
        self._runner.close()


def example(name: str = "25_recurrent_herniation_l5_candidate") -> dict[str, Any]:
    """An example case (examples/<name>.yaml) as a dict."""
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8"))
    return data


def example_names() -> list[str]:
    """Every example's file stem."""
    return sorted(p.stem for p in EXAMPLES.glob("*.yaml"))


def case_json(
    case_id: str = "W1", name: str = "25_recurrent_herniation_l5_candidate", **changes: Any
) -> str:
    """An example case as a JSON body with a new id (dates as ISO strings)."""
    data = copy.deepcopy(example(name))
    data["case_id"] = case_id
    data.update(changes)
    return json.dumps(data, default=str)


def form_token(html: str) -> str:
    """The CSRF token of the first form in a page."""
    found = re.search(r'name="csrf_token" value="([^"]*)"', html)
    assert found, "no csrf_token in the page"
    return found.group(1)


def sign_in(client: Client, username: str, password: str = PASSWORD) -> httpx.Response:
    """Sign in through the form (with its CSRF token); returns the POST response."""
    page = client.get("/login")
    return client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": form_token(page.text),
            "next": "/cases",
        },
    )


def pg_schema_url(server_url: str, schema: str) -> str:
    """The server URL with ``schema`` as the search path (created if missing)."""
    engine = open_store(server_url).engine
    try:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    finally:
        engine.dispose()
    url = make_url(server_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def drop_pg_schema(server_url: str, schema: str) -> None:
    """Drop a test schema and everything in it."""
    engine = open_store(server_url).engine
    try:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        engine.dispose()
