"""Fixtures for the web, storage and audit tests.

Storage-backed fixtures are parametrised over SQLite and PostgreSQL. PostgreSQL comes from
``REVSPINE_TEST_PG_URL`` when set, else from ``scripts/pg-test-server.sh`` (started once per
test process, stopped at the end). If it cannot be started the PostgreSQL tests FAIL with the
script's message: they never skip.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from webtools import PASSWORD, Client, FakeClock, drop_pg_schema, pg_schema_url

from revspine.knowledge import Knowledge, load_knowledge
from revspine.settings import Settings
from revspine.storage import AuditEvent, SqlStore, User, open_store
from revspine.web import create_app
from revspine.web.credentials import Passwords, new_api_token, token_hash

ROOT = Path(__file__).resolve().parents[2]
PG_SCRIPT = ROOT / "scripts" / "pg-test-server.sh"
BACKENDS = ["sqlite", "postgresql"]
_TABLES = (
    "audit_log",
    "case_versions",
    "cases",
    "login_attempts",
    "sessions",
    "api_tokens",
    "users",
)


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A PostgreSQL server URL: $REVSPINE_TEST_PG_URL, else a throwaway server from the script."""
    given = os.environ.get("REVSPINE_TEST_PG_URL")
    if given:
        yield given
        return
    started = subprocess.run(
        ["bash", str(PG_SCRIPT), "start", "--watch-pid", str(os.getpid())],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    values = dict(line.split("=", 1) for line in started.stdout.splitlines() if "=" in line)
    if started.returncode != 0 or "REVSPINE_TEST_PG_URL" not in values:
        pytest.fail(
            "PostgreSQL is required for the storage tests and could not be started by "
            f"{PG_SCRIPT.relative_to(ROOT)} (exit {started.returncode}):\n{started.stderr.strip()}\n"
            "Install PostgreSQL (Debian: apt-get install postgresql) or set REVSPINE_TEST_PG_URL.",
            pytrace=False,
        )
    try:
        yield values["REVSPINE_TEST_PG_URL"]
    finally:
        subprocess.run(
            ["bash", str(PG_SCRIPT), "stop", values["REVSPINE_TEST_PG_DIR"]],
            capture_output=True,
            timeout=120,
            check=False,
        )


@pytest.fixture(scope="session")
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A migrated schema of this test process on the PostgreSQL server."""
    schema = f"rs_{_worker()}"
    drop_pg_schema(pg_server_url, schema)
    url = pg_schema_url(pg_server_url, schema)
    store = open_store(url)
    store.upgrade()
    store.close()
    yield url
    drop_pg_schema(pg_server_url, schema)


def _reset_pg(store: SqlStore) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(_TABLES)} RESTART IDENTITY CASCADE"))
        conn.execute(
            text(
                "UPDATE audit_state SET head_seq = 0, head_hash = :g, anchor_seq = 0, anchor_hash = :g"
            ),
            {"g": "0" * 64},
        )


@pytest.fixture
def clock() -> FakeClock:
    """A controllable clock (starts 2026-11-25 09:00 UTC)."""
    return FakeClock()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend under test."""
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database of the backend under test."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
        store = open_store(url)
        store.upgrade()
        store.close()
        return url
    url = str(request.getfixturevalue("pg_url"))
    store = open_store(url)
    try:
        _reset_pg(store)
    finally:
        store.close()
    return url


@pytest.fixture
def store(db_url: str, clock: FakeClock) -> Iterator[SqlStore]:
    """A store on an empty, migrated database, with the fake clock."""
    opened = open_store(db_url, clock)
    yield opened
    opened.close()


@pytest.fixture
def sqlite_store(tmp_path: Path, clock: FakeClock) -> Iterator[SqlStore]:
    """A store on an empty, migrated SQLite file (tests that need only one backend)."""
    opened = open_store(f"sqlite:///{tmp_path / 'one.db'}", clock)
    opened.upgrade()
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def knowledge() -> Knowledge:
    """The built-in knowledge base (loaded once)."""
    return load_knowledge()


@pytest.fixture(scope="session")
def passwords() -> Passwords:
    """Cheap argon2 parameters (the tests sign in often; production uses the defaults)."""
    return Passwords(time_cost=1, memory_kib=8, parallelism=1)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Test settings (the database comes from the store fixture)."""
    return Settings(
        database_url="sqlite://",
        db_auto_upgrade=False,
        secret_key="s" * 48,
        login_max_failures=3,
        login_max_failures_per_ip=10,
        page_size=10,
    )


@pytest.fixture
def make_user(store: SqlStore, passwords: Passwords) -> Callable[..., User]:
    """Create a user with the test password."""

    def make(name: str, role: str = "clinician", password: str = PASSWORD) -> User:
        event = AuditEvent("test", "user_create", "user", name)
        return store.add_user(name, passwords.hash(password), role, event)  # type: ignore[arg-type]

    return make


@pytest.fixture
def make_token(store: SqlStore) -> Callable[[str], str]:
    """Create an API token for a user; returns the token."""

    def make(name: str) -> str:
        token = new_api_token()
        store.add_token(
            name, token_hash(token), "test", None, AuditEvent("test", "token_create", "user", name)
        )
        return token

    return make


@pytest.fixture
def app(
    settings: Settings,
    store: SqlStore,
    clock: FakeClock,
    passwords: Passwords,
    knowledge: Knowledge,
) -> Any:
    """The web app on the store under test."""
    return create_app(settings, store=store, clock=clock, passwords=passwords, knowledge=knowledge)


@pytest.fixture
def client_for(app: Any) -> Iterator[Callable[..., Client]]:
    """Make in-process HTTP clients (httpx ASGI transport) from given addresses."""
    made: list[Client] = []

    def make(ip: str = "192.0.2.10") -> Client:
        client = Client(app, ip)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def api(
    client_for: Callable[..., Client],
    make_user: Callable[..., User],
    make_token: Callable[[str], str],
) -> Client:
    """An API client authenticated as clinician 'carol'."""
    make_user("carol", "clinician")
    client = client_for()
    client.headers["Authorization"] = f"Bearer {make_token('carol')}"
    return client
