"""FHIR R4 import: what each resource maps to, what is refused, and what is only listed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fhir_factories import (
    ICD10CM,
    LOINC,
    SNOMED,
    SUBJECT,
    allergy,
    bundle,
    coding,
    condition,
    lab,
    medication,
    observation,
    patient,
    procedure,
)

from revspine.adapters.fhir import ImportResult, bundle_to_case, parse_bundle
from revspine.errors import FhirParseError, InputError

pytestmark = pytest.mark.req("REQ-401", "REQ-107", "HAZ-006", "HAZ-001")

AS_OF = dt.date(2026, 11, 1)


def imported(*resources: dict[str, Any], as_of: dt.date | None = AS_OF) -> ImportResult:
    return bundle_to_case(bundle(patient(), *resources), as_of=as_of)


def unmapped_codes(result: ImportResult) -> set[str | None]:
    return {u.code for u in result.unmapped}


# -- Patient ------------------------------------------------------------------------------------


def test_patient_age_from_birth_date_relative_to_as_of() -> None:
    case = imported().case
    assert case.patient.sex == "female"
    assert case.patient.birth_date == dt.date(1966, 5, 20)
    assert case.patient.age == 60
    assert case.assessment_date == AS_OF


def test_without_as_of_only_the_birth_date_is_recorded() -> None:
    case = imported(as_of=None).case
    assert case.patient.age is None and case.assessment_date is None
    assert case.patient.birth_date == dt.date(1966, 5, 20)


def test_partial_birth_date_is_not_guessed() -> None:
    result = bundle_to_case(bundle(patient(birth="1966")), as_of=AS_OF)
    assert result.case.patient.birth_date is None and result.case.patient.age is None
    assert any("birthDate" in str(w) for w in result.warnings)


def test_two_patients_are_refused() -> None:
    two = bundle(patient(), patient() | {"id": "p2"})
    two["entry"][1]["fullUrl"] = "urn:uuid:other"
    with pytest.raises(FhirParseError, match="more than one Patient") as err:
        bundle_to_case(two)
    assert err.value.path == "$.entry[1].resource"


# -- A resource listed twice ----------------------------------------------------------------------


@pytest.mark.req("HAZ-022")
def test_a_resource_listed_twice_is_read_once_with_a_warning() -> None:
    fusion, crp = procedure("lumbar fusion L4-L5"), lab("1988-5", 12, "mg/L")
    once = imported(fusion, crp)
    twice = bundle_to_case(bundle(patient(), fusion, crp, patient(), fusion, crp), as_of=AS_OF)
    assert twice.case == once.case
    assert len(twice.case.surgeries) == 1 and len(twice.case.labs) == 1
    repeated = [w for w in twice.warnings if "read once" in str(w)]
    assert [w.path for w in repeated] == [f"$.entry[{i}].resource" for i in (3, 4, 5)]
    assert f"the same Procedure/{fusion['id']} as $.entry[1].resource" in str(repeated[1])


@pytest.mark.req("HAZ-022")
def test_two_versions_of_a_resource_are_refused_naming_both() -> None:
    first = procedure("lumbar fusion L4-L5", when="2022-03-14")
    later = first | {"performedDateTime": "2024-01-09"}
    with pytest.raises(FhirParseError) as err:
        bundle_to_case(bundle(patient(), first, later), as_of=AS_OF)
    assert err.value.path == "$.entry[2].resource"
    assert f"Procedure/{first['id']} is also $.entry[1].resource, with different content" in str(
        err.value
    )


def test_resources_about_another_patient_are_skipped_with_a_warning() -> None:
    other = lab("1988-5", 80, "mg/L", subject={"reference": "Patient/someone-else"})
    result = imported(other)
    assert result.case.labs == []
    assert any("another patient" in str(w) for w in result.warnings)


# -- Observations: labs and units -----------------------------------------------------------------


def test_labs_keep_value_unit_and_date() -> None:
    result = imported(
        lab("1988-5", 1.2, "mg/dL"),
        lab("4537-7", 48, "mm/h"),
        lab("6690-2", 11.2, "10*3/uL"),
        lab("1751-7", 31, "g/L"),
        lab("4548-4", 7.9, "%"),
        lab("59261-8", 63, "mmol/mol"),
        lab("62292-8", 40, "nmol/L"),
        lab("731-0", 1.1, "10*9/L"),
        lab("3034-6", 180, "mg/dL"),
        lab("14338-8", 14, "mg/dL"),
        lab("33959-8", 0.3, "ng/mL"),
    )
    labs = {(lab.test, lab.value, lab.unit) for lab in result.case.labs}
    assert ("crp", 1.2, "mg/dL") in labs
    assert ("hba1c", 63.0, "mmol/mol") in labs
    assert {lab.test for lab in result.case.labs} == {
        "crp",
        "esr",
        "wbc",
        "albumin",
        "hba1c",
        "vitamin_d",
        "total_lymphocyte_count",
        "transferrin",
        "prealbumin",
        "procalcitonin",
    }
    assert all(lab.date == dt.date(2026, 10, 20) for lab in result.case.labs)
    assert result.unmapped == [] and result.warnings == []


def test_hs_crp_is_not_used_for_infection_and_is_listed() -> None:
    result = imported(lab("30522-7", 2.0, "mg/L"))
    assert result.case.labs == []
    assert "30522-7" in unmapped_codes(result)
    assert any("hs-CRP" in str(w) for w in result.warnings)


def test_unknown_unit_is_refused_naming_resource_code_and_unit() -> None:
    bad = lab("1988-5", 5, "mmol/L")
    with pytest.raises(FhirParseError) as err:
        imported(bad)
    message = str(err.value)
    assert bad["id"] in message and "1988-5" in message and "'mmol/L'" in message
    assert err.value.path == "$.entry[1].resource.valueQuantity"
    assert isinstance(err.value, InputError)


def test_missing_unit_is_refused() -> None:
    bad = lab("1751-7", 3.1, "g/dL")
    bad["valueQuantity"] = {"value": 3.1}
    with pytest.raises(FhirParseError, match="no unit"):
        imported(bad)


def test_censored_value_is_not_used() -> None:
    censored = lab("1988-5", 5, "mg/L")
    censored["valueQuantity"]["comparator"] = "<"
    result = imported(censored)
    assert result.case.labs == []
    assert any("censored" in str(w) for w in result.warnings)


def test_unit_display_is_used_when_the_ucum_code_is_absent() -> None:
    obs = lab("1988-5", 12, "mg/L")
    obs["valueQuantity"] = {"value": 12, "unit": "mg/L"}
    assert imported(obs).case.labs[0].unit == "mg/L"


def test_weight_height_latest_wins() -> None:
    old = observation(
        "29463-7",
        valueQuantity={
            "value": 90,
            "unit": "kg",
            "system": "http://unitsofmeasure.org",
            "code": "kg",
        },
    )
    old["effectiveDateTime"] = "2020-01-01"
    new = observation(
        "29463-7",
        valueQuantity={
            "value": 180,
            "unit": "[lb_av]",
            "code": "[lb_av]",
            "system": "http://unitsofmeasure.org",
        },
    )
    height = observation("8302-2", valueQuantity={"value": 1.7, "unit": "m"})
    case = imported(new, old, height).case
    assert (case.patient.weight.value, case.patient.weight.unit) == (180, "[lb_av]")  # type: ignore[union-attr]
    assert case.patient.height.unit == "m"  # type: ignore[union-attr]


def test_smoking_pain_and_phq9() -> None:
    result = imported(
        observation("72166-2", valueCodeableConcept=coding(SNOMED, "77176002", "Smoker")),
        observation("72514-3", valueInteger=7),
        observation("72514-3", valueInteger=4, bodySite={"text": "Low back"}),
        observation("72514-3", valueInteger=8, bodySite={"text": "Left leg"}),
        observation("44261-6", valueInteger=12),
        observation("44260-8", valueCodeableConcept=coding(LOINC, "LA6569-3", "Several days")),
    )
    case = result.case
    assert case.comorbidities.smoking_status == "current"
    assert (case.symptoms.pain_nrs, case.symptoms.back_pain_nrs, case.symptoms.leg_pain_nrs) == (
        7,
        4,
        8,
    )
    assert (case.psychosocial.phq9_total, case.psychosocial.phq9_item9) == (12, 1)


def test_smoking_by_display_text_when_the_code_is_unknown() -> None:
    obs = observation("72166-2", valueCodeableConcept={"text": "Former smoker"})
    result = imported(obs)
    assert result.case.comorbidities.smoking_status == "former"
    assert any("keyword" in str(n) for n in result.notes)


def test_unmapped_observations_are_listed_with_counts() -> None:
    glucose = lab("15074-8", 6.3, "mmol/L")
    result = imported(glucose, lab("15074-8", 5.1, "mmol/L"))
    (item,) = result.unmapped
    assert (item.resource_type, item.code_system, item.code, item.count) == (
        "Observation",
        LOINC,
        "15074-8",
        2,
    )


# -- Conditions -----------------------------------------------------------------------------------


def test_conditions_map_to_comorbidities_and_notes() -> None:
    result = imported(
        condition(ICD10CM, "M96.1", "Postlaminectomy syndrome"),
        condition(ICD10CM, "M96.0", "Pseudarthrosis after fusion"),
        condition(ICD10CM, "M16.11", "Unilateral primary osteoarthritis, right hip"),
        condition(ICD10CM, "E11.42", "Type 2 diabetes mellitus with diabetic polyneuropathy"),
        condition(ICD10CM, "M797", "Fibromyalgia"),  # no dot: still matched
        condition(SNOMED, "35489007", "Depressive disorder", clinical="resolved"),
        condition(None, None, "Generalized anxiety disorder"),
        condition(None, None, "Malignant neoplasm of prostate", clinical="remission"),
        condition(None, None, "MRSA carrier"),
        condition(None, None, "History of deep vein thrombosis", clinical="resolved"),
        condition(
            ICD10CM, "I73.9", "Peripheral vascular disease", verification="refuted", clinical=None
        ),
    )
    co = result.case.comorbidities
    assert co.hip_osteoarthritis is True and co.diabetes is True
    assert co.peripheral_neuropathy is True and co.fibromyalgia is True
    assert co.depression is None  # resolved: not current, not false
    assert co.anxiety is True and co.mrsa_colonisation is True and co.prior_vte is True
    assert co.cancer == "history"
    assert co.peripheral_vascular_disease is False  # refuted
    notes = " ".join(str(n) for n in result.notes)
    assert "M96.1" in notes and "M96.0" in notes and "resolved" in notes
    assert "keyword" in notes


@pytest.mark.parametrize(
    "text",
    [
        "Prediabetes",
        "Diabetes insipidus",
        "Family history of diabetes mellitus",
        "Gestational diabetes",
    ],
)
def test_diabetes_keywords_do_not_overreach(text: str) -> None:
    result = imported(condition(None, None, text))
    assert result.case.comorbidities.diabetes is None
    assert any(u.display == text for u in result.unmapped)


def test_unconfirmed_and_entered_in_error_conditions_are_not_used() -> None:
    result = imported(
        condition(SNOMED, "44054006", "Type 2 diabetes mellitus", verification="provisional"),
        condition(ICD10CM, "M79.7", "Fibromyalgia", verification="entered-in-error"),
    )
    assert result.case.comorbidities.diabetes is None
    assert result.case.comorbidities.fibromyalgia is None
    assert len(result.notes) == 2


def test_conflicting_conditions_positive_wins_with_a_warning() -> None:
    result = imported(
        condition(SNOMED, "44054006", "Type 2 diabetes mellitus"),
        condition(SNOMED, "73211009", "Diabetes mellitus", verification="refuted", clinical=None),
    )
    assert result.case.comorbidities.diabetes is True
    assert any("conflicting" in str(w) for w in result.warnings)


def test_smoking_from_conditions_when_no_observation() -> None:
    result = imported(condition(ICD10CM, "Z87.891", "Personal history of nicotine dependence"))
    assert result.case.comorbidities.smoking_status == "former"


# -- Procedures -----------------------------------------------------------------------------------


def test_spine_surgeries_by_display_text() -> None:
    result = imported(
        procedure(
            "Posterior lumbar interbody fusion (PLIF) with pedicle screw instrumentation",
            sites=["L4-L5", "L5/S1"],
        ),
        procedure("Anterior cervical discectomy and fusion C5-6", when="2019-06-01"),
        procedure("Lumbar microdiscectomy L4-5", when="2015-02-03"),
        procedure("Laminectomy", when=None, complication=[{"text": "Incidental durotomy"}]),
    )
    fusion, acdf, disc, lami = result.case.surgeries
    assert (fusion.type, fusion.levels, fusion.region) == ("fusion", ["L4-L5", "L5-S1"], "lumbar")
    assert (fusion.approach, fusion.interbody, fusion.instrumented) == ("posterior", True, True)
    assert fusion.date == dt.date(2022, 3, 14)
    assert (acdf.type, acdf.region, acdf.approach, acdf.levels) == (
        "fusion",
        "cervical",
        "anterior",
        ["C5-C6"],
    )
    assert (disc.type, disc.levels) == ("discectomy", ["L4-L5"])
    assert lami.date is None and lami.complications == ["dural_tear"]
    assert sum("display text" in str(n) for n in result.notes) == 4


@pytest.mark.parametrize(
    "text", ["Transfusion of red blood cells", "Arthrodesis of ankle", "Electrical cardioversion"]
)
def test_non_spine_procedures_are_only_listed(text: str) -> None:
    result = imported(procedure(text))
    assert result.case.surgeries == []
    assert any(u.display == text for u in result.unmapped)


def test_procedure_not_done_is_not_a_prior_surgery() -> None:
    result = imported(procedure("Spinal fusion L4-L5", status="not-done"))
    assert result.case.surgeries == []
    assert any("not-done" in str(w) for w in result.warnings)


# -- Allergies ------------------------------------------------------------------------------------


def test_allergies_substance_reaction_and_severity() -> None:
    result = imported(
        allergy("Penicillin G", "Anaphylaxis", "severe"),
        allergy("Cefazolin", "Hives"),
        allergy("Amoxicillin", criticality="high"),
        allergy("Peanut", "Urticaria"),
    )
    a = result.case.allergies
    assert a is not None
    assert (a[0].substance, a[0].reaction, a[0].severity) == ("penicillin", "anaphylaxis", "severe")
    assert (a[1].substance, a[1].reaction) == ("cephalosporin", "urticaria")
    assert (a[2].substance, a[2].severity) == ("penicillin", "severe")
    assert a[3].substance == "other"
    assert any(u.display == "Peanut" for u in result.unmapped)


def test_no_known_allergies_and_refuted_allergy_give_an_empty_list() -> None:
    delabelled = allergy(
        "Penicillin",
        verificationStatus={"coding": [{"code": "refuted"}]},
    )
    result = imported(allergy("No known drug allergies"), delabelled)
    assert result.case.allergies == []


def test_no_allergy_resource_means_not_recorded() -> None:
    assert imported().case.allergies is None


# -- Medications ----------------------------------------------------------------------------------


def test_opioids_and_anticoagulants() -> None:
    result = imported(
        medication("Oxycodone hydrochloride 10 MG Oral Tablet"),
        medication("Warfarin Sodium 5 MG Oral Tablet", kind="MedicationRequest"),
        medication("Clopidogrel 75 MG", status="stopped", kind="MedicationRequest"),
    )
    assert result.case.psychosocial.daily_opioid_use is True
    warnings = " ".join(str(w) for w in result.warnings)
    assert "anticoagulant" in warnings and "Warfarin" in warnings
    assert "Clopidogrel" not in warnings


def test_prn_opioid_is_not_daily_use_and_not_taken_is_false() -> None:
    prn = medication("Tramadol 50 mg", dosage=[{"asNeededBoolean": True}])
    assert imported(prn).case.psychosocial.daily_opioid_use is None
    assert (
        imported(
            medication("Opioid analgesic", status="not-taken")
        ).case.psychosocial.daily_opioid_use
        is False
    )


def test_medication_reference_is_resolved() -> None:
    med = {
        "resourceType": "Medication",
        "id": "m1",
        "code": coding(
            "http://www.nlm.nih.gov/research/umls/rxnorm", "0", "Morphine sulfate 15 MG"
        ),
    }
    request = {
        "resourceType": "MedicationRequest",
        "id": "mr1",
        "status": "active",
        "intent": "order",
        "medicationReference": {"reference": "Medication/m1"},
        "subject": SUBJECT,
    }
    result = imported(med, request)
    assert result.case.psychosocial.daily_opioid_use is True
    assert result.unmapped == []


# -- Unmapped resource types and malformed bundles ------------------------------------------------


def test_other_resource_types_are_counted() -> None:
    enc = {"resourceType": "Encounter", "id": "e1", "status": "finished"}
    result = imported(enc, dict(enc, id="e2"))
    assert [(u.resource_type, u.count) for u in result.unmapped] == [("Encounter", 2)]


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ([], "$", "Bundle object"),
        ({"resourceType": "Patient"}, "$.resourceType", "expected 'Bundle'"),
        ({"resourceType": "Bundle", "type": "nonsense"}, "$.type", "not supported"),
        ({"resourceType": "Bundle", "type": "collection", "entry": {}}, "$.entry", "array"),
        (
            {"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "x"}]},
            "$.entry[0].resource",
            "no resource",
        ),
        (
            {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"id": "x"}}]},
            "$.entry[0].resource.resourceType",
            "resourceType",
        ),
        ({"resourceType": "Bundle", "type": "collection", "entry": ["x"]}, "$.entry[0]", "object"),
    ],
)
def test_malformed_bundles_name_the_path(data: Any, path: str, message: str) -> None:
    with pytest.raises(FhirParseError, match=message) as err:
        bundle_to_case(data)
    assert err.value.path == path
    assert str(err.value).startswith(path)


@pytest.mark.parametrize("bad", ["2026-13-01", "yesterday", "2026-02-30T10:00:00Z"])
def test_bad_dates_name_the_path(bad: str) -> None:
    obs = lab("1988-5", 3, "mg/L")
    obs["effectiveDateTime"] = bad
    with pytest.raises(FhirParseError) as err:
        imported(obs)
    assert err.value.path == "$.entry[1].resource.effectiveDateTime"


def test_bad_birth_date_names_the_path() -> None:
    with pytest.raises(FhirParseError) as err:
        bundle_to_case(bundle(patient(birth="1966-02-31")))
    assert err.value.path == "$.entry[0].resource.birthDate"


def test_parse_bundle_refuses_invalid_json() -> None:
    with pytest.raises(FhirParseError, match="not valid JSON"):
        parse_bundle(b'{"resourceType": "Bundle",')


def test_missing_bundle_type_is_read_with_a_warning() -> None:
    data = bundle(patient())
    del data["type"]
    result = bundle_to_case(data)
    assert any("Bundle.type" in str(w) for w in result.warnings)


def test_validate_true_checks_the_r4_models() -> None:
    bad = bundle(patient())
    bad["entry"][0]["resource"]["gender"] = 7
    with pytest.raises(FhirParseError, match="not valid FHIR R4"):
        bundle_to_case(bad, validate=True)
