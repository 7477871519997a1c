"""Case → FHIR R4 collection Bundle (the inverse of :func:`~.importer.bundle_to_case`).

For tests, demos and synthetic data: the bundle uses the same ``maps/*.csv`` as the importer
(LOINC for labs and vital signs, ICD-10-CM/SNOMED CT where REFERENCE.md gives a code, display
text otherwise), so ``bundle_to_case(case_to_bundle(case))`` gives back
:func:`project_case` — every case field the importer maps — exactly.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date
from typing import Any

from revspine.adapters.fhir import _json as j
from revspine.adapters.fhir._maps import Maps, load_maps
from revspine.domain.case import Allergy, Case, Surgery
from revspine.domain.units import canonical_unit, known_units, to_canonical

__all__ = ["case_to_bundle", "project_case"]

_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
_OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
_ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"

SURGERY_TEXT = {
    "discectomy": "Discectomy",
    "laminectomy": "Laminectomy",
    "fusion": "Spinal fusion",
    "disc_replacement": "Total disc replacement",
    "other": "Other spine surgery",
}
REGION_TEXT = {
    "lumbar": "Lumbar spine",
    "lumbosacral": "Lumbosacral spine",
    "thoracic": "Thoracic spine",
    "cervical": "Cervical spine",
}
COMPLICATION_TEXT = {
    "infection": "Surgical site infection",
    "dural_tear": "Dural tear",
    "wound_dehiscence": "Wound dehiscence",
    "hematoma": "Postoperative hematoma",
    "nerve_injury": "Nerve root injury",
    "other": "Other complication",
}
SUBSTANCE_TEXT = {
    "penicillin": "Penicillin",
    "cephalosporin": "Cephalosporin antibiotic",
    "beta_lactam": "Beta-lactam antibiotic",
    "vancomycin": "Vancomycin",
    "clindamycin": "Clindamycin",
    "other": "Other drug",
}
REACTION_TEXT = {
    "anaphylaxis": "Anaphylaxis",
    "angioedema": "Angioedema",
    "severe_cutaneous": "Severe cutaneous adverse reaction",
    "urticaria": "Urticaria",
    "rash": "Rash",
    "intolerance": "Intolerance",
}
NO_KNOWN_ALLERGY = "No known drug allergies"


def _ucum(analyte: str, value: float, unit: str) -> tuple[float, str]:
    """The quantity in a table (valid UCUM) unit: kept as is, else converted to canonical."""
    if unit in known_units(analyte):
        return value, unit
    return to_canonical(analyte, value, unit), canonical_unit(analyte)


def _birth_date(case: Case, ref: date | None) -> date | None:
    p = case.patient
    if p.birth_date is not None:
        return p.birth_date
    if p.age is None or ref is None:
        return None
    try:
        return ref.replace(year=ref.year - p.age)
    except ValueError:  # 29 February
        return ref.replace(year=ref.year - p.age, day=28)


def project_case(case: Case, as_of: date | None = None) -> Case:
    """The part of ``case`` that survives ``case_to_bundle`` → ``bundle_to_case(as_of=as_of)``.

    Age is recomputed from the birth date (derived from ``age`` and the assessment date when
    only the age is known); quantities in alias units are converted to the canonical unit;
    everything the importer does not map (symptoms other than pain scores, exam, imaging,
    blocks, …) is left out.
    """
    ref = as_of or case.assessment_date
    birth = _birth_date(case, ref)
    patient: dict[str, Any] = {"sex": case.patient.sex, "birth_date": birth}
    if birth is not None and as_of is not None:
        patient["age"] = (
            as_of.year - birth.year - ((as_of.month, as_of.day) < (birth.month, birth.day))
        )
    for name in ("weight", "height"):
        q = getattr(case.patient, name)
        if q is not None:
            value, unit = _ucum(name, q.value, q.unit)
            patient[name] = {"value": value, "unit": unit}
    labs = []
    for lab in case.labs:
        value, unit = _ucum(lab.test, lab.value, lab.unit)
        labs.append({"test": lab.test, "value": value, "unit": unit, "date": lab.date})
    maps = load_maps()
    co = case.comorbidities
    comorbidities: dict[str, Any] = {"smoking_status": co.smoking_status}
    for target in maps.targets:
        section, name = target.split(".", 1)
        if section == "comorbidities":
            comorbidities[name] = getattr(co, name)
    ps = case.psychosocial
    data: dict[str, Any] = {
        "case_id": case.case_id,
        "assessment_date": as_of,
        "patient": patient,
        "surgeries": [
            s.model_dump() | {"complications": list(dict.fromkeys(s.complications))}
            for s in case.surgeries
        ],
        "symptoms": {
            "pain_nrs": case.symptoms.pain_nrs,
            "back_pain_nrs": case.symptoms.back_pain_nrs,
            "leg_pain_nrs": case.symptoms.leg_pain_nrs,
        },
        "comorbidities": comorbidities,
        "allergies": None if case.allergies is None else [a.model_dump() for a in case.allergies],
        "psychosocial": {
            "phq9_total": ps.phq9_total,
            "phq9_item9": ps.phq9_item9,
            "daily_opioid_use": ps.daily_opioid_use,
        },
        "labs": labs,
    }
    return Case.model_validate(data)


class _Builder:
    """Accumulates bundle entries with deterministic ``urn:uuid`` ids."""

    def __init__(self, seed: str) -> None:
        self.seed = seed
        self.entries: list[dict[str, Any]] = []
        self.subject: dict[str, str] = {}

    def add(self, resource: dict[str, Any]) -> str:
        rid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{j.REVSPINE}/{self.seed}/{len(self.entries)}"))
        resource = {"resourceType": resource.pop("resourceType"), "id": rid, **resource}
        full = f"urn:uuid:{rid}"
        self.entries.append({"fullUrl": full, "resource": resource})
        return full


def _cc(system: str | None, code: str | None, display: str | None, text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if system and code:
        coding: dict[str, Any] = {"system": system, "code": code}
        if display:
            coding["display"] = display
        out["coding"] = [coding]
    out["text"] = text
    return out


def _status(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _category(code: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": _OBS_CATEGORY, "code": code}]}]


def case_to_bundle(case: Case, *, as_of: date | None = None) -> dict[str, Any]:
    """A FHIR R4 ``collection`` Bundle holding what the importer maps from ``case``.

    ``as_of`` (default: the case's assessment date) dates the Bundle and the undated
    observations, and turns an age without a birth date into a birth date.
    """
    ref = as_of or case.assessment_date
    seed = hashlib.sha256(case.model_dump_json().encode()).hexdigest()[:16]
    b = _Builder(seed)
    maps = load_maps()
    patient: dict[str, Any] = {"resourceType": "Patient"}
    if case.case_id:
        patient["identifier"] = [{"system": j.CASE_ID_SYSTEM, "value": case.case_id}]
    if case.patient.sex:
        patient["gender"] = case.patient.sex
    birth = _birth_date(case, ref)
    if birth is not None:
        patient["birthDate"] = birth.isoformat()
    b.subject = {"reference": b.add(patient)}
    when = {"effectiveDateTime": ref.isoformat()} if ref else {}
    _vitals(b, maps, case, when)
    _labs(b, maps, case)
    _social(b, maps, case, when)
    _conditions(b, maps, case)
    for s in case.surgeries:
        b.add(_procedure(b, s))
    _allergies(b, case.allergies)
    opioid = case.psychosocial.daily_opioid_use
    if opioid is not None:
        b.add(
            {
                "resourceType": "MedicationStatement",
                "status": "active" if opioid else "not-taken",
                "medicationCodeableConcept": {"text": "Opioid analgesic"},
                "subject": b.subject,
                **({"dosage": [{"text": "Every day"}]} if opioid else {}),
            }
        )
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{j.REVSPINE}/{seed}/bundle")),
        "type": "collection",
    }
    if ref is not None:
        bundle["timestamp"] = f"{ref.isoformat()}T00:00:00Z"
    bundle["entry"] = b.entries
    return bundle


def _observation(
    b: _Builder, category: str, code: dict[str, Any], value: dict[str, Any], when: dict[str, Any]
) -> None:
    b.add(
        {
            "resourceType": "Observation",
            "status": "final",
            "category": _category(category),
            "code": code,
            "subject": b.subject,
            **when,
            **value,
        }
    )


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"valueQuantity": {"value": value, "unit": unit, "system": j.UCUM, "code": unit}}


def _loinc(maps: Maps, target: str, unit: str | None = None) -> dict[str, Any]:
    row = maps.export_row("Observation", target, unit)
    assert row is not None, f"no export code for {target}"
    return _cc(row.system, row.code, row.display, row.display)


def _vitals(b: _Builder, maps: Maps, case: Case, when: dict[str, Any]) -> None:
    for name in ("weight", "height"):
        q = getattr(case.patient, name)
        if q is not None:
            value, unit = _ucum(name, q.value, q.unit)
            target = f"patient.{name}"
            _observation(b, "vital-signs", _loinc(maps, target), _quantity(value, unit), when)


def _labs(b: _Builder, maps: Maps, case: Case) -> None:
    for lab in case.labs:
        value, unit = _ucum(lab.test, lab.value, lab.unit)
        when = {"effectiveDateTime": lab.date.isoformat()} if lab.date else {}
        code = _loinc(maps, f"lab:{lab.test}", unit)
        _observation(b, "laboratory", code, _quantity(value, unit), when)


def _social(b: _Builder, maps: Maps, case: Case, when: dict[str, Any]) -> None:
    status = case.comorbidities.smoking_status
    value: dict[str, Any]
    if status is not None:
        row = maps.export_row("value", f"smoking={status}")
        assert row is not None
        value = {"valueCodeableConcept": _cc(row.system, row.code, row.display, row.display)}
        _observation(b, "social-history", _loinc(maps, "smoking"), value, when)
    s = case.symptoms
    for score, site in (
        (s.pain_nrs, None),
        (s.back_pain_nrs, "Lower back"),
        (s.leg_pain_nrs, "Leg"),
    ):
        if score is None:
            continue
        site_part = {"bodySite": {"text": site}} if site else {}
        _observation(b, "survey", _loinc(maps, "nrs"), {"valueInteger": score, **site_part}, when)
    ps = case.psychosocial
    if ps.phq9_total is not None:
        value = {"valueInteger": ps.phq9_total}
        _observation(b, "survey", _loinc(maps, "psychosocial.phq9_total"), value, when)
    if ps.phq9_item9 is not None:
        row = maps.export_row("value", f"score={ps.phq9_item9}")
        assert row is not None
        value = {"valueCodeableConcept": _cc(row.system, row.code, row.display, row.display)}
        _observation(b, "survey", _loinc(maps, "psychosocial.phq9_item9"), value, when)


def _conditions(b: _Builder, maps: Maps, case: Case) -> None:
    co = case.comorbidities
    for target, rule in maps.targets.items():
        section, name = target.split(".", 1)
        if section != "comorbidities":
            continue
        value = getattr(co, name)
        if value is None:
            continue
        row = maps.export_row("Condition", target)
        code = _cc(
            row.system if row else None,
            row.code if row else None,
            row.display if row else None,
            rule.export_text,
        )
        resource: dict[str, Any] = {"resourceType": "Condition"}
        if value is False or value == "none":
            resource["verificationStatus"] = _status(_VERIFICATION, "refuted")
        else:
            clinical = "resolved" if value == "history" else "active"
            resource["clinicalStatus"] = _status(_CLINICAL, clinical)
            resource["verificationStatus"] = _status(_VERIFICATION, "confirmed")
            resource["category"] = [
                {"coding": [{"system": _CONDITION_CATEGORY, "code": "problem-list-item"}]}
            ]
        resource["code"] = code
        resource["subject"] = b.subject
        b.add(resource)


def _procedure(b: _Builder, s: Surgery) -> dict[str, Any]:
    text = SURGERY_TEXT[s.type]
    resource: dict[str, Any] = {"resourceType": "Procedure"}
    extensions = []
    if s.instrumented is not None:
        extensions.append({"url": j.EXT_INSTRUMENTED, "valueBoolean": s.instrumented})
    if s.approach is not None:
        extensions.append({"url": j.EXT_APPROACH, "valueCode": s.approach})
    if s.interbody is not None:
        extensions.append({"url": j.EXT_INTERBODY, "valueBoolean": s.interbody})
    if extensions:
        resource["extension"] = extensions
    resource |= {
        "status": "completed",
        "category": {"text": "Spine surgery"},
        "code": _cc(j.CS_SURGERY, s.type, text, text),
        "subject": b.subject,
    }
    if s.date is not None:
        resource["performedDateTime"] = s.date.isoformat()
    sites = [{"text": REGION_TEXT[s.region]}] if s.region else []
    sites += [{"text": level} for level in s.levels]
    if sites:
        resource["bodySite"] = sites
    if s.complications:
        resource["complication"] = [
            {"text": COMPLICATION_TEXT[c]} for c in dict.fromkeys(s.complications)
        ]
    return resource


def _allergies(b: _Builder, allergies: list[Allergy] | None) -> None:
    if allergies is None:
        return
    base = {
        "clinicalStatus": _status(_ALLERGY_CLINICAL, "active"),
        "verificationStatus": _status(_ALLERGY_VERIFICATION, "confirmed"),
    }
    if not allergies:
        b.add(
            {
                "resourceType": "AllergyIntolerance",
                **base,
                "code": {"text": NO_KNOWN_ALLERGY},
                "patient": b.subject,
            }
        )
    for a in allergies:
        resource: dict[str, Any] = {
            "resourceType": "AllergyIntolerance",
            **base,
            "type": "intolerance" if a.reaction == "intolerance" else "allergy",
            "category": ["medication"],
            "code": {"text": SUBSTANCE_TEXT[a.substance]},
            "patient": b.subject,
        }
        if a.reaction is not None or a.severity is not None:
            label = REACTION_TEXT[a.reaction] if a.reaction else "Unspecified reaction"
            reaction: dict[str, Any] = {"manifestation": [{"text": label}]}
            if a.severity is not None:
                reaction["severity"] = a.severity
            resource["reaction"] = [reaction]
        b.add(resource)
