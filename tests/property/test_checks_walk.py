"""``check_case`` reads only the fields that can hold a date or a float; it must report exactly
what a walk over every field of the case reports (same problems, paths, messages and order)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from strategies import AS_OF, case_dicts

from revspine.domain import checks
from revspine.domain.case import Case, LabResult, Quantity
from revspine.errors import FieldProblem


def _leaves(model: BaseModel, prefix: str = "") -> Iterator[tuple[str, object]]:
    for name in type(model).model_fields:
        yield from _visit(getattr(model, name), f"{prefix}.{name}" if prefix else name)


def _visit(value: object, path: str) -> Iterator[tuple[str, object]]:
    if isinstance(value, BaseModel):
        yield from _leaves(value, path)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _visit(item, f"{path}[{i}]")
    else:
        yield path, value


def _reference(case: Case, as_of: dt.date) -> list[FieldProblem]:
    """``check_case`` as a walk over every leaf of the model (the original implementation)."""
    problems: list[FieldProblem] = []
    birth = case.patient.birth_date
    for path, value in _leaves(case):
        if isinstance(value, dt.date):
            problems.extend(checks._check_date(path, value, as_of, birth))
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append(FieldProblem(path, f"{value} is not a finite number"))
    problems.extend(checks._check_age(case, as_of))
    problems.extend(checks.contradictions(case))
    return problems


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case_dicts(),
    st.integers(-4000, 400),
    st.one_of(st.none(), st.integers(0, 40000)),
    st.sampled_from([None, math.nan, math.inf, -math.inf]),
)
def test_same_problems_as_a_walk_over_every_field(
    data: dict[str, object], shift: int, born_days_ago: int | None, bad: float | None
) -> None:
    case = Case.model_validate(data)
    if born_days_ago is not None:
        birth = AS_OF - dt.timedelta(days=born_days_ago)
        case = case.model_copy(
            update={"patient": case.patient.model_copy(update={"birth_date": birth})}
        )
    if bad is not None:  # a non-finite number can only get in without validation
        lab = LabResult.model_construct(test="crp", value=bad, unit="mg/L", date=AS_OF)
        weight = Quantity.model_construct(value=bad, unit="kg")
        case = case.model_copy(
            update={
                "labs": [*case.labs, lab],
                "patient": case.patient.model_copy(update={"weight": weight}),
            }
        )
    as_of = AS_OF + dt.timedelta(days=shift)
    assert checks.check_case(case, as_of) == _reference(case, as_of)


def test_only_inert_fields_are_skipped() -> None:
    skipped = {
        name
        for name, info in Case.model_fields.items()
        if not checks._may_hold_checked(info.annotation)
    }
    assert skipped == {"schema_version", "case_id", "site", "surgeon", "allergies"}
    assert checks._checked_fields(Case)[:3] == ("assessment_date", "patient", "surgeries")
