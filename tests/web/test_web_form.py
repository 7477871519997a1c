"""The structured case form as a pure mapping: form values ↔ case document, problems next to
their controls, questionnaire scores. Absent stays absent: an empty control is never a "no"."""

from __future__ import annotations

import json
import types
import typing
from typing import Any, get_args, get_origin

import pytest
from pydantic import BaseModel
from webtools import example, example_names

from revspine.casefile import load_case_data
from revspine.domain.case import Case, Quantity
from revspine.errors import CaseValidationError
from revspine.web import form

pytestmark = pytest.mark.req("REQ-503")


def _case(data: dict[str, Any]) -> Case:
    return load_case_data(json.loads(json.dumps(data, default=str)), "test")


def _document(case: Case) -> dict[str, Any]:
    return case.model_dump(mode="json", by_alias=True, exclude_unset=True)


# -- round trip -------------------------------------------------------------------------------
@pytest.mark.req("REQ-102", "HAZ-003")
@pytest.mark.parametrize("name", example_names())
def test_every_example_survives_the_form_unchanged(name: str) -> None:
    case = _case(example(name))
    values = form.from_case(_document(case))
    assert _case(form.to_case(form.normalise(values))) == case


def _model_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for name, info in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        annotation = info.annotation
        if get_origin(annotation) in (typing.Union, types.UnionType):
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        inner, marker = annotation, ""
        if get_origin(annotation) is list:
            inner, marker = get_args(annotation)[0], "[]"
        if isinstance(inner, type) and issubclass(inner, BaseModel) and inner is not Quantity:
            paths |= _model_paths(inner, path + marker)
        else:
            paths.add(path)
    return paths


def _form_paths() -> set[str]:
    paths: set[str] = set()
    for section in form.SECTIONS:
        row = f"{section.key}[]" if section.repeat else section.key
        paths |= {f"{row}.{f.key}" if row else f.key for f in section.fields}
        if section.sub is not None:
            paths |= {f"{row}.{section.sub.key}[].{f.key}" for f in section.sub.fields}
    return paths


def test_the_form_has_a_control_for_every_field_of_the_case_model() -> None:
    """Editing in the form must not drop a field it cannot show."""
    assert _model_paths(Case) - {"schema_version"} == _form_paths()


# -- unknown stays absent ---------------------------------------------------------------------
@pytest.mark.req("REQ-102", "HAZ-003")
def test_an_empty_form_is_an_empty_case() -> None:
    values = {name: "" for name in form.control_names({})}
    assert form.to_case(values) == {}


@pytest.mark.req("REQ-102", "HAZ-003")
def test_three_valued_findings_keep_unknown_absent() -> None:
    doc = form.to_case({"symptoms.fever": "yes", "symptoms.chills": "no", "symptoms.numbness": ""})
    assert doc == {"symptoms": {"fever": True, "chills": False}}
    assert form.from_case(doc) == {"symptoms.fever": "yes", "symptoms.chills": "no"}


@pytest.mark.req("REQ-102", "HAZ-003")
def test_not_recorded_and_none_are_different_for_lists_that_may_be_unknown() -> None:
    assert "allergies" not in form.to_case({"allergies#state": ""})
    assert form.to_case({"allergies#state": "none"})["allergies"] == []
    listed = form.to_case({"allergies#state": "", "allergies[0].substance": "penicillin"})
    assert listed["allergies"] == [{"substance": "penicillin"}]
    assert form.from_case({"allergies": []}) == {"allergies#state": "none"}
    assert form.from_case({}) == {}
    study = {"imaging[0].modality": "mri", "imaging[0].findings#state": ""}
    assert form.to_case(study)["imaging"] == [{"modality": "mri"}]  # report not recorded
    study["imaging[0].findings#state"] = "none"
    assert form.to_case(study)["imaging"] == [{"modality": "mri", "findings": []}]
    assert form.to_case({"symptoms.dermatomes": "none"}) == {"symptoms": {"dermatomes": []}}
    assert form.to_case({"symptoms.dermatomes": ""}) == {}


@pytest.mark.req("REQ-102", "HAZ-003")
def test_an_examination_is_absent_unless_documented_or_filled() -> None:
    assert form.to_case({"exam#state": ""}) == {}
    assert form.to_case({"exam#state": "documented"}) == {"exam": {}}
    assert form.to_case({"exam.wound": "healed"}) == {"exam": {"wound": "healed"}}
    assert form.from_case({"exam": {}}) == {"exam#state": "documented"}


@pytest.mark.req("REQ-102", "HAZ-003")
def test_questionnaires_keep_unanswered_items_unanswered() -> None:
    values = {f"proms[0].odi_answers[{k}]": str(k % 6) for k in range(8)}
    doc = form.to_case(values)
    assert doc["proms"][0]["odi_answers"] == [0, 1, 2, 3, 4, 5, 0, 1, None, None]
    assert "proms" not in form.to_case({"proms[0].odi_answers[0]": ""})
    assert form.from_case(doc) == values


def test_blank_rows_are_dropped_and_problems_name_the_rows_on_the_page() -> None:
    values = {
        "labs[0].test": "",
        "labs[0].value": "",
        "labs[3].test": "crp",
        "labs[3].value": "12",
        "labs[3].unit": "parsecs",
        "labs[5].unit": "mg/L",  # a unit alone is a blank row
    }
    paths: form.PathMap = {}
    doc = form.to_case(values, paths)
    assert doc == {"labs": [{"test": "crp", "value": 12.0, "unit": "parsecs"}]}
    with pytest.raises(CaseValidationError) as raised:
        load_case_data(doc, "form")
    [problem] = raised.value.problems
    assert problem.path == "labs[0].unit"
    assert form.control_path(problem.path, paths) == "labs[3].unit"


def test_rows_inside_rows_map_back_to_their_controls() -> None:
    values = {
        "imaging[2].modality": "mri",
        "imaging[2].findings[4].finding": "recurrent_herniation",
        "imaging[2].findings[4].levels": "L4/5",
    }
    paths: form.PathMap = {}
    doc = form.to_case(values, paths)
    assert doc["imaging"][0]["findings"] == [
        {"finding": "recurrent_herniation", "levels": ["L4-5"]}
    ]
    assert (
        form.control_path("imaging[0].findings[0].levels[0]", paths)
        == "imaging[2].findings[4].levels[0]"
    )


# -- typed text -------------------------------------------------------------------------------
def test_numbers_lists_and_quantities_are_read_from_text() -> None:
    doc = form.to_case(
        {
            "patient.age": "45",
            "patient.weight.value": "82,5",
            "patient.weight.unit": "kg",
            "patient.height.value": "",
            "patient.height.unit": "cm",
            "surgeries[0].type": "fusion",
            "surgeries[0].levels": "L4 - L5; L5/S1",
            "surgeries[0].complications#infection": "on",
        }
    )
    assert doc == {
        "patient": {"age": 45, "weight": {"value": 82.5, "unit": "kg"}},
        "surgeries": [
            {"type": "fusion", "levels": ["L4-L5", "L5-S1"], "complications": ["infection"]}
        ],
    }
    case = _case(doc)
    assert case.surgeries[0].levels == ["L4-L5", "L5-S1"]


def test_unreadable_text_is_passed_on_so_the_model_names_the_field() -> None:
    doc = form.to_case({"patient.age": "4x", "symptoms.fever": "maybe", "labs[0].value": "high"})
    with pytest.raises(CaseValidationError) as raised:
        load_case_data(doc, "form")
    paths = {p.path for p in raised.value.problems}
    assert {"patient.age", "symptoms.fever", "labs[0].value"} <= paths


# -- problems next to controls ----------------------------------------------------------------
def test_problems_are_placed_at_their_control_or_the_nearest_one() -> None:
    values = {"labs[0].test": "crp", "labs[2].test": "esr", "patient.weight.value": "80"}
    names = form.control_names(values)
    placed = form.place_problems(
        [
            {"path": "labs[2].unit", "message": "unknown unit"},
            {"path": "patient.weight", "message": "not a weight unit"},
            {"path": "proms[0].odi_answers", "message": "10 items"},
            {"path": "(root)", "message": "odd"},
        ],
        names,
    )
    assert placed.by_control["labs[2].unit"] == ["unknown unit"]
    assert placed.by_control["patient.weight.value"] == ["not a weight unit"]
    assert placed.general == [
        {"path": "proms[0].odi_answers", "message": "10 items"},
        {"path": "(root)", "message": "odd"},
    ]
    assert [p["control"] for p in placed.summary] == [
        "labs[2].unit",
        "patient.weight.value",
        "",
        "",
    ]
    assert form.control_id("labs[2].unit") == "f-labs-2-unit"


# -- scores and units -------------------------------------------------------------------------
def test_questionnaires_are_scored_by_the_scoring_module() -> None:
    values = {f"proms[1].odi_answers[{k}]": "2" for k in range(10)}
    values |= {f"proms[1].phq9_answers[{k}]": "1" for k in range(9)}
    values["proms[4].odi_answers[0]"] = "5"
    scores = form.prom_scores(values)
    assert scores["proms[1]"]["odi"] == "ODI 40 % (moderate)"
    assert scores["proms[1]"]["phq9"].startswith("PHQ-9 9 (mild)")
    assert "item 9 positive" in scores["proms[1]"]["phq9"]
    assert (scores["proms[1]"]["phq9_total"], scores["proms[1]"]["phq9_item9"]) == ("9", "1")
    assert scores["proms[4]"]["odi"] == "ODI not valid: 1 of 10 sections answered"
    eight = {f"proms[0].odi_answers[{k}]": "5" for k in range(8)}
    assert form.prom_scores(eight)["proms[0]"]["odi"] == "ODI 100 % (bed bound, 8 of 10 answered)"
    assert form.prom_scores(eight, odi_max_missing=1)["proms[0]"]["odi"].startswith("ODI not valid")


@pytest.mark.req("REQ-107", "HAZ-001")
def test_unit_menus_offer_the_known_units_and_keep_an_unusual_one() -> None:
    assert form.unit_options("crp") == ["mg/L", "mg/dL"]
    assert form.unit_options("crp", "ug/mL") == ["mg/L", "mg/dL", "ug/mL"]
    assert form.unit_options("weight")[0] == "kg"
    assert dict(form.FormView().unit_choices("wbc", ""))["10*3/uL"] == "10³/µL"
    units = form.lab_units_map()
    assert set(units) == set(form.LAB_TESTS) and units["hba1c"][0] == ["%", "%"]
