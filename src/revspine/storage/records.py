"""Plain values the store returns and accepts (no SQLAlchemy objects leave the storage layer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, Literal, TypeVar

Role = Literal["admin", "clinician", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "clinician", "viewer")
Outcome = Literal["success", "failure", "error"]
SessionStage = Literal["active", "totp"]

T = TypeVar("T")


@dataclass(frozen=True)
class User:
    """A local account (with its password hash and TOTP secret, for the auth layer only)."""

    id: int
    username: str
    role: Role
    password_hash: str
    totp_secret: str | None
    totp_last_counter: int | None
    active: bool
    created_at: datetime

    @property
    def can_edit(self) -> bool:
        """Whether this user may create or change cases (viewers may not)."""
        return self.role in ("admin", "clinician")


@dataclass(frozen=True)
class ApiToken:
    """A personal API token's metadata (the token itself is shown once, never stored)."""

    id: int
    username: str
    label: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool


@dataclass(frozen=True)
class WebSession:
    """A signed-in (or half-signed-in, awaiting TOTP) browser session."""

    id_hash: str
    user: User
    stage: SessionStage
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class NewVersion:
    """What the caller hands the store to save: a validated case and its assessment."""

    case_json: str
    input_sha256: str
    as_of: date
    knowledge_id: str
    knowledge_version: str
    knowledge_sha256: str
    assessment_json: str
    disposition: str
    site: str | None
    surgeon: str | None


@dataclass(frozen=True)
class CaseSummary:
    """A stored case: identity, latest version and disposition."""

    case_id: str
    site: str | None
    surgeon: str | None
    latest_version: int
    disposition: str
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True)
class VersionSummary:
    """One saved version without its content (for history lists)."""

    case_id: str
    version: int
    created_by: str
    created_at: datetime
    as_of: date
    input_sha256: str
    knowledge_id: str
    knowledge_version: str
    knowledge_sha256: str
    disposition: str


@dataclass(frozen=True)
class CaseVersion(VersionSummary):
    """One saved version with its case JSON and assessment JSON (exactly as stored)."""

    case_json: str
    assessment_json: str


@dataclass(frozen=True)
class Page(Generic[T]):
    """A page of results and the cursor of the next page (None at the end)."""

    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class AuditEvent:
    """What happened: who did what to which entity, from where, and how it ended."""

    actor: str
    action: str
    entity: str
    entity_id: str | None = None
    source_ip: str | None = None
    outcome: Outcome = "success"
    detail: str | None = None


@dataclass(frozen=True)
class AuditEntry:
    """A stored audit entry: the event, its sequence number, time and chain hashes."""

    seq: int
    ts: str
    actor: str
    action: str
    entity: str
    entity_id: str | None
    source_ip: str | None
    outcome: str
    detail: str | None
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class AuditState:
    """The chain head (latest entry) and the prune anchor (last removed entry)."""

    head_seq: int
    head_hash: str
    anchor_seq: int
    anchor_hash: str


@dataclass(frozen=True)
class LoginFailures:
    """Recent failed sign-ins for a user name + address and for the address alone."""

    user_and_ip: int
    ip: int
