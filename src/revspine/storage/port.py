"""The ``Store`` port (STYLE §2): everything the web app and CLI need from a database.

:class:`~revspine.storage.sql.SqlStore` implements it on SQLite (file or ``sqlite://`` in
memory, which the tests use as the in-memory implementation) and PostgreSQL.
Every write that takes an ``audit`` event appends it to the hash-chained audit log in the same
transaction: either both are stored or neither.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Protocol

from revspine.storage.records import (
    ApiToken,
    AuditEntry,
    AuditEvent,
    AuditState,
    CaseSummary,
    CaseVersion,
    LoginFailures,
    NewVersion,
    Page,
    Role,
    SessionStage,
    User,
    VersionSummary,
    WebSession,
)

Clock = Callable[[], datetime]
"""Returns the current time as an aware UTC datetime."""


def system_clock() -> datetime:
    """The wall clock in UTC."""
    return datetime.now(UTC)


class Store(Protocol):
    """Users, sessions, tokens, cases with immutable versions, and the audit log."""

    def upgrade(self) -> None:
        """Apply pending migrations."""

    def close(self) -> None:
        """Release connections."""

    # users ------------------------------------------------------------------------------
    def add_user(self, username: str, password_hash: str, role: Role, audit: AuditEvent) -> User:
        """Create an account; AlreadyExistsError if the name is taken."""

    def get_user(self, username: str) -> User | None:
        """The account with this name (case-insensitive), or None."""

    def list_users(self) -> list[User]:
        """Every account, by name."""

    def set_password(self, username: str, password_hash: str, audit: AuditEvent | None) -> None:
        """Replace a password hash (and end the user's sessions when audited as a change)."""

    def set_totp(self, username: str, secret: str | None, audit: AuditEvent) -> None:
        """Enrol (or remove with None) a TOTP secret."""

    def use_totp_counter(self, user_id: int, counter: int) -> bool:
        """Record a used TOTP time step; False if it (or a later one) was already used."""

    # API tokens ---------------------------------------------------------------------------
    def add_token(
        self,
        username: str,
        token_hash: str,
        label: str,
        expires_at: datetime | None,
        audit: AuditEvent,
    ) -> ApiToken:
        """Store a new API token's hash for a user."""

    def user_for_token(self, token_hash: str) -> User | None:
        """The active user owning a valid (unrevoked, unexpired) token, or None."""

    def list_tokens(self, username: str) -> list[ApiToken]:
        """A user's tokens (metadata only)."""

    def revoke_token(self, username: str, token_id: int, audit: AuditEvent) -> None:
        """Revoke one of a user's tokens."""

    # sessions -----------------------------------------------------------------------------
    def create_session(
        self,
        id_hash: str,
        user_id: int,
        stage: SessionStage,
        csrf_token: str,
        expires_at: datetime,
        source_ip: str | None,
    ) -> None:
        """Store a new session."""

    def get_session(self, id_hash: str) -> WebSession | None:
        """The session and its (active) user, or None."""

    def touch_session(self, id_hash: str) -> None:
        """Record activity on a session (for the idle timeout)."""

    def delete_session(self, id_hash: str) -> None:
        """End a session."""

    def purge_sessions(self) -> int:
        """Delete expired sessions; returns how many."""

    # sign-in throttling --------------------------------------------------------------------
    def record_login(self, username: str, source_ip: str, success: bool) -> None:
        """Remember a sign-in attempt."""

    def login_failures(self, username: str, source_ip: str, since: datetime) -> LoginFailures:
        """Failed attempts since ``since`` (or the last success of that user from that address)."""

    # cases ------------------------------------------------------------------------------
    def create_case(
        self, case_id: str, version: NewVersion, actor: str, audit: AuditEvent
    ) -> CaseVersion:
        """Store a new case as version 1; AlreadyExistsError if the id is taken."""

    def add_version(
        self,
        case_id: str,
        expected_version: int,
        version: NewVersion,
        actor: str,
        audit: AuditEvent,
    ) -> CaseVersion:
        """Store the next version; VersionConflictError unless ``expected_version`` is the latest."""

    def get_case(self, case_id: str) -> CaseSummary:
        """A case's summary; NotFoundError if absent."""

    def list_cases(
        self,
        limit: int,
        cursor: str | None = None,
        query: str | None = None,
        disposition: str | None = None,
    ) -> Page[CaseSummary]:
        """Cases by id, filtered by a case-id substring and/or disposition, one page."""

    def list_versions(self, case_id: str) -> list[VersionSummary]:
        """Every version of a case, oldest first; NotFoundError if the case is absent."""

    def get_version(self, case_id: str, version: int | None = None) -> CaseVersion:
        """One version (the latest when None); NotFoundError if absent."""

    # audit --------------------------------------------------------------------------------
    def append_audit(self, event: AuditEvent) -> AuditEntry:
        """Append an entry to the audit chain in its own transaction."""

    def list_audit(self, limit: int, entity_id: str | None = None) -> list[AuditEntry]:
        """The most recent entries, newest first."""

    def iter_audit(self) -> Iterator[AuditEntry]:
        """Every entry, oldest first (for verification and export)."""

    def audit_state(self) -> AuditState:
        """The chain head and prune anchor."""

    def prune_audit(self, before: datetime, audit: AuditEvent) -> int:
        """Remove entries older than ``before`` from the start of the chain; returns how many."""
