"""Temporal and consistency checks on a validated case, relative to the assessment date.

The case model validates each field on its own; these checks look across fields and against
``as_of`` (the date of the assessment). They are pure: ``as_of`` is an argument, the clock is never
read. Each problem names the offending field path (``surgeries[0].date``, ``patient.age``) and says
what is wrong, so that the case can be corrected rather than silently misread:

* any date after ``as_of`` is **in the future** (a typo, or data the assessment cannot have had);
  ``assessment_date`` itself is exempt — it is the date ``as_of`` defaults to;
* any date before ``patient.birth_date`` (a surgery, a lab, an imaging study, or the
  assessment date itself) is impossible;
* ``patient.age`` that differs by more than one year from the age computed from
  ``patient.birth_date`` on ``as_of`` is contradictory;
* a number that is not finite (``.nan``, ``.inf`` in YAML) is rejected;
* plain contradictions the rules would otherwise have to guess about: progressive weakness
  recorded while weakness is recorded as absent; a smoking quit date for a never-smoker.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date

from pydantic import BaseModel

from revspine.domain.case import Case
from revspine.errors import FieldProblem

__all__ = ["check_case", "contradictions"]

_EXEMPT_FROM_FUTURE = frozenset({"assessment_date"})
_AGE_TOLERANCE_YEARS = 1


def check_case(case: Case, as_of: date) -> list[FieldProblem]:
    """Every temporal or cross-field inconsistency in ``case`` as of ``as_of`` (empty if none)."""
    problems: list[FieldProblem] = []
    birth = case.patient.birth_date
    for path, value in _leaves(case):
        if isinstance(value, date):
            problems.extend(_check_date(path, value, as_of, birth))
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append(FieldProblem(path, f"{value} is not a finite number"))
    problems.extend(_check_age(case, as_of))
    problems.extend(contradictions(case))
    return problems


def _leaves(model: BaseModel, prefix: str = "") -> Iterator[tuple[str, object]]:
    """(path, value) for every scalar in the model tree, paths like ``labs[2].date``."""
    for name in type(model).model_fields:
        path = f"{prefix}.{name}" if prefix else name
        yield from _visit(getattr(model, name), path)


def _visit(value: object, path: str) -> Iterator[tuple[str, object]]:
    if isinstance(value, BaseModel):
        yield from _leaves(value, path)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _visit(item, f"{path}[{i}]")
    else:
        yield path, value


def _check_date(path: str, value: date, as_of: date, birth: date | None) -> list[FieldProblem]:
    """A date after ``as_of`` is in the future; a date before birth is impossible."""
    problems = []
    if value > as_of and path not in _EXEMPT_FROM_FUTURE:
        problems.append(
            FieldProblem(
                path,
                f"{value.isoformat()} is in the future (after the assessment date {as_of.isoformat()})",
            )
        )
    if birth is not None and path != "patient.birth_date" and value < birth:
        what = "surgery" if path.startswith("surgeries[") else "date"
        problems.append(
            FieldProblem(
                path,
                f"{what} {value.isoformat()} is before the patient's birth date "
                f"(patient.birth_date {birth.isoformat()})",
            )
        )
    return problems


def _age_on(birth: date, day: date) -> int:
    """Completed years between ``birth`` and ``day``."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _check_age(case: Case, as_of: date) -> list[FieldProblem]:
    """``patient.age`` must agree with ``patient.birth_date`` within one year."""
    age, birth = case.patient.age, case.patient.birth_date
    if age is None or birth is None or birth > as_of:
        return []
    computed = _age_on(birth, as_of)
    if abs(age - computed) <= _AGE_TOLERANCE_YEARS:
        return []
    return [
        FieldProblem(
            "patient.age",
            f"age {age} does not match patient.birth_date {birth.isoformat()} "
            f"(age {computed} on {as_of.isoformat()}); correct one of them or leave age out",
        )
    ]


def contradictions(case: Case) -> list[FieldProblem]:
    """Recorded facts that contradict each other."""
    problems = []
    symptoms = case.symptoms
    if symptoms.weakness_progressive is True and symptoms.weakness is False:
        problems.append(
            FieldProblem(
                "symptoms.weakness_progressive",
                "progressive weakness is recorded while symptoms.weakness is false",
            )
        )
    predominant = symptoms.predominant_pain
    if symptoms.radicular_pain is False and predominant in ("radicular", "equal"):
        problems.append(
            FieldProblem(
                "symptoms.predominant_pain",
                f"predominant pain is '{predominant}' while symptoms.radicular_pain is false",
            )
        )
    if symptoms.axial_pain is False and predominant in ("axial", "equal"):
        problems.append(
            FieldProblem(
                "symptoms.predominant_pain",
                f"predominant pain is '{predominant}' while symptoms.axial_pain is false",
            )
        )
    co = case.comorbidities
    if co.smoking_quit_date is not None and co.smoking_status == "never":
        problems.append(
            FieldProblem(
                "comorbidities.smoking_quit_date",
                "a quit date is recorded for a never-smoker (comorbidities.smoking_status is 'never')",
            )
        )
    return problems
