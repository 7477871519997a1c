"""patient-view: a realistic FBSS record as prefetch gives the engine's answer, cited; the public
Synthea patients (no spine history) get no cards; fetched data gives the same cards as prefetch."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jsonschema
import pytest
from cds_schemas import RESPONSE
from cdstools import (
    AS_OF,
    FHIR,
    PV,
    SYNTHEA,
    Client,
    FakeClock,
    Keys,
    auth,
    empty_members,
    example_case,
    fhir_bundle,
    fhir_stub,
    load_json,
    prefetch_from_bundle,
    request_body,
    with_patient_id,
)

from revspine.adapters.cdshooks import CdsService
from revspine.adapters.fhir import bundle_to_case, validate_r4b
from revspine.domain.case import Case
from revspine.engine import assess
from revspine.rules.registry import ordered_rules

pytestmark = pytest.mark.req("REQ-403")

PATH = f"/cds-services/{PV}"
RULE_IDS = {r.id for r in ordered_rules()}


def _call(client: Client, keys: Keys, clock: FakeClock, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(PATH, json=body, headers=auth(keys, PATH, clock))
    assert response.status_code == 200, response.text
    data = response.json()
    jsonschema.validate(data, RESPONSE)
    assert empty_members(data) == []
    return data


@pytest.mark.req("REQ-202", "REQ-203")
def test_fbss_record_gives_the_engines_cited_answer(signed, keys, clock) -> None:  # type: ignore[no-untyped-def]
    """EX07 (suspected pseudarthrosis, smoker) as the EHR holds it in FHIR R4."""
    client, _ = signed
    bundle = fhir_bundle(example_case("07_suspected_pseudarthrosis_no_ct"))
    expected = assess(bundle_to_case(bundle, as_of=AS_OF).case)
    cards = _call(client, keys, clock, request_body("patient-view", prefetch_from_bundle(bundle)))[
        "cards"
    ]

    by_topic = {c["source"]["topic"]["code"]: c for c in cards}
    summary = by_topic["disposition"]
    assert expected.disposition.code == "incomplete_workup"
    assert summary["indicator"] == "warning" and "workup incomplete" in summary["summary"]
    assert expected.disposition.rule_id in summary["extension"]["revspine.ruleIds"]
    assert "smoking" in summary["detail"].lower()  # the open optimisation gate (OP001)

    workup = by_topic["workup"]
    blocking = [w for w in expected.workup if w.blocks_decision]
    suggested = [s["actions"][0]["resource"] for s in workup["suggestions"]]
    coded = [r["code"]["coding"][0]["code"] for r in suggested]
    assert coded == [w.test for w in expected.workup]
    for s, w in zip(workup["suggestions"], expected.workup, strict=True):
        assert s["isRecommended"] is w.blocks_decision
    assert workup["selectionBehavior"] == "any"
    for w in blocking:
        assert w.rule_id in workup["extension"]["revspine.ruleIds"]
    for resource in suggested:  # each create action is a valid FHIR R4 ServiceRequest proposal
        validate_r4b(resource)
        assert resource["subject"] == {"reference": "Patient/pat-1"}
        assert resource["intent"] == "proposal" and "id" not in resource

    for card in cards:
        assert set(card["extension"]["revspine.ruleIds"]) <= RULE_IDS
        assert (
            card["extension"]["revspine.knowledge"]
            == f"{expected.knowledge.id} {expected.knowledge.version}"
        )
        assert "Rules: " in card["detail"] and len(card["summary"]) < 140
        assert card["detail"].endswith("Advice for a qualified clinician to review, not an order.")


@pytest.mark.req("HAZ-007")
def test_red_flags_are_critical_cards(make_client, keys, clock) -> None:  # type: ignore[no-untyped-def]
    """Symptoms are not in FHIR: a stored case (the CaseSource port) supplies them."""
    native = example_case("01_cauda_equina")

    class Stored:
        def complete(self, case: Case, patient_id: str) -> Case:
            assert patient_id == "pat-1"
            return native.model_copy(update={"assessment_date": case.assessment_date})

    client, _ = make_client(case_source=Stored())
    bundle = fhir_bundle(native)
    cards = _call(client, keys, clock, request_body("patient-view", prefetch_from_bundle(bundle)))[
        "cards"
    ]
    critical = [c for c in cards if c["indicator"] == "critical"]
    expected = assess(native, as_of=AS_OF)
    assert [f.code for f in expected.red_flags]
    assert len(critical) == len(expected.red_flags)
    assert cards[: len(critical)] == critical  # red flags come first, never below routine advice
    assert critical[0]["summary"].startswith("Red flag: cauda equina")
    assert expected.red_flags[0].rule_id in critical[0]["extension"]["revspine.ruleIds"]


@pytest.mark.parametrize("path", sorted(SYNTHEA.glob("*.json")), ids=lambda p: p.name.split("_")[0])
def test_public_synthea_patients_get_no_cards(path, signed, keys, clock) -> None:  # type: ignore[no-untyped-def]
    """No spine surgery, no FBSS on record: outside revspine's scope, so no advice."""
    client, _ = signed
    bundle = with_patient_id(load_json(path))
    body = _call(client, keys, clock, request_body("patient-view", prefetch_from_bundle(bundle)))
    assert body == {"cards": []}


def test_fbss_problem_alone_puts_a_patient_in_scope(signed, keys, clock) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "id": "pat-1",
                    "gender": "female",
                    "birthDate": "1961-02-03",
                }
            },
            {
                "resource": {
                    "resourceType": "Condition",
                    "id": "c1",
                    "subject": {"reference": "Patient/pat-1"},
                    "code": {
                        "coding": [
                            {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M96.1"}
                        ],
                        "text": "Postlaminectomy syndrome",
                    },
                }
            },
        ],
    }
    cards = _call(client, keys, clock, request_body("patient-view", prefetch_from_bundle(bundle)))[
        "cards"
    ]
    assert any(c["source"]["topic"]["code"] == "disposition" for c in cards)


def test_fetching_from_fhir_server_gives_the_same_cards(make_client, keys, clock) -> None:  # type: ignore[no-untyped-def]
    """STYLE §7: the prefetch path and the fetch-from-FHIR path on the same data."""
    bundle = fhir_bundle(example_case("26_pseudarthrosis_ex_smoker"))
    client, _ = make_client(fhir_transport=fhir_stub(bundle))
    body = request_body("patient-view", prefetch_from_bundle(bundle))
    from_prefetch = _call(client, keys, clock, body)
    fetched = request_body("patient-view", None, fhir_server=FHIR)
    fetched["hookInstance"] = body["hookInstance"]
    from_server = _call(client, keys, clock, fetched)
    assert from_server == from_prefetch
    assert from_prefetch["cards"]


@pytest.mark.req("HAZ-006")
def test_partial_prefetch_is_completed_from_the_server(make_client, keys, clock) -> None:  # type: ignore[no-untyped-def]
    bundle = fhir_bundle(example_case("26_pseudarthrosis_ex_smoker"))
    log: list[Any] = []
    client, _ = make_client(fhir_transport=fhir_stub(bundle, log))
    full = request_body("patient-view", prefetch_from_bundle(bundle))
    partial = dict(
        full, prefetch={k: v for k, v in full["prefetch"].items() if k != "observations"}
    )
    partial["fhirServer"] = FHIR
    assert _call(client, keys, clock, partial) == _call(client, keys, clock, full)
    assert [r.url.path.rsplit("/", 1)[-1] for r in log] == ["Observation"]


def test_assessment_date_is_todays_date_by_the_clock(signed, keys, clock) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed
    clock.advance(days=30)
    bundle = fhir_bundle(example_case("07_suspected_pseudarthrosis_no_ct"))
    cards = _call(client, keys, clock, request_body("patient-view", prefetch_from_bundle(bundle)))[
        "cards"
    ]
    assert cards[0]["extension"]["revspine.asOf"] == (AS_OF + dt.timedelta(days=30)).isoformat()


def test_card_uuids_follow_the_hook_instance(signed, keys, clock) -> None:  # type: ignore[no-untyped-def]
    client, service = signed
    prefetch = prefetch_from_bundle(fhir_bundle(example_case("07_suspected_pseudarthrosis_no_ct")))
    first = _call(client, keys, clock, request_body("patient-view", prefetch))
    second = _call(client, keys, clock, request_body("patient-view", prefetch))
    ids = [c["uuid"] for c in first["cards"]]
    assert len(set(ids)) == len(ids)
    assert not set(ids) & {c["uuid"] for c in second["cards"]}
    assert isinstance(service, CdsService)
