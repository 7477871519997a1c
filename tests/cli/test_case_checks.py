"""Temporal and consistency checks (revspine.domain.checks)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from revspine.domain.case import Case
from revspine.domain.checks import check_case

pytestmark = pytest.mark.req("REQ-206", "REQ-108", "HAZ-015")

AS_OF = date(2026, 1, 10)
FUTURE = "2026-02-01"


def _check(data: dict[str, Any], as_of: date = AS_OF) -> dict[str, str]:
    return {p.path: p.message for p in check_case(Case.model_validate(data), as_of)}


def test_clean_case_has_no_problems() -> None:
    data = {
        "assessment_date": "2026-01-10",
        "patient": {"age": 60, "birth_date": "1965-06-01", "weight": "80 kg", "height": "1.7 m"},
        "surgeries": [{"date": "2024-01-01", "type": "fusion"}],
    }
    assert _check(data) == {}


def test_every_future_date_is_named() -> None:
    data = {
        "assessment_date": "2026-01-10",
        "surgeries": [{"date": FUTURE, "type": "fusion"}],
        "symptoms": {"onset_date": FUTURE},
        "comorbidities": {"smoking_status": "former", "smoking_quit_date": FUTURE},
        "psychosocial": {"evaluation": {"date": FUTURE, "outcome": "treat_first"}},
        "exam": {"date": FUTURE},
        "imaging": [{"modality": "ct", "date": FUTURE}],
        "labs": [{"test": "crp", "value": 3, "unit": "mg/L", "date": FUTURE}],
        "blocks": [{"type": "facet", "date": FUTURE}],
        "electrodiagnostics": [{"date": FUTURE, "result": "normal"}],
        "evaluations": {"hip": {"date": FUTURE, "result": "normal"}},
        "proms": [{"date": FUTURE}],
    }
    problems = _check(data)
    assert sorted(problems) == sorted(
        [
            "surgeries[0].date",
            "symptoms.onset_date",
            "comorbidities.smoking_quit_date",
            "psychosocial.evaluation.date",
            "exam.date",
            "imaging[0].date",
            "labs[0].date",
            "blocks[0].date",
            "electrodiagnostics[0].date",
            "evaluations.hip.date",
            "proms[0].date",
        ]
    )
    assert problems["labs[0].date"] == (
        "2026-02-01 is in the future (after the assessment date 2026-01-10)"
    )


def test_the_as_of_day_itself_is_not_the_future() -> None:
    assert _check({"surgeries": [{"date": "2026-01-10", "type": "discectomy"}]}) == {}


def test_assessment_date_is_not_checked_against_as_of() -> None:
    assert _check({"assessment_date": "2026-06-01"}) == {}


def test_dates_before_birth() -> None:
    data = {
        "assessment_date": "1980-01-01",
        "patient": {"birth_date": "1990-05-01"},
        "surgeries": [{"date": "1989-01-01", "type": "discectomy"}],
        "labs": [{"test": "crp", "value": 3, "unit": "mg/L", "date": "1985-01-01"}],
    }
    problems = _check(data, date(2026, 1, 10))
    assert problems["surgeries[0].date"].startswith(
        "surgery 1989-01-01 is before the patient's birth"
    )
    assert "labs[0].date" in problems
    assert "assessment_date" in problems


def test_future_birth_date() -> None:
    assert "patient.birth_date" in _check({"patient": {"birth_date": "2030-01-01"}})


@pytest.mark.parametrize(
    ("age", "ok"), [(60, True), (59, True), (61, True), (58, False), (63, False)]
)
def test_age_against_birth_date(age: int, ok: bool) -> None:
    # Born 1965-06-01 → 60 on 2026-01-10.
    problems = _check({"patient": {"age": age, "birth_date": "1965-06-01"}})
    assert ("patient.age" not in problems) is ok


@pytest.mark.req("REQ-107", "HAZ-001")
@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"patient": {"weight": "12 stone"}}, "patient.weight"),
        ({"patient": {"height": "170 kg"}}, "patient.height"),
        (
            {
                "imaging": [
                    {"modality": "standing_full_spine_xray", "spinopelvic": {"sva": "5 furlong"}}
                ]
            },
            "imaging[0].spinopelvic.sva",
        ),
    ],
)
def test_quantity_units(data: dict[str, Any], path: str) -> None:
    from revspine.casefile import load_case_data
    from revspine.errors import CaseValidationError

    with pytest.raises(CaseValidationError) as exc:
        load_case_data(data, "case")
    assert path in [p.path for p in exc.value.problems]


def test_non_finite_numbers() -> None:
    from revspine.casefile import load_case_data
    from revspine.errors import CaseValidationError

    with pytest.raises(CaseValidationError) as exc:
        load_case_data({"labs": [{"test": "crp", "value": float("nan"), "unit": "mg/L"}]}, "case")
    assert [p.path for p in exc.value.problems] == ["labs[0].value"]


def test_contradictions() -> None:
    problems = _check(
        {
            "symptoms": {"weakness": False, "weakness_progressive": True},
            "comorbidities": {"smoking_status": "never", "smoking_quit_date": "2020-01-01"},
        }
    )
    assert set(problems) == {"symptoms.weakness_progressive", "comorbidities.smoking_quit_date"}
