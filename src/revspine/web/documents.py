"""JSON documents of the API (and the JSON export): stored records as plain mappings."""

from __future__ import annotations

import json
from typing import Any

import orjson
from fastapi.responses import Response

from revspine.storage import CaseSummary, CaseVersion, VersionSummary


def summary_doc(case: CaseSummary) -> dict[str, Any]:
    """A case summary."""
    return {
        "case_id": case.case_id,
        "site": case.site,
        "surgeon": case.surgeon,
        "latest_version": case.latest_version,
        "disposition": case.disposition,
        "created_at": case.created_at,
        "created_by": case.created_by,
        "updated_at": case.updated_at,
        "updated_by": case.updated_by,
    }


def version_summary_doc(version: VersionSummary) -> dict[str, Any]:
    """A version without its content."""
    return {
        "case_id": version.case_id,
        "version": version.version,
        "created_at": version.created_at,
        "created_by": version.created_by,
        "as_of": version.as_of,
        "input_sha256": version.input_sha256,
        "knowledge": {
            "id": version.knowledge_id,
            "version": version.knowledge_version,
            "sha256": version.knowledge_sha256,
        },
        "disposition": version.disposition,
    }


def version_doc(version: CaseVersion) -> dict[str, Any]:
    """A version with its case and the assessment it produced."""
    return {
        **version_summary_doc(version),
        "case": json.loads(version.case_json),
        "assessment": json.loads(version.assessment_json),
    }


def json_response(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response serialised with orjson (datetimes as RFC 3339)."""
    return Response(
        orjson.dumps(doc), status_code=status, headers=headers, media_type="application/json"
    )


def etag(version: int) -> str:
    """The entity tag of a case at ``version`` (what ``If-Match`` must repeat)."""
    return f'"{version}"'
