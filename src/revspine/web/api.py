"""The JSON API under ``/api/v1`` (bearer tokens; OpenAPI at ``/api/v1/openapi.json``).

Case bodies are the case document itself (the format of ``examples/*.yaml``, as JSON); field
paths in 422 errors are paths in that document. Updates need the version they were based on
(``If-Match: "3"`` or ``?expected_version=3``): a stale one is refused with 409 and nothing is
written.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response

from revspine.domain.assessment import Assessment, Disposition
from revspine.errors import CaseValidationError, FieldProblem
from revspine.settings import describe
from revspine.web import service
from revspine.web.api_models import (
    ERRORS,
    CaseDetail,
    CasePage,
    ErrorBody,
    VersionList,
    VersionOut,
)
from revspine.web.auth import Principal, api_principal
from revspine.web.context import app_context
from revspine.web.documents import (
    etag,
    json_response,
    summary_doc,
    version_doc,
    version_summary_doc,
)
from revspine.web.errors import Forbidden, HttpProblem

MAX_BODY = 1_000_000
_CASE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The case document (see `revspine schema case`).",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Case"}}},
    }
}
_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    409: {"model": ErrorBody, "description": "Already exists, or a stale expected version."},
    422: {"model": ErrorBody, "description": "Invalid case: every problem with its field path."},
}

router = APIRouter(prefix="/api/v1", tags=["cases"], responses=ERRORS)
ApiUser = Annotated[Principal, Depends(api_principal)]
AsOf = Annotated[
    date | None,
    Query(description="Assessment date; default: the case's assessment_date, else today."),
]


async def case_body(request: Request) -> str:
    """The request body as text (at most 1 MB of UTF-8)."""
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HttpProblem(
            "the request body is larger than 1 MB", status=413, code="payload_too_large"
        )
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise CaseValidationError(
            [FieldProblem("(syntax)", "the body is not UTF-8 text")], "body"
        ) from None


Body = Annotated[str, Depends(case_body)]


def _expected(if_match: str | None, expected_version: int | None) -> int:
    if expected_version is not None:
        return expected_version
    if if_match is None:
        raise HttpProblem(
            'say which version you edited: If-Match: "N" or ?expected_version=N',
            status=428,
            code="precondition_required",
        )
    found = re.fullmatch(r'\s*(?:W/)?"?(\d{1,9})"?\s*', if_match)
    if found is None:
        raise HttpProblem('If-Match must be a version number such as "3"', code="invalid_if_match")
    return int(found.group(1))


@router.get("/cases", response_model=CasePage)
def list_cases(
    request: Request,
    who: ApiUser,
    limit: Annotated[int | None, Query(ge=1, le=500)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    q: Annotated[str | None, Query(max_length=64, description="Case-id substring.")] = None,
    disposition: Disposition | None = None,
) -> Response:
    """Cases by id, one page at a time."""
    ctx = app_context(request)
    page = service.search_cases(ctx, who, limit or ctx.settings.page_size, cursor, q, disposition)
    return json_response(
        {"items": [summary_doc(c) for c in page.items], "next_cursor": page.next_cursor}
    )


@router.post(
    "/cases",
    status_code=201,
    response_model=VersionOut,
    responses=_WRITE_ERRORS,
    openapi_extra=_CASE_BODY,
)
def create_case(request: Request, who: ApiUser, body: Body, as_of: AsOf = None) -> Response:
    """Validate, assess and store a new case (version 1); nothing is stored on any error."""
    stored = service.create_case(app_context(request), who, body, "json", as_of)
    headers = {"Location": f"/api/v1/cases/{stored.case_id}", "ETag": etag(stored.version)}
    return json_response(version_doc(stored), 201, headers)


@router.get("/cases/{case_id}", response_model=CaseDetail)
def get_case(request: Request, who: ApiUser, case_id: str) -> Response:
    """A case and its latest version (case document and assessment)."""
    ctx = app_context(request)
    latest = service.read_version(ctx, who, case_id)
    doc = {**summary_doc(ctx.store.get_case(case_id)), "latest": version_doc(latest)}
    return json_response(doc, headers={"ETag": etag(latest.version)})


@router.put(
    "/cases/{case_id}", response_model=VersionOut, responses=_WRITE_ERRORS, openapi_extra=_CASE_BODY
)
def update_case(
    request: Request,
    who: ApiUser,
    case_id: str,
    body: Body,
    if_match: Annotated[str | None, Header(description='The version edited, e.g. "3".')] = None,
    expected_version: Annotated[int | None, Query(ge=1)] = None,
    as_of: AsOf = None,
) -> Response:
    """Store a new version, if the version edited is still the latest (else 409, nothing stored)."""
    expected = _expected(if_match, expected_version)
    stored = service.update_case(app_context(request), who, case_id, expected, body, "json", as_of)
    return json_response(version_doc(stored), headers={"ETag": etag(stored.version)})


@router.get("/cases/{case_id}/versions", response_model=VersionList)
def list_versions(request: Request, who: ApiUser, case_id: str) -> Response:
    """Every version of a case (without content), oldest first."""
    _, versions = service.read_history(app_context(request), who, case_id)
    return json_response({"items": [version_summary_doc(v) for v in versions]})


@router.get("/cases/{case_id}/versions/{version}", response_model=VersionOut)
def get_version(request: Request, who: ApiUser, case_id: str, version: int) -> Response:
    """One version with its case document and the assessment it produced."""
    stored = service.read_version(app_context(request), who, case_id, version)
    return json_response(version_doc(stored))


@router.post(
    "/assess",
    tags=["assess"],
    response_model=Assessment,
    responses={422: {"model": ErrorBody, "description": "Invalid case."}},
    openapi_extra=_CASE_BODY,
)
def assess_case(request: Request, who: ApiUser, body: Body, as_of: AsOf = None) -> Response:
    """Assess a case without storing it; returns the assessment."""
    evaluated = service.assess_only(app_context(request), who, body, as_of)
    return Response(evaluated.version.assessment_json, media_type="application/json")


@router.get("/settings", tags=["admin"])
def settings(request: Request, who: ApiUser) -> Response:
    """The effective settings, secrets masked (administrators only)."""
    if who.user.role != "admin":
        raise Forbidden("only administrators may read the settings")
    return json_response(describe(app_context(request).settings))
