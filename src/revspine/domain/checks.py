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
import types
import typing
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
    _scan(case, "", as_of, case.patient.birth_date, problems)
    problems.extend(_check_age(case, as_of))
    problems.extend(contradictions(case))
    return problems


def _scan(
    model: BaseModel, prefix: str, as_of: date, birth: date | None, problems: list[FieldProblem]
) -> None:
    """Check every date and float in the model tree, depth first in field order (paths like
    ``labs[2].date``). Only the fields whose type can hold a date, a float or a model are read
    (:func:`_checked_fields`): a field typed ``str``, ``int``, ``bool`` or a ``Literal`` cannot
    hold a value these checks look at. A path is only spelled out for a problem or a subtree."""
    values = model.__dict__  # where pydantic keeps field values
    for name in _checked_fields(type(model)):
        try:
            value = values[name]
        except KeyError:
            value = getattr(model, name)
        if value is None:
            continue
        # A list or a case model (the usual subtrees) is never a date or a float: it goes
        # straight down; any other value is a leaf, else a sequence or model of another type.
        kind = type(value)
        if kind is list:
            if value:
                _scan_value(value, _join(prefix, name), as_of, birth, problems)
        elif kind in _CHECKED_FIELDS:
            _scan(value, _join(prefix, name), as_of, birth, problems)
        elif _leaf(value, prefix, name, as_of, birth, problems):
            continue
        elif isinstance(value, _SEQUENCES):
            if value:
                _scan_value(value, _join(prefix, name), as_of, birth, problems)
        elif isinstance(value, BaseModel):
            _scan(value, _join(prefix, name), as_of, birth, problems)


def _scan_value(
    value: object, path: str, as_of: date, birth: date | None, problems: list[FieldProblem]
) -> None:
    """Check one value (a scalar, a model or a list of them) found at ``path``."""
    if type(value) is not list and _leaf(value, path, "", as_of, birth, problems):
        return
    if isinstance(value, _SEQUENCES):
        for i, item in enumerate(value):
            if type(item) in _CHECKED_FIELDS or isinstance(item, BaseModel):
                _scan(item, f"{path}[{i}]", as_of, birth, problems)
            elif item is not None:
                _scan_value(item, f"{path}[{i}]", as_of, birth, problems)
    elif isinstance(value, BaseModel):
        _scan(value, path, as_of, birth, problems)


def _leaf(
    value: object,
    prefix: str,
    name: str,
    as_of: date,
    birth: date | None,
    problems: list[FieldProblem],
) -> bool:
    """Check ``value`` if it is a date or a float (False otherwise), found at ``prefix.name``
    (the path is only spelled out for a problem)."""
    if isinstance(value, date):
        if value > as_of or (birth is not None and value < birth):
            problems.extend(_check_date(_join(prefix, name), value, as_of, birth))
        return True
    if isinstance(value, float):
        if not math.isfinite(value):
            problems.append(FieldProblem(_join(prefix, name), f"{value} is not a finite number"))
        return True
    return False


def _join(prefix: str, name: str) -> str:
    """The path ``prefix.name`` (either part may be empty)."""
    return f"{prefix}.{name}" if prefix and name else prefix or name


_SEQUENCES = (list, tuple)
_INERT = (str, int, bool, type(None))
"""Types whose values no check looks at (``bool`` is an ``int``; neither is a float)."""
_CHECKED_FIELDS: dict[type[BaseModel], tuple[str, ...]] = {}


def _checked_fields(cls: type[BaseModel]) -> tuple[str, ...]:
    """The fields of ``cls``, in order, whose type can hold a date, a float or a model with such
    fields (computed once per model class from the annotations)."""
    fields = _CHECKED_FIELDS.get(cls)
    if fields is None:
        _CHECKED_FIELDS[cls] = tuple(cls.model_fields)  # a model that contains itself: all
        fields = tuple(
            name for name, info in cls.model_fields.items() if _may_hold_checked(info.annotation)
        )
        _CHECKED_FIELDS[cls] = fields
    return fields


def _may_hold_checked(annotation: object) -> bool:
    """False only when every value ``annotation`` admits is provably inert (a str, an int, a
    bool, None, a ``Literal`` of those, or a list/tuple/union of such); anything else (a date,
    a float, a model, an unknown type) is checked."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _may_hold_checked(typing.get_args(annotation)[0])
    if origin is typing.Literal:
        return not all(isinstance(arg, _INERT) for arg in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType, list, tuple):
        return any(_may_hold_checked(arg) for arg in typing.get_args(annotation) if arg is not ...)
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return bool(_checked_fields(annotation))
        if origin is None and annotation in _INERT:
            return False
    return True


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
