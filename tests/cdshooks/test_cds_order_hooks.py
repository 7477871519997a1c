"""order-sign / order-select: a spine operation being ordered on an incomplete workup, an
unoptimised patient or an open red flag gets a warning (critical for red flags) naming what is
missing, with override reasons; nothing when everything is complete."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest
from cds_schemas import RESPONSE
from cdstools import (
    AS_OF,
    SELECT,
    SIGN,
    Client,
    FakeClock,
    Keys,
    auth,
    card_text,
    draft_orders,
    empty_members,
    example_case,
    fhir_bundle,
    prefetch_from_bundle,
    request_body,
)
from strategies import candidate_base

from revspine.adapters.cdshooks.cards import OVERRIDE_REASONS
from revspine.domain.case import Case

pytestmark = pytest.mark.req("REQ-403")

REVISION_FUSION = "Revision posterior instrumented fusion L4-S1"


def _post(
    client: Client, keys: Keys, clock: FakeClock, service: str, body: dict[str, Any]
) -> dict[str, Any]:
    path = f"/cds-services/{service}"
    response = client.post(path, json=body, headers=auth(keys, path, clock))
    assert response.status_code == 200, response.text
    data = response.json()
    jsonschema.validate(data, RESPONSE)
    assert empty_members(data) == []
    return data


def _sign(case: Case | dict[str, Any], *orders: str, **context: Any) -> dict[str, Any]:
    c = case if isinstance(case, Case) else Case.model_validate(case)
    return request_body(
        "order-sign",
        prefetch_from_bundle(fhir_bundle(c)),
        context={"draftOrders": draft_orders(*orders), **context},
    )


class Stored:
    """A CaseSource holding the full native case (exam, imaging, symptoms are not in FHIR)."""

    def __init__(self, case: Case) -> None:
        self.case = case

    def complete(self, case: Case, patient_id: str) -> Case:
        return self.case.model_copy(update={"assessment_date": case.assessment_date})


UNEXPLAINED_PAIN: dict[str, Any] = {
    "case_id": "unexplained",
    "assessment_date": AS_OF.isoformat(),
    "patient": {"age": 58, "sex": "female", "weight": "76 kg", "height": "165 cm"},
    "surgeries": [
        {"date": "2024-05-02", "type": "fusion", "region": "lumbar", "levels": ["L4-L5"]}
    ],
    "symptoms": {"pain_nrs": 7, "back_pain_nrs": 7, "leg_pain_nrs": 3},
    "comorbidities": {"smoking_status": "never", "diabetes": False},
    "allergies": [],
}


@pytest.mark.req("REQ-103", "REQ-202", "HAZ-012", "HAZ-013")
def test_revision_fusion_without_esr_crp_gets_a_warning_naming_them(signed, keys, clock) -> None:  # type: ignore[no-untyped-def]
    """The issue's 'done when': order-sign, revision fusion (draft ServiceRequest), unexplained
    pain after a fusion, no ESR/CRP on record -> a warning card naming ESR and CRP."""
    client, _ = signed
    body = _sign(UNEXPLAINED_PAIN, REVISION_FUSION)
    cards = _post(client, keys, clock, SIGN, body)["cards"]
    workup = next(c for c in cards if c["source"]["topic"]["code"] == "order-workup")
    assert workup["indicator"] == "warning"
    assert workup["summary"].startswith("Revision fusion ordered, workup incomplete:")
    for name in ("ESR", "CRP"):
        assert name in workup["summary"]
        assert f"**{name}**" in workup["detail"]
    assert "WU006" in workup["extension"]["revspine.ruleIds"]  # the ESR/CRP rule is cited
    assert "[11]" in workup["detail"]  # and its evidence
    assert [r["code"] for r in workup["overrideReasons"]] == [c for c, _ in OVERRIDE_REASONS]
    assert all(r["display"] for r in workup["overrideReasons"])
    assert workup["selectionBehavior"] == "any"
    creates = {
        s["actions"][0]["resource"]["code"]["coding"][0]["code"]: s
        for s in workup["suggestions"]
        if s["actions"][0]["type"] == "create"
    }
    assert {"esr", "crp"} <= set(creates)
    assert (
        creates["esr"]["actions"][0]["resource"]["code"]["coding"][1]["code"] == "4537-7"
    )  # LOINC
    withdraw = [s for s in workup["suggestions"] if s["actions"][0]["type"] == "delete"]
    assert withdraw[0]["actions"][0]["resourceId"] == "ServiceRequest/draft-1"
    assert withdraw[0]["isRecommended"] is False


def test_complete_native_record_names_only_what_is_missing(make_client, keys, clock) -> None:  # type: ignore[no-untyped-def]
    """EX07 in full (exam, imaging, symptoms from the stored case): CT, ESR and CRP missing."""
    native = example_case("07_suspected_pseudarthrosis_no_ct")
    client, _ = make_client(case_source=Stored(native))
    cards = _post(client, keys, clock, SIGN, _sign(native, REVISION_FUSION))["cards"]
    workup = next(c for c in cards if c["source"]["topic"]["code"] == "order-workup")
    assert "CT, ESR, CRP" in workup["summary"]
    assert "history/exam" not in workup["summary"]
    smoking = next(c for c in cards if c["source"]["topic"]["code"] == "order-optimisation")
    assert smoking["indicator"] == "warning" and "smoking" in smoking["summary"]
    assert "OP001" in smoking["extension"]["revspine.ruleIds"]


@pytest.mark.req("HAZ-017")
def test_everything_complete_gives_no_card(make_client, keys, clock) -> None:  # type: ignore[no-untyped-def]
    native = Case.model_validate(candidate_base())
    client, _ = make_client(case_source=Stored(native))
    body = _sign(native, "Revision microdiscectomy L4-L5 left")
    assert _post(client, keys, clock, SIGN, body) == {"cards": []}


@pytest.mark.req("HAZ-007")
def test_open_red_flag_is_critical(make_client, keys, clock) -> None:  # type: ignore[no-untyped-def]
    native = example_case("01_cauda_equina")
    client, _ = make_client(case_source=Stored(native))
    cards = _post(client, keys, clock, SIGN, _sign(native, "Revision lumbar decompression L4-L5"))[
        "cards"
    ]
    assert cards[0]["indicator"] == "critical"
    assert cards[0]["summary"].startswith(
        "Open red flag before revision decompression: cauda equina"
    )
    assert cards[0]["overrideReasons"]


def test_unoptimised_patient_gets_a_warning_naming_the_gate(make_client, keys, clock) -> None:  # type: ignore[no-untyped-def]
    native = example_case("26_pseudarthrosis_ex_smoker")  # low albumin/transferrin
    client, _ = make_client(case_source=Stored(native))
    cards = _post(client, keys, clock, SIGN, _sign(native, REVISION_FUSION))["cards"]
    assert [c["source"]["topic"]["code"] for c in cards] == ["order-optimisation"]
    assert "nutrition (not met)" in cards[0]["summary"]
    assert "OP002" in cards[0]["extension"]["revspine.ruleIds"]


def test_non_surgical_disposition_warns_against_the_order(make_client, keys, clock) -> None:  # type: ignore[no-untyped-def]
    native = example_case("20_axial_pain_no_generator")
    client, _ = make_client(case_source=Stored(native))
    cards = _post(client, keys, clock, SIGN, _sign(native, REVISION_FUSION))["cards"]
    assert [c["indicator"] for c in cards] == ["warning"]
    assert "non-surgical" in cards[0]["summary"]


@pytest.mark.parametrize(
    "orders",
    [
        (),
        ("Total knee arthroplasty right",),
        ("Ankle fusion left",),
        ("MRI lumbar spine with contrast",),
    ],
)
def test_no_spine_operation_means_no_advice_and_no_data_needed(orders, signed, keys, clock) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed
    body = request_body("order-sign", None, context={"draftOrders": draft_orders(*orders)})
    assert _post(client, keys, clock, SIGN, body) == {"cards": []}  # no prefetch, still no 412


def test_coded_order_is_recognised_and_marked_unverified(signed, keys, clock) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed
    body = request_body(
        "order-sign",
        prefetch_from_bundle(fhir_bundle(Case.model_validate(UNEXPLAINED_PAIN))),
        context={
            "draftOrders": draft_orders(
                "Arthrodesis", coding={"system": "http://www.ama-assn.org/go/cpt", "code": "22630"}
            )
        },
    )
    text = card_text(_post(client, keys, clock, SIGN, body))
    assert "matched by CPT 22630, code not verified" in text


def test_order_select_looks_only_at_the_selections(signed, keys, clock) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed
    prefetch = prefetch_from_bundle(fhir_bundle(Case.model_validate(UNEXPLAINED_PAIN)))
    orders = draft_orders(REVISION_FUSION, "Physiotherapy referral")
    other = request_body(
        "order-select",
        prefetch,
        context={"draftOrders": orders, "selections": ["ServiceRequest/draft-2"]},
    )
    assert _post(client, keys, clock, SELECT, other) == {"cards": []}
    chosen = request_body(
        "order-select",
        prefetch,
        context={"draftOrders": orders, "selections": ["ServiceRequest/draft-1"]},
    )
    assert "ESR" in card_text(_post(client, keys, clock, SELECT, chosen))


def test_primary_surgery_without_spine_history_is_out_of_scope(signed, keys, clock) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed
    no_history = copy.deepcopy(UNEXPLAINED_PAIN)
    no_history["surgeries"] = []
    assert _post(client, keys, clock, SIGN, _sign(no_history, "Lumbar fusion L4-L5")) == {
        "cards": []
    }
    revision = _post(client, keys, clock, SIGN, _sign(no_history, "Revision lumbar fusion L4-L5"))
    assert revision["cards"]  # a revision ordered: the earlier surgery was done elsewhere
