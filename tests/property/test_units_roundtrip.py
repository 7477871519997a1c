"""Property: converting to the canonical unit and back returns the original value."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from revspine.domain.units import ANALYTES, from_canonical, known_units, to_canonical

pytestmark = pytest.mark.req("REQ-107", "HAZ-001")

TABLE_UNITS = [(analyte, unit) for analyte in ANALYTES for unit in known_units(analyte)]

# HbA1c is affine and its two published equations are not exact inverses (REFERENCE.md §8.4),
# so it gets a clinically sensible range and a looser tolerance.
HBA1C_RANGES = {"%": (3.0, 20.0), "mmol/mol": (10.0, 200.0)}
LINEAR_RANGE = (1e-6, 1e9)


@st.composite
def unit_and_value(draw: st.DrawFn) -> tuple[str, str, float]:
    analyte, unit = draw(st.sampled_from(TABLE_UNITS))
    low, high = HBA1C_RANGES[unit] if analyte == "hba1c" else LINEAR_RANGE
    value = draw(st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False))
    return analyte, unit, value


def _tolerance(analyte: str) -> float:
    return 1e-3 if analyte == "hba1c" else 1e-9


@given(unit_and_value())
def test_from_canonical_inverts_to_canonical(case: tuple[str, str, float]) -> None:
    analyte, unit, value = case
    back = from_canonical(analyte, to_canonical(analyte, value, unit), unit)
    assert math.isclose(back, value, rel_tol=_tolerance(analyte))


@st.composite
def unit_and_canonical_value(draw: st.DrawFn) -> tuple[str, str, float]:
    analyte, unit = draw(st.sampled_from(TABLE_UNITS))
    low, high = HBA1C_RANGES["%"] if analyte == "hba1c" else LINEAR_RANGE
    value = draw(st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False))
    return analyte, unit, value


@given(unit_and_canonical_value())
def test_to_canonical_inverts_from_canonical(case: tuple[str, str, float]) -> None:
    analyte, unit, value = case
    back = to_canonical(analyte, from_canonical(analyte, value, unit), unit)
    assert math.isclose(back, value, rel_tol=_tolerance(analyte))


@given(st.sampled_from(TABLE_UNITS))
def test_every_table_unit_is_listed_once_with_canonical_first(pair: tuple[str, str]) -> None:
    analyte, unit = pair
    units = known_units(analyte)
    assert units[0] == ANALYTES[analyte].canonical_unit
    assert units.count(unit) == 1
    assert to_canonical(analyte, 1.0, units[0]) == 1.0
