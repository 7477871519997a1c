"""Database engines and migrations: SQLite (WAL, serialised writers) and PostgreSQL.

SQLite: every connection runs in WAL mode with foreign keys on; the driver's own transaction
handling is switched off so that SQLAlchemy emits ``BEGIN`` for reads and ``BEGIN IMMEDIATE``
for writes. Writers therefore take the write lock before reading what they will change, which
keeps the audit chain and the optimistic version check consistent (a deferred transaction
would fail with "database is locked" when another writer commits in between).
PostgreSQL: the audit chain is serialised by a row lock on ``audit_state`` and version checks
are conditional updates.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from revspine.errors import ConfigError, StorageError

__all__ = ["WRITE", "backend_name", "make_engine", "run_migrations"]

WRITE = "revspine_write"
"""Execution option marking a connection that will write (``BEGIN IMMEDIATE`` on SQLite)."""

_log = logging.getLogger(__name__)
_SQLITE_BUSY_MS = 30_000


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"database_url: not a database URL ({exc})", "database_url") from None


def backend_name(url: str) -> str:
    """``sqlite`` or ``postgresql`` (ConfigError for anything else)."""
    name = _parse(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"database_url: unsupported database {name!r} (use sqlite or postgresql)",
            "database_url",
        )
    return name


def _create_private(path: Path) -> None:
    """Create a new SQLite file readable by its owner only (SQLite gives -wal/-shm the same mode)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError as exc:
        raise ConfigError(
            f"database_url: cannot create {path}: {exc.strerror or exc}", "database_url"
        ) from None


def make_engine(url: str) -> Engine:
    """An engine for ``url`` configured for revspine's transaction discipline."""
    parsed = _parse(url)
    backend = backend_name(url)
    if backend == "postgresql":
        return create_engine(parsed, pool_pre_ping=True)
    database = parsed.database
    memory = database in (None, "", ":memory:")
    if not memory:
        path = Path(str(database)).expanduser().resolve()
        if not path.parent.is_dir():
            raise ConfigError(
                f"database_url: the directory {path.parent} does not exist", "database_url"
            )
        _create_private(path)
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
    if memory:
        kwargs["poolclass"] = StaticPool
    engine = create_engine(parsed, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself
        cursor = dbapi_connection.cursor()
        try:
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_MS}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def run_migrations(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` with the migrations shipped in the package."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "revspine.storage:migrations")
    try:
        with engine.execution_options(**{WRITE: True}).begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    except SQLAlchemyError as exc:
        raise StorageError(f"database migration failed: {exc}") from exc


def current_revision(engine: Engine) -> str | None:
    """The migration revision the database is at (None when never migrated)."""
    from alembic.runtime.migration import MigrationContext

    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot read the database revision: {exc}") from exc
