"""Bad input is refused with the offending field path, never silently used (issue 2, item 8).

Structural problems (unknown units, wrong types, unknown fields, out-of-range scores, bad
segments, an ODI without its 10 answers) are pydantic ``ValidationError``s whose location names
the field. A well-formed but physiologically implausible value (albumin 35 g/dL) parses, and the
assessment flags it and treats it exactly as if it were absent.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from revspine import Assessment, Case, assess

pytestmark = pytest.mark.req("REQ-206")

AS_OF = dt.date(2026, 11, 1)


def _case(**sections: Any) -> dict[str, Any]:
    """A minimal valid case dict with ``sections`` merged in."""
    return {"assessment_date": AS_OF.isoformat(), **sections}


def _lab(**fields: Any) -> dict[str, Any]:
    return {"test": "albumin", "value": 3.1, "unit": "g/dL", "date": "2026-10-20", **fields}


def _locs(data: dict[str, Any]) -> list[str]:
    """The dotted locations of every validation error (``labs.0.unit``)."""
    with pytest.raises(ValidationError) as info:
        Case.model_validate(data)
    return [".".join(str(p) for p in err["loc"]) for err in info.value.errors()]


def _assert_rejected(data: dict[str, Any], field: str) -> None:
    locs = _locs(data)
    assert any(loc == field or loc.startswith(field + ".") for loc in locs), (field, locs)


@pytest.mark.req("REQ-102")
def test_the_minimal_case_is_valid() -> None:
    Case.model_validate(_case())


# --------------------------------------------------------------------------------------------
# Units
# --------------------------------------------------------------------------------------------


@pytest.mark.req("REQ-107", "HAZ-001")
@pytest.mark.parametrize(
    ("lab", "field"),
    [
        (_lab(unit="mg/dl"), "labs.0"),  # UCUM is case-sensitive: mg/dl is not mg/dL
        (_lab(unit="furlongs"), "labs.0"),
        (_lab(test="crp", unit="mmol/L"), "labs.0"),  # molar CRP needs a molar mass
        (_lab(test="hba1c", unit="g/dL"), "labs.0"),  # HbA1c: % or mmol/mol only
        (_lab(unit=""), "labs.0.unit"),
    ],
)
def test_unknown_or_incompatible_lab_unit_is_rejected(lab: dict[str, Any], field: str) -> None:
    _assert_rejected(_case(labs=[lab]), field)


@pytest.mark.req("REQ-107", "HAZ-001")
def test_lab_unit_error_says_what_was_expected() -> None:
    with pytest.raises(ValidationError) as info:
        Case.model_validate(_case(labs=[_lab(unit="mg/dl")]))
    text = str(info.value)
    assert "mg/dl" in text
    assert "g/dL" in text  # the known units are listed


@pytest.mark.req("REQ-107", "HAZ-001")
@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"patient": {"weight": "80 stone"}}, "patient.weight"),
        ({"patient": {"height": {"value": 178, "unit": "kg"}}}, "patient.height"),
        (
            {
                "imaging": [
                    {"modality": "standing_full_spine_xray", "spinopelvic": {"sva": "6 deg"}}
                ]
            },
            "imaging.0.spinopelvic.sva",
        ),
    ],
)
def test_unknown_body_or_length_unit_is_rejected(section: dict[str, Any], field: str) -> None:
    _assert_rejected(_case(**section), field)


# --------------------------------------------------------------------------------------------
# Types, unknown fields, ranges
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"symptoms": {"fever": "sometimes"}}, "symptoms.fever"),
        ({"patient": {"age": "forty"}}, "patient.age"),
        ({"surgeries": {"type": "fusion"}}, "surgeries"),  # a mapping where a list is expected
        ({"surgeries": [{"type": "fusion", "date": "last spring"}]}, "surgeries.0.date"),
        ({"labs": [_lab(value="high")]}, "labs.0.value"),
        ({"imaging": [{"modality": "pet"}]}, "imaging.0.modality"),
        (
            {"imaging": [{"modality": "mri", "findings": [{"finding": "tumour"}]}]},
            "imaging.0.findings.0.finding",
        ),
        ({"exam": {"straight_leg_raise": True}}, "exam.straight_leg_raise"),
        ({"allergies": "penicillin"}, "allergies"),
    ],
)
def test_wrong_type_is_rejected(section: dict[str, Any], field: str) -> None:
    _assert_rejected(_case(**section), field)


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"diagnosis": "FBSS"}, "diagnosis"),
        ({"symptoms": {"feverish": True}}, "symptoms.feverish"),
        ({"labs": [_lab(units="g/dL")]}, "labs.0"),
        ({"surgeries": [{"type": "fusion", "level": "L4-L5"}]}, "surgeries.0.level"),
    ],
)
def test_unknown_field_is_rejected(section: dict[str, Any], field: str) -> None:
    _assert_rejected(_case(**section), field)


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"symptoms": {"pain_nrs": 11}}, "symptoms.pain_nrs"),
        ({"symptoms": {"leg_pain_nrs": -1}}, "symptoms.leg_pain_nrs"),
        ({"proms": [{"nrs_back": 12}]}, "proms.0.nrs_back"),
        ({"blocks": [{"type": "si_joint", "pre_nrs": 11}]}, "blocks.0.pre_nrs"),
        ({"blocks": [{"type": "si_joint", "percent_relief": 120}]}, "blocks.0.percent_relief"),
        ({"psychosocial": {"phq9_total": 28}}, "psychosocial.phq9_total"),
        ({"patient": {"age": 130}}, "patient.age"),
    ],
)
def test_out_of_range_score_is_rejected(section: dict[str, Any], field: str) -> None:
    _assert_rejected(_case(**section), field)


# --------------------------------------------------------------------------------------------
# Segments and roots
# --------------------------------------------------------------------------------------------


@pytest.mark.req("HAZ-004")
@pytest.mark.parametrize("segment", ["L4-L6", "X1", "L4", "L5-L4", "L3-L5", "S1-S2", ""])
def test_bad_segment_is_rejected(segment: str) -> None:
    _assert_rejected(
        _case(surgeries=[{"type": "discectomy", "levels": [segment]}]), "surgeries.0.levels.0"
    )


@pytest.mark.req("HAZ-004")
def test_bad_segment_in_a_finding_is_rejected() -> None:
    study = {
        "modality": "mri",
        "findings": [{"finding": "recurrent_herniation", "levels": ["L4-L6"]}],
    }
    _assert_rejected(_case(imaging=[study]), "imaging.0.findings.0.levels.0")


@pytest.mark.req("HAZ-004")
@pytest.mark.parametrize("root", ["L6", "X1", "L4-L5"])
def test_bad_root_is_rejected(root: str) -> None:
    _assert_rejected(_case(symptoms={"dermatomes": [root]}), "symptoms.dermatomes.0")


@pytest.mark.req("HAZ-004")
@pytest.mark.parametrize(
    ("written", "normalised"), [("L4/5", "L4-L5"), ("l5-s1", "L5-S1"), ("L4-5", "L4-L5")]
)
def test_common_segment_spellings_are_normalised(written: str, normalised: str) -> None:
    case = Case.model_validate(_case(surgeries=[{"type": "discectomy", "levels": [written]}]))
    assert case.surgeries[0].levels == [normalised]


# --------------------------------------------------------------------------------------------
# Instruments
# --------------------------------------------------------------------------------------------


@pytest.mark.req("REQ-026")
@pytest.mark.parametrize("n", [9, 11, 0])
def test_odi_needs_exactly_ten_answers(n: int) -> None:
    _assert_rejected(_case(proms=[{"odi_answers": [2] * n}]), "proms.0.odi_answers")


def test_odi_answer_out_of_range_is_rejected() -> None:
    _assert_rejected(_case(proms=[{"odi_answers": [2] * 9 + [6]}]), "proms.0.odi_answers.9")


@pytest.mark.req("REQ-026")
def test_phq9_needs_exactly_nine_answers() -> None:
    _assert_rejected(_case(proms=[{"phq9_answers": [1] * 10}]), "proms.0.phq9_answers")


def test_every_offending_field_is_reported_at_once() -> None:
    locs = _locs(
        _case(
            symptoms={"pain_nrs": 11},
            labs=[_lab(unit="mg/dl")],
            surgeries=[{"type": "discectomy", "levels": ["L4-L6"]}],
            proms=[{"odi_answers": [1] * 9}],
        )
    )
    for field in ("symptoms.pain_nrs", "labs.0", "surgeries.0.levels.0", "proms.0.odi_answers"):
        assert any(loc.startswith(field) for loc in locs), (field, locs)


# --------------------------------------------------------------------------------------------
# Implausible values are flagged and not used
# --------------------------------------------------------------------------------------------

#: Two prior surgeries, so the nutrition screen (albumin, transferrin) applies (RULE-N1).
_TWO_SURGERIES = _case(
    surgeries=[
        {"type": "discectomy", "date": "2022-02-01", "levels": ["L4-L5"]},
        {"type": "discectomy", "date": "2024-03-10", "levels": ["L4-L5"]},
    ],
    symptoms={"course": "pain_free_interval", "radicular_pain": True, "dermatomes": ["L5"]},
)


def _with_albumin(value: float, unit: str) -> dict[str, Any]:
    data = copy.deepcopy(_TWO_SURGERIES)
    data["labs"] = [{"test": "albumin", "value": value, "unit": unit, "date": "2026-10-20"}]
    return data


def _run(data: dict[str, Any]) -> Assessment:
    return assess(Case.model_validate(data), as_of=AS_OF)


def _decisions(a: Assessment) -> dict[str, Any]:
    return {
        "disposition": a.disposition.code,
        "workup": [(w.test, w.priority, w.blocks_decision) for w in a.workup],
        "differential": [(c.cause, c.likelihood) for c in a.differential],
        "plans": [
            (r.code, r.status)
            for r in [*a.optimisation, *a.surgical_planning, *a.postop_orders, *a.nonsurgical_plan]
        ],
    }


@pytest.mark.req("REQ-109", "HAZ-008")
def test_implausible_albumin_is_flagged() -> None:
    a = _run(_with_albumin(35, "g/dL"))
    flagged = [w for w in a.warnings if w.code == "implausible_value"]
    assert [w.field for w in flagged] == ["labs[0]"]
    assert "35" in flagged[0].message


@pytest.mark.req("REQ-109", "HAZ-008", "REQ-102")
def test_implausible_albumin_is_treated_as_unknown() -> None:
    """Albumin 35 g/dL is neither low nor normal: the advice is the same as with no albumin at
    all (albumin still ordered), and no item cites the value."""
    implausible = _run(_with_albumin(35, "g/dL"))
    absent = _run(_TWO_SURGERIES)
    assert _decisions(implausible) == _decisions(absent)
    assert "albumin" in {w.test for w in implausible.workup}
    cited = [
        f.field
        for item in [*implausible.workup, *implausible.optimisation, *implausible.postop_orders]
        for f in item.facts
    ]
    assert "labs[0]" not in cited


@pytest.mark.req("REQ-107", "REQ-109", "HAZ-001")
def test_the_same_number_in_a_plausible_unit_is_used() -> None:
    """35 g/L is 3.5 g/dL: plausible, current and used, so albumin is no longer ordered."""
    a = _run(_with_albumin(35, "g/L"))
    assert not [w for w in a.warnings if w.code == "implausible_value"]
    assert "albumin" not in {w.test for w in a.workup}


# --------------------------------------------------------------------------------------------
# Impossible dates are reported with their path
# --------------------------------------------------------------------------------------------


@pytest.mark.req("HAZ-015")
def test_future_and_pre_birth_dates_are_reported() -> None:
    from revspine.domain.checks import check_case

    case = Case.model_validate(
        _case(
            patient={"birth_date": "1980-01-01"},
            surgeries=[
                {"type": "fusion", "date": "2027-01-01"},
                {"type": "discectomy", "date": "1975-06-01"},
            ],
            labs=[_lab(date="2026-12-01")],
        )
    )
    paths = {p.path for p in check_case(case, AS_OF)}
    assert paths == {"surgeries[0].date", "surgeries[1].date", "labs[0].date"}


@pytest.mark.req("REQ-108", "HAZ-015", "HAZ-002")
def test_future_lab_is_not_used_by_the_engine() -> None:
    a = _run(_with_albumin(3.9, "g/dL") | {"labs": [_lab(value=3.9, date="2026-12-01")]})
    assert ("future_date", "labs[0]") in {(w.code, w.field) for w in a.warnings}
    assert "albumin" in {w.test for w in a.workup}


@pytest.mark.req("REQ-108", "HAZ-015")
def test_future_surgery_is_flagged_and_not_used_by_the_engine() -> None:
    """``assess`` is public API: a surgery dated after ``as_of`` must not become the "last
    surgery" (negative days since surgery, window W0) without a word."""
    a = _run(_case(surgeries=[{"type": "fusion", "date": "2027-01-01", "levels": ["L4-L5"]}]))
    flagged = {(w.code, w.field) for w in a.warnings}
    assert flagged & {("future_date", "surgeries[0]"), ("future_date", "surgeries[0].date")}, (
        flagged
    )
    assert a.derived.days_since_last_surgery is None or a.derived.days_since_last_surgery >= 0
