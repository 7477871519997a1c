"""FHIR R4 in and out: the only code in revspine that knows FHIR.

* :func:`bundle_to_case` — a FHIR R4 Bundle (dict) → :class:`ImportResult` (the case, the
  unmapped items, warnings and notes); :func:`parse_bundle` decodes bundle JSON with orjson.
* :func:`case_to_bundle` — a case → a FHIR R4 collection Bundle; :func:`project_case` is the part
  of a case that survives the round trip.
* :func:`assessment_to_fhir` — an assessment → a FHIR R4 Bundle (RequestGroup, ServiceRequests,
  MedicationRequests as proposals, DetectedIssues), each resource carrying its rule id.
* :func:`validate_r4b` — check resources against the ``fhir.resources`` R4B models (boundary
  checks and tests only; slow).

The code tables are data: ``maps/codes.csv``, ``maps/keywords.csv``, ``maps/targets.csv``.
"""

from __future__ import annotations

from revspine.adapters.fhir.assessment import assessment_to_fhir
from revspine.adapters.fhir.exporter import case_to_bundle, project_case
from revspine.adapters.fhir.importer import (
    ImportMessage,
    ImportResult,
    UnmappedItem,
    bundle_to_case,
    parse_bundle,
)
from revspine.adapters.fhir.validate import validate_r4b

__all__ = [
    "ImportMessage",
    "ImportResult",
    "UnmappedItem",
    "assessment_to_fhir",
    "bundle_to_case",
    "case_to_bundle",
    "parse_bundle",
    "project_case",
    "validate_r4b",
]
