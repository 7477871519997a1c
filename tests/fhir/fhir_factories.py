"""Small factories for FHIR R4 test bundles: realistic resources as an EHR would send them
(LOINC/UCUM labs, ICD-10-CM and SNOMED CT conditions, free-text procedures and allergies)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

# Reuse the Hypothesis strategies of the property tests (tests/property has no __init__.py).
PROPERTY_DIR = str(Path(__file__).resolve().parents[1] / "property")
if PROPERTY_DIR not in sys.path:
    sys.path.insert(0, PROPERTY_DIR)

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
PATIENT_URL = "urn:uuid:00000000-0000-4000-8000-000000000001"
SUBJECT = {"reference": PATIENT_URL}
_counter = [0]


def _id() -> str:
    _counter[0] += 1
    return f"r{_counter[0]}"


def bundle(*resources: dict[str, Any], kind: str = "collection") -> dict[str, Any]:
    """A Bundle of ``resources``; a Patient gets the fixed ``PATIENT_URL``."""
    entries = []
    for r in resources:
        full = PATIENT_URL if r["resourceType"] == "Patient" else f"urn:uuid:{r['id']}"
        entries.append({"fullUrl": full, "resource": r})
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def patient(birth: str | None = "1966-05-20", gender: str | None = "female") -> dict[str, Any]:
    r: dict[str, Any] = {"resourceType": "Patient", "id": "p1"}
    if gender:
        r["gender"] = gender
    if birth:
        r["birthDate"] = birth
    return r


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    c = {"system": system, "code": code}
    if display:
        c["display"] = display
    return {"coding": [c], **({"text": display} if display else {})}


def lab(
    code: str, value: float, unit: str, when: str | None = "2026-10-20", **extra: Any
) -> dict[str, Any]:
    r: dict[str, Any] = {
        "resourceType": "Observation",
        "id": _id(),
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": coding(LOINC, code),
        "subject": SUBJECT,
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }
    if when:
        r["effectiveDateTime"] = f"{when}T08:30:00+01:00"
    r.update(extra)
    return r


def observation(code: str, **value: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": _id(),
        "status": "final",
        "code": coding(LOINC, code),
        "subject": SUBJECT,
        "effectiveDateTime": "2026-10-20",
        **value,
    }


def condition(
    system: str | None,
    code: str | None,
    display: str,
    clinical: str | None = "active",
    verification: str | None = "confirmed",
) -> dict[str, Any]:
    r: dict[str, Any] = {"resourceType": "Condition", "id": _id(), "subject": SUBJECT}
    if clinical:
        r["clinicalStatus"] = {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": clinical,
                }
            ]
        }
    if verification:
        r["verificationStatus"] = {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": verification,
                }
            ]
        }
    r["code"] = coding(system, code, display) if system and code else {"text": display}
    return r


def procedure(
    text: str, when: str | None = "2022-03-14", sites: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    r: dict[str, Any] = {
        "resourceType": "Procedure",
        "id": _id(),
        "status": "completed",
        "code": {"text": text},
        "subject": SUBJECT,
    }
    if when:
        r["performedDateTime"] = when
    if sites:
        r["bodySite"] = [{"text": s} for s in sites]
    r.update(extra)
    return r


def allergy(
    text: str,
    manifestation: str | None = None,
    severity: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    r: dict[str, Any] = {
        "resourceType": "AllergyIntolerance",
        "id": _id(),
        "code": {"text": text},
        "patient": SUBJECT,
    }
    if manifestation:
        reaction: dict[str, Any] = {"manifestation": [{"text": manifestation}]}
        if severity:
            reaction["severity"] = severity
        r["reaction"] = [reaction]
    r.update(extra)
    return r


def medication(
    text: str, status: str = "active", kind: str = "MedicationStatement", **extra: Any
) -> dict[str, Any]:
    r: dict[str, Any] = {
        "resourceType": kind,
        "id": _id(),
        "status": status,
        "medicationCodeableConcept": {"text": text},
        "subject": SUBJECT,
    }
    if kind == "MedicationRequest":
        r["intent"] = "order"
    r.update(extra)
    return r
