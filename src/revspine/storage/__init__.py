"""Storage: SQLAlchemy 2 models, Alembic migrations and the ``Store`` port (STYLE §6).

SQLite in WAL mode is the embedded default; PostgreSQL through ``postgresql+psycopg://`` URLs.
Nothing SQLAlchemy-specific leaves this package: callers get the plain records of
:mod:`revspine.storage.records` and revspine errors.
"""

from __future__ import annotations

from revspine.storage.audit import ChainReport, verify_chain
from revspine.storage.port import Clock, Store, system_clock
from revspine.storage.records import (
    ROLES,
    ApiToken,
    AuditEntry,
    AuditEvent,
    AuditState,
    CaseSummary,
    CaseVersion,
    NewVersion,
    Page,
    Role,
    User,
    VersionSummary,
    WebSession,
)
from revspine.storage.sql import SqlStore, open_store

__all__ = [
    "ROLES",
    "ApiToken",
    "AuditEntry",
    "AuditEvent",
    "AuditState",
    "CaseSummary",
    "CaseVersion",
    "ChainReport",
    "Clock",
    "NewVersion",
    "Page",
    "Role",
    "SqlStore",
    "Store",
    "User",
    "VersionSummary",
    "WebSession",
    "open_store",
    "system_clock",
    "verify_chain",
]
