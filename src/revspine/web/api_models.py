"""Response and error shapes of the JSON API, for the OpenAPI document.

Handlers return pre-serialised JSON (stored case and assessment JSON are passed through, not
re-validated); these models describe that JSON.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from revspine.domain.assessment import Assessment


class FieldError(BaseModel):
    """One offending field, by its path in the case document (``labs[2].unit``)."""

    path: str
    message: str


class ErrorDetail(BaseModel):
    """What went wrong."""

    code: str = Field(
        description="Stable machine-readable code, e.g. invalid_case, version_conflict."
    )
    message: str
    fields: list[FieldError] = Field(default_factory=list)
    current_version: int | None = Field(
        None, description="On version_conflict: the latest version."
    )


class ErrorBody(BaseModel):
    """Every error response."""

    error: ErrorDetail


class CaseOut(BaseModel):
    """A stored case."""

    case_id: str
    site: str | None
    surgeon: str | None
    latest_version: int
    disposition: str
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str


class CasePage(BaseModel):
    """One page of cases; pass ``next_cursor`` as ``cursor`` for the next (null at the end)."""

    items: list[CaseOut]
    next_cursor: str | None


class KnowledgeRef(BaseModel):
    """The knowledge base that produced an assessment."""

    id: str
    version: str
    sha256: str


class VersionSummaryOut(BaseModel):
    """A saved version without its content."""

    case_id: str
    version: int
    created_at: datetime
    created_by: str
    as_of: date
    input_sha256: str = Field(description="SHA-256 of the stored canonical case JSON.")
    knowledge: KnowledgeRef
    disposition: str


class VersionList(BaseModel):
    """Every version of a case, oldest first."""

    items: list[VersionSummaryOut]


class VersionOut(VersionSummaryOut):
    """A saved version with its case document and the assessment it produced."""

    case: dict[str, Any]
    assessment: Assessment


class CaseDetail(CaseOut):
    """A case with its latest version."""

    latest: VersionOut


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No valid bearer token."},
    403: {"model": ErrorBody, "description": "The token's user may not do this."},
    404: {"model": ErrorBody, "description": "No such case or version."},
}
