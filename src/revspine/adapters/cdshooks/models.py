"""CDS Hooks 2.0 request and feedback bodies as tolerant pydantic models.

Unknown keys and ``extension`` objects are accepted and kept; only what the specification
requires is enforced (``hook``, ``hookInstance``, ``context``; ``fhirServer`` when
``fhirAuthorization`` is given; a feedback entry's ``card``, ``outcome``,
``outcomeTimestamp`` and, for accepted cards, ``acceptedSuggestions``). A pydantic or JSON
failure becomes :class:`~.errors.CdsHooksRequestError` with one problem per field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from revspine.adapters.cdshooks.errors import CdsHooksRequestError
from revspine.errors import FieldProblem

__all__ = [
    "AcceptedSuggestion",
    "CdsRequest",
    "Coding",
    "FeedbackItem",
    "FeedbackRequest",
    "FhirAuthorization",
    "OverrideReason",
    "parse_body",
]

_Text = Annotated[str, Field(min_length=1, max_length=4096)]


class _Open(BaseModel):
    """Accepts and keeps unknown keys (extensions, newer spec versions)."""

    model_config = ConfigDict(extra="allow", frozen=True)


class FhirAuthorization(_Open):
    """The OAuth 2.0 bearer token the client grants for FHIR call-backs (never logged)."""

    access_token: _Text
    token_type: str = "Bearer"
    expires_in: int | None = None
    scope: str | None = None
    subject: str | None = None
    patient: str | None = None

    def __repr__(self) -> str:  # keep the token out of logs and tracebacks
        return f"FhirAuthorization(token_type={self.token_type!r}, access_token='***')"

    __str__ = __repr__


class CdsRequest(_Open):
    """``POST /cds-services/{id}``."""

    hook: _Text
    hookInstance: str = Field(min_length=1, max_length=256)
    fhirServer: str | None = Field(None, min_length=1, max_length=2048)
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None
    extension: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _server_with_token(self) -> CdsRequest:
        if self.fhirAuthorization is not None and self.fhirServer is None:
            raise ValueError("fhirServer is required when fhirAuthorization is given")
        return self

    def context_text(self, name: str) -> str | None:
        """A context field when it is a non-empty string."""
        value = self.context.get(name)
        return value if isinstance(value, str) and value else None


class Coding(_Open):
    """A CDS Hooks Coding."""

    code: _Text
    system: str | None = None
    display: str | None = None


class OverrideReason(_Open):
    """Why a card was overridden."""

    reason: Coding | None = None
    userComment: str | None = Field(None, max_length=4096)


class AcceptedSuggestion(_Open):
    """One accepted suggestion, by its uuid."""

    id: _Text


class FeedbackItem(_Open):
    """One card outcome."""

    card: str = Field(min_length=1, max_length=256)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] | None = None
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: datetime

    @model_validator(mode="after")
    def _accepted_needs_suggestions(self) -> FeedbackItem:
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("acceptedSuggestions is required when outcome is 'accepted'")
        if self.outcomeTimestamp.tzinfo is None:
            raise ValueError("outcomeTimestamp must carry a time zone (RFC 3339, UTC)")
        return self


class FeedbackRequest(_Open):
    """``POST /cds-services/{id}/feedback``."""

    feedback: list[FeedbackItem] = Field(min_length=1)


M = TypeVar("M", bound=BaseModel)


def parse_body(raw: bytes, model: type[M]) -> M:
    """Decode JSON and validate it as ``model``; any failure is a 400-class error."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise CdsHooksRequestError(f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise CdsHooksRequestError("the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            FieldProblem(".".join(str(p) for p in e["loc"]) or "(body)", e["msg"])
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise CdsHooksRequestError(
            f"the {model.__name__} body is invalid ({len(problems)} problem(s))", problems
        ) from None
