"""The pieces of the batch layer: routing a line to its patient, the per-patient evaluator
(drop-and-retry, shared resources, site and surgeon), dotted-path tables."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
import pytest

from revspine import load_knowledge
from revspine.batch import fhir_links
from revspine.batch._tables import nest
from revspine.batch.evaluate import EvalContext, SharedIndex, evaluate_fhir
from revspine.batch.records import Origin
from revspine.domain.case import Case

pytestmark = pytest.mark.req("REQ-401", "REQ-206")

AS_OF = date(2026, 11, 1)
LOINC = "http://loinc.org"


def _ctx(shared: SharedIndex | None = None) -> EvalContext:
    return EvalContext(load_knowledge(), AS_OF, AS_OF, shared or SharedIndex())


def _patient(pid: str = "p1", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "gender": "female",
        "birthDate": "1960-05-01",
    } | extra


def _crp(value: float, unit: str, rid: str = "o1") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "1988-5"}]},
        "subject": {"reference": "urn:uuid:whatever"},
        "effectiveDateTime": "2026-10-20",
        "valueQuantity": {"value": value, "unit": unit},
    }


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (_patient("abc"), ("patient", "abc")),
        (
            {"resourceType": "Observation", "subject": {"reference": "Patient/x1"}},
            ("patient", "x1"),
        ),
        (
            {
                "resourceType": "Observation",
                "subject": {"reference": "https://h/fhir/Patient/x2/_history/3"},
            },
            ("patient", "x2"),
        ),
        (
            {"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/x3"}},
            ("patient", "x3"),
        ),
        ({"resourceType": "Medication", "id": "m"}, ("shared", "Medication")),
    ],
)
def test_patient_key(resource: dict[str, Any], expected: tuple[str, str]) -> None:
    assert fhir_links.patient_key(resource) == expected


@pytest.mark.parametrize(
    ("resource", "kind"),
    [
        ([1, 2], "resource"),
        ({"id": "x"}, "resource"),
        ({"resourceType": "Patient"}, "resource"),
        ({"resourceType": "Observation"}, "reference"),
        ({"resourceType": "Observation", "subject": {"display": "no ref"}}, "reference"),
        ({"resourceType": "Observation", "subject": {"reference": "Group/7"}}, "reference"),
    ],
)
def test_unroutable_records(resource: Any, kind: str) -> None:
    with pytest.raises(fhir_links.BadRecord) as exc:
        fhir_links.patient_key(resource)
    assert exc.value.kind == kind


def test_refused_record_is_dropped_and_the_patient_still_assessed() -> None:
    items = [
        (Origin("Patient.ndjson", 1), _patient(), None),
        (Origin("Observation.ndjson", 4), _crp(12, "furlong/fortnight", "bad"), None),
        (Origin("Observation.ndjson", 9), _crp(12, "mg/L", "good"), None),
    ]
    outcome = evaluate_fhir("p1", items, _ctx())
    assert outcome.row is not None and outcome.row["input_errors"] == 1
    assert outcome.row["workup_crp"] is False
    [error] = outcome.errors
    assert (error.file, error.line, error.kind) == ("Observation.ndjson", 4, "fhir")
    assert error.resource == "Observation/bad" and "furlong" in error.reason
    assert error.reason.startswith("$.valueQuantity")


def _fusion(rid: str = "s1", when: str = "2024-03-01") -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "id": rid,
        "status": "completed",
        "code": {"text": "lumbar fusion L4-L5"},
        "subject": {"reference": "Patient/p1"},
        "performedDateTime": when,
    }


@pytest.mark.req("HAZ-022")
def test_a_resource_listed_twice_is_read_once() -> None:
    """A Bulk export that repeats a line (an export retried, pages that overlap) must not count
    a surgery or a lab result twice."""
    once = [
        (Origin("Patient.ndjson", 1), _patient(), None),
        (Origin("Procedure.ndjson", 3), _fusion(), None),
        (Origin("Observation.ndjson", 5), _crp(12, "mg/L"), None),
    ]
    twice = once + [
        (Origin("Procedure.ndjson", 8), _fusion(), None),
        (Origin("Observation.ndjson", 9), _crp(12, "mg/L"), None),
    ]
    a, b = evaluate_fhir("p1", once, _ctx()), evaluate_fhir("p1", twice, _ctx())
    assert a.row is not None and b.row is not None and a.errors == b.errors == []
    assert b.assessment_json == a.assessment_json
    assert b.row["import_warnings"] == a.row["import_warnings"] + 2


@pytest.mark.req("HAZ-022")
def test_two_versions_of_a_resource_keep_the_first_and_name_both_lines() -> None:
    items = [
        (Origin("Patient.ndjson", 1), _patient(), None),
        (Origin("Procedure.ndjson", 3), _fusion(), None),
        (Origin("Procedure.ndjson", 8), _fusion(when="2025-06-01"), None),
    ]
    outcome = evaluate_fhir("p1", items, _ctx())
    assert outcome.row is not None and outcome.row["input_errors"] == 1
    [error] = outcome.errors
    assert (error.file, error.line, error.kind) == ("Procedure.ndjson", 8, "fhir")
    assert "Procedure/s1 is also Procedure.ndjson:3, with different content" in error.reason
    assert outcome.assessment_json is not None
    assert b'"last_surgery_date":"2024-03-01"' in outcome.assessment_json


def test_an_unexpected_import_failure_costs_one_patient_not_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import revspine.adapters.fhir as fhir

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise TypeError("'int' object is not iterable")

    monkeypatch.setattr(fhir, "bundle_to_case", broken)
    items = [(Origin("Patient.ndjson", 2), _patient(), None)]
    outcome = evaluate_fhir("p1", items, _ctx())
    assert outcome.row is None and outcome.assessment_json is None
    [error] = outcome.errors
    assert (error.file, error.line, error.kind) == ("Patient.ndjson", 2, "internal")
    assert "TypeError" in error.reason and "revspine bug" in error.reason


def test_inconsistent_case_names_the_patient_record() -> None:
    future = _crp(3, "mg/L") | {"effectiveDateTime": "2027-01-01"}
    items = [
        (Origin("Observation.ndjson", 1), future, None),
        (Origin("Patient.ndjson", 3), _patient(), None),
    ]
    outcome = evaluate_fhir("p1", items, _ctx())
    assert outcome.row is None and outcome.assessment_json is None
    [error] = outcome.errors
    assert (error.file, error.line, error.kind) == ("Patient.ndjson", 3, "case")
    assert "labs[0].date" in error.reason and "future" in error.reason


def test_shared_medication_site_and_surgeon_are_resolved() -> None:
    shared = SharedIndex()
    shared.add(
        Origin("Medication.ndjson", 1),
        {"resourceType": "Medication", "id": "m1", "code": {"text": "Opioid analgesic"}},
    )
    shared.add(
        Origin("Organization.ndjson", 1),
        {"resourceType": "Organization", "id": "o1", "name": "North"},
    )
    shared.add(
        Origin("Practitioner.ndjson", 1),
        {
            "resourceType": "Practitioner",
            "id": "d1",
            "name": [{"prefix": ["Dr"], "given": ["Ann"], "family": "Lee"}],
        },
    )
    statement = {
        "resourceType": "MedicationStatement",
        "status": "active",
        "medicationReference": {"reference": "Medication/m1"},
        "subject": {"reference": "Patient/p1"},
    }
    procedures = [
        {
            "resourceType": "Procedure",
            "status": "completed",
            "code": {"text": "Lumbar discectomy"},
            "performedDateTime": day,
            "performer": [{"actor": {"reference": ref} | extra}],
            "subject": {"reference": "Patient/p1"},
        }
        for day, ref, extra in (
            ("2024-01-01", "Practitioner/zz", {"display": "Dr Old"}),
            ("2025-03-01", "Practitioner/d1", {}),
        )
    ]
    items = [
        (
            Origin("Patient.ndjson", 1),
            _patient(managingOrganization={"reference": "Organization/o1"}),
            None,
        ),
        (Origin("MedicationStatement.ndjson", 1), statement, None),
        *((Origin("Procedure.ndjson", i + 1), p, None) for i, p in enumerate(procedures)),
    ]
    outcome = evaluate_fhir("p1", items, _ctx(shared))
    assert outcome.row is not None
    assert (outcome.row["site"], outcome.row["surgeon"]) == ("North", "Dr Ann Lee")
    assert b'{"field":"psychosocial.daily_opioid_use","value":true}' in (
        outcome.assessment_json or b""
    )


def test_nest_dotted_paths() -> None:
    flat = {
        "case_id": "C1",
        "patient.age": "61",
        "patient.sex": "",
        "surgeries.0.type": "fusion",
        "surgeries.0.levels": '["L4-L5"]',
        "surgeries.1.type": "discectomy",
        "labs": '[{"test": "crp", "value": 3, "unit": "mg/L"}]',
        "symptoms.fever": "false",
    }
    assert nest(flat) == {
        "case_id": "C1",
        "patient": {"age": "61"},
        "surgeries": [{"type": "fusion", "levels": ["L4-L5"]}, {"type": "discectomy"}],
        "labs": [{"test": "crp", "value": 3, "unit": "mg/L"}],
        "symptoms": {"fever": "false"},
    }


@pytest.mark.parametrize(
    ("flat", "message"),
    [
        ({"labs": "[not json"}, "not valid JSON"),
        ({"patient": '{"age": 3}', "patient.age": "4"}, "given twice"),
        ({"surgeries": '{"x": 1}', "surgeries.0.type": "fusion"}, "is not a list"),
        ({"labs.0.test": "crp", "labs.x": "y"}, "is not a mapping"),
    ],
)
def test_nest_rejects(flat: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        nest(flat)


def test_the_line_holds_the_assessment_as_model_dump_json_writes_it() -> None:
    from revspine.batch.evaluate import assessment_json, assessment_line
    from revspine.engine import assess

    items = [
        (Origin("Patient.ndjson", 1), _patient(), None),
        (Origin("Observation.ndjson", 2), _crp(12, "mg/L"), None),
    ]
    outcome = evaluate_fhir("p1", items, _ctx())
    assert outcome.assessment_json is not None
    line = orjson.loads(outcome.assessment_json)
    case = Case.model_validate(
        {"assessment_date": AS_OF, "patient": {"sex": "female", "birth_date": "1960-05-01"}}
    )
    a = assess(case, load_knowledge(), AS_OF)
    text = a.model_dump_json(by_alias=True)
    assert assessment_json(a) == text.encode()
    assert assessment_line("p\u00e9", assessment_json(a)) == assessment_line("p\u00e9", text)
    assert line["patient_id"] == "p1" and line["assessment"]["as_of"] == AS_OF.isoformat()


def test_patient_references_are_made_canonical() -> None:
    crp = _crp(12, "mg/L") | {"subject": {"reference": "urn:uuid:x", "display": "P"}}
    allergy = {
        "resourceType": "AllergyIntolerance",
        "id": "a1",
        "code": {"text": "Penicillin"},
        "patient": {"reference": "Patient/old"},
    }
    items = [
        (Origin("Patient.ndjson", 1), _patient(), None),
        (Origin("Observation.ndjson", 2), crp, None),
        (Origin("AllergyIntolerance.ndjson", 1), allergy, None),
    ]
    outcome = evaluate_fhir("p1", items, _ctx())
    assert outcome.row is not None and outcome.row["import_warnings"] == 0
    assert crp["subject"] == {"reference": "Patient/p1", "display": "P"}
    assert allergy["patient"] == {"reference": "Patient/p1"}
    assert outcome.row["workup_crp"] is False
