"""Boundary validation against the ``fhir.resources`` R4B models (FHIR R4-compatible).

fhir.resources defaults to R5, so R4 data goes through ``fhir.resources.R4B``. This is slow
(≈ 0.3 s for a 2 MB Synthea bundle): use it at boundaries and in tests, never in hot loops.
"""

from __future__ import annotations

from typing import Any

from revspine.errors import FhirParseError

__all__ = ["validate_r4b"]


def _path(loc: tuple[int | str, ...]) -> str:
    out = "$"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def validate_r4b(data: dict[str, Any]) -> None:
    """Validate a FHIR R4 resource or Bundle with the R4B models; a failure becomes a
    :class:`~revspine.errors.FhirParseError` naming the first offending path."""
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    rtype = data.get("resourceType") if isinstance(data, dict) else None
    if not isinstance(rtype, str):
        raise FhirParseError("missing resourceType", "$.resourceType")
    try:
        model = get_fhir_model_class(rtype)
    except (KeyError, ValueError):
        raise FhirParseError(f"unknown FHIR R4 resource type {rtype!r}", "$.resourceType") from None
    try:
        model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise FhirParseError(
            f"not valid FHIR R4 {rtype}: {first['msg']}{more}", _path(tuple(first["loc"]))
        ) from None
    except (ValueError, TypeError) as exc:
        raise FhirParseError(f"not valid FHIR R4 {rtype}: {exc}", "$") from None
