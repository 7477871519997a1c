"""Assessment → FHIR R4: every resource validates against fhir.resources R4B, advice is a
proposal (never an order), and every resource carries its rule id."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import fhir_factories  # noqa: F401  (puts tests/property on sys.path)
import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from strategies import AS_OF, candidate_base

from revspine import Assessment, Case, assess
from revspine.adapters.fhir import assessment_to_fhir
from revspine.casefile import load_case

pytestmark = pytest.mark.req("REQ-402", "REQ-202")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
RULE_ID = "http://revspine.example/fhir/StructureDefinition/rule-id"


def _resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"]]


def _assessments() -> list[tuple[str, Assessment]]:
    out = [("candidate", assess(Case.model_validate(candidate_base()), as_of=AS_OF))]
    for name in (
        "01_cauda_equina",
        "07_suspected_pseudarthrosis_no_ct",
        "28_hardware_failure_smoker",
    ):
        case = load_case(EXAMPLES / f"{name}.yaml")
        out.append((name, assess(case, as_of=case.assessment_date or dt.date(2026, 1, 10))))
    return out


ASSESSMENTS = _assessments()


@pytest.mark.parametrize(("name", "assessment"), ASSESSMENTS, ids=[n for n, _ in ASSESSMENTS])
def test_every_resource_validates_against_r4b(name: str, assessment: Assessment) -> None:
    bundle = assessment_to_fhir(assessment, case_ref="Patient/123")
    Bundle.model_validate(bundle)
    for resource in _resources(bundle):
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)


@pytest.mark.parametrize(("name", "assessment"), ASSESSMENTS, ids=[n for n, _ in ASSESSMENTS])
def test_structure_provenance_and_intent(name: str, assessment: Assessment) -> None:
    bundle = assessment_to_fhir(assessment)
    resources = _resources(bundle)
    group = resources[0]
    assert group["resourceType"] == "RequestGroup" and group["intent"] == "proposal"
    assert group["code"]["coding"][0]["code"] == assessment.disposition.code
    urls = {e["fullUrl"] for e in bundle["entry"][1:]}
    referenced = {a["resource"]["reference"] for a in group.get("action", []) if "resource" in a}
    assert urls == referenced, "every resource is an action of the RequestGroup"
    assert len({r["id"] for r in resources}) == len(resources)
    for r in resources:
        rule_ids = [x["valueString"] for x in r.get("extension", []) if x["url"] == RULE_ID]
        assert rule_ids, f"{r['resourceType']} carries no rule id"
        if r["resourceType"] in ("MedicationRequest", "ServiceRequest"):
            assert r["intent"] == "proposal" and r["status"] == "draft"
    services = [r for r in resources if r["resourceType"] == "ServiceRequest" and "priority" in r]
    assert [s["code"]["coding"][0]["code"] for s in services] == [w.test for w in assessment.workup]
    assert all(s["reasonCode"][0]["text"] for s in services)
    issues = [r for r in resources if r["resourceType"] == "DetectedIssue"]
    red = [i for i in issues if i["severity"] == "high"]
    assert len(red) == len(assessment.red_flags)
    incomplete = [i for i in issues if i["code"]["coding"][0]["code"] == "incomplete_workup"]
    assert len(incomplete) == (assessment.disposition.code == "incomplete_workup")
    for issue in incomplete:
        blocking = [w for w in assessment.workup if w.blocks_decision]
        assert len(issue.get("implicated", [])) == len(blocking)


def test_candidate_gets_prophylaxis_proposals() -> None:
    _, assessment = ASSESSMENTS[0]
    assert assessment.disposition.code == "surgical_candidate"
    resources = _resources(assessment_to_fhir(assessment))
    meds = [r for r in resources if r["resourceType"] == "MedicationRequest"]
    assert [m["medicationCodeableConcept"]["text"] for m in meds] == ["Cefazolin"]
    assert "before incision" in meds[0]["dosageInstruction"][0]["text"]
    assert any("pneumatic compression" in r.get("code", {}).get("text", "") for r in resources)


def test_red_flag_issue_carries_rationale_and_evidence() -> None:
    _, assessment = ASSESSMENTS[1]
    assert assessment.red_flags
    issue = next(
        r
        for r in _resources(assessment_to_fhir(assessment))
        if r["resourceType"] == "DetectedIssue" and r["severity"] == "high"
    )
    flag = assessment.red_flags[0]
    assert (
        flag.rationale in issue["detail"]
        and issue["mitigation"][0]["action"]["text"] == flag.action
    )
    assert any(x["url"].endswith("/evidence") for x in issue["extension"]) == bool(flag.evidence)


def test_subject_without_case_ref_uses_the_case_id() -> None:
    _, assessment = ASSESSMENTS[0]
    group = _resources(assessment_to_fhir(assessment))[0]
    assert group["subject"]["identifier"]["value"] == assessment.case_id
    group = _resources(assessment_to_fhir(assessment, case_ref="Patient/abc"))[0]
    assert group["subject"] == {"reference": "Patient/abc"}
