"""Unit conversion: table values, aliases, errors, the pint cross-check and lazy pint import."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys

import pytest

from revspine.domain import units
from revspine.domain.units import (
    ANALYTES,
    AnalyteSpec,
    canonical_unit,
    format_quantity,
    from_canonical,
    known_units,
    to_canonical,
)
from revspine.errors import InputError, UnitError

pytestmark = pytest.mark.req("REQ-107", "HAZ-001")


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "expected"),
    [
        # REFERENCE.md §8.4 worked examples and table factors
        ("crp", 1.5, "mg/dL", 15.0),
        ("crp", 11.5, "mg/dL", 115.0),
        ("crp", 10.0, "mg/L", 10.0),
        ("esr", 30.0, "mm/h", 30.0),
        ("esr", 30.0, "mm/[hr]", 30.0),
        ("albumin", 35.0, "g/L", 3.5),
        ("albumin", 3.1, "g/dL", 3.1),
        ("transferrin", 2.0, "g/L", 200.0),
        ("prealbumin", 200.0, "mg/L", 20.0),
        ("prealbumin", 0.2, "g/L", 20.0),
        ("wbc", 12.5, "10*3/uL", 12500.0),
        ("wbc", 12.5, "10*9/L", 12500.0),
        ("wbc", 12500.0, "/mm3", 12500.0),
        ("total_lymphocyte_count", 1.5, "10*3/uL", 1500.0),
        ("total_lymphocyte_count", 1500.0, "/uL", 1500.0),
        ("procalcitonin", 0.69, "ug/L", 0.69),
        ("vitamin_d", 20.0, "ng/mL", 20.0),
        ("weight", 82000.0, "g", 82.0),
        ("weight", 180.0, "[lb_av]", 81.6466266),
        ("height", 1.72, "m", 172.0),
        ("height", 70.0, "[in_i]", 177.8),
        ("length", 6.2, "cm", 62.0),
        ("length", 0.062, "m", 62.0),
    ],
)
def test_table_conversions(analyte: str, value: float, unit: str, expected: float) -> None:
    assert to_canonical(analyte, value, unit) == pytest.approx(expected, rel=1e-12)
    assert from_canonical(analyte, expected, unit) == pytest.approx(value, rel=1e-12)


def test_weight_180_lb_is_81_65_kg() -> None:
    assert round(to_canonical("weight", 180, "[lb_av]"), 2) == 81.65


def test_hba1c_uses_master_equation_not_the_shortcut() -> None:
    # REFERENCE.md §8.4: 6.5 % = 48 mmol/mol; 7.0 % ≈ 53; 8.0 % ≈ 64 (NGSP = 0.0915 × IFCC + 2.15)
    assert to_canonical("hba1c", 53, "mmol/mol") == pytest.approx(7.0, abs=0.01)
    assert to_canonical("hba1c", 48, "mmol/mol") == pytest.approx(6.5, abs=0.05)
    assert to_canonical("hba1c", 64, "mmol/mol") == pytest.approx(8.0, abs=0.05)
    assert to_canonical("hba1c", 53, "mmol/mol") == pytest.approx(0.0915 * 53 + 2.15)
    # The reverse uses the exact inverse, within 0.01 mmol/mol of IFCC = 10.929 × NGSP − 23.5
    assert from_canonical("hba1c", 6.5, "mmol/mol") == pytest.approx(10.929 * 6.5 - 23.5, abs=0.01)
    assert round(from_canonical("hba1c", 6.5, "mmol/mol")) == 48
    assert round(from_canonical("hba1c", 7.0, "mmol/mol")) == 53
    assert round(from_canonical("hba1c", 8.0, "mmol/mol")) == 64
    # the erroneous "mmol/mol = 10 × %" shortcut [114] would give 5.3 % here
    assert to_canonical("hba1c", 53, "mmol/mol") != pytest.approx(5.3, abs=0.5)


def test_hba1c_percent_is_identity() -> None:
    assert to_canonical("hba1c", 7.4, "%") == 7.4


def test_vitamin_d_nmol_per_litre() -> None:
    # nmol/L = ng/mL × 2.496 (REFERENCE.md §8.4): 50 nmol/L ≈ 20 ng/mL, 75 nmol/L ≈ 30 ng/mL
    assert to_canonical("vitamin_d", 50, "nmol/L") == pytest.approx(20.03, abs=0.005)
    assert to_canonical("vitamin_d", 75, "nmol/L") == pytest.approx(30.05, abs=0.005)
    assert from_canonical("vitamin_d", 20, "nmol/L") == pytest.approx(49.92)


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "expected"),
    [
        ("wbc", 12.5, "10^3/uL", 12500.0),
        ("wbc", 12.5, "10^3/µL", 12500.0),  # micro sign
        ("wbc", 12.5, "10^3/μL", 12500.0),  # Greek mu
        ("wbc", 12.5, "x10^9/L", 12500.0),
        ("wbc", 12.5, "×10^9/L", 12500.0),
        ("wbc", 12.5, "10*3/mm3", 12500.0),
        ("wbc", 12500.0, "cells/uL", 12500.0),
        ("wbc", 12500.0, "cells/µL", 12500.0),
        ("total_lymphocyte_count", 1400.0, "{cells}/uL", 1400.0),
        ("total_lymphocyte_count", 1.4, "10*3{cells}/uL", 1400.0),
        ("esr", 25.0, "mm/hr", 25.0),
        ("weight", 180.0, "lb", 81.6466266),
        ("height", 70.0, "in", 177.8),
        ("albumin", 3.1, " g/dL ", 3.1),
    ],
)
def test_documented_aliases(analyte: str, value: float, unit: str, expected: float) -> None:
    assert to_canonical(analyte, value, unit) == pytest.approx(expected, rel=1e-12)


def test_unknown_unit_names_analyte_unit_and_choices() -> None:
    with pytest.raises(UnitError) as info:
        to_canonical("albumin", 3.1, "mg/dl")
    assert str(info.value) == "unit 'mg/dl' is not known for albumin (expected one of: g/dL, g/L)"


@pytest.mark.parametrize("unit", ["", "   ", "MG/L", "mg/l", "banana", "mg//L", "mg/L/", "(mg/L"])
def test_unknown_or_empty_unit_raises(unit: str) -> None:
    with pytest.raises(UnitError, match=r"is not known for crp \(expected one of: mg/L, mg/dL\)"):
        to_canonical("crp", 5.0, unit)
    with pytest.raises(UnitError, match="crp"):
        from_canonical("crp", 5.0, unit)


def test_unit_error_is_an_input_error() -> None:
    with pytest.raises(InputError):
        to_canonical("crp", 5.0, "nonsense")


@pytest.mark.parametrize(
    ("analyte", "unit"),
    [
        ("albumin", "mm/h"),
        ("crp", "kg"),
        ("wbc", "mg/L"),
        ("height", "kg"),
        ("weight", "[lb_av]/[in_i]"),
        ("esr", "mm"),
        ("vitamin_d", "umol/L"),  # molar: only the table's nmol/L converts
    ],
)
def test_wrong_dimension_raises(analyte: str, unit: str) -> None:
    with pytest.raises(UnitError) as info:
        to_canonical(analyte, 1.0, unit)
    message = str(info.value)
    assert analyte in message
    assert repr(unit) in message
    assert "not compatible" in message
    with pytest.raises(UnitError):
        from_canonical(analyte, 1.0, unit)


def test_hba1c_has_no_pint_fallback() -> None:
    # pint sees % and mol/mol as both dimensionless; a ratio would be silently wrong for IFCC.
    for unit in ("mol/mol", "umol/mol", "1", "10*-2"):
        with pytest.raises(UnitError, match=r"is not known for hba1c"):
            to_canonical("hba1c", 50.0, unit)


def test_unknown_analyte_raises() -> None:
    with pytest.raises(UnitError, match=r"unknown analyte 'glucose'.*'mg/dL'|'mg/dL'.*'glucose'"):
        to_canonical("glucose", 100.0, "mg/dL")
    with pytest.raises(UnitError, match="unknown analyte 'glucose'"):
        from_canonical("glucose", 100.0, "mg/dL")
    with pytest.raises(UnitError, match="unknown analyte 'glucose'"):
        canonical_unit("glucose")
    with pytest.raises(UnitError, match="unknown analyte 'glucose'"):
        known_units("glucose")


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "expected"),
    [
        ("crp", 2.0, "ug/mL", 2.0),  # 1 µg/mL = 1 mg/L
        ("crp", 2.0, "µg/mL", 2.0),
        ("crp", 2000.0, "ug/L", 2.0),
        ("albumin", 35000.0, "mg/L", 3.5),
        ("wbc", 7.2, "10*6/mL", 7200.0),
        ("wbc", 7.2e9, "/L", 7200.0),
        ("procalcitonin", 500.0, "pg/mL", 0.5),
        ("vitamin_d", 20.0, "ug/L", 20.0),
        ("esr", 0.5, "mm/min", 30.0),
        ("weight", 16.0, "[oz_av]", 0.45359237),
        ("height", 6.0, "[ft_i]", 182.88),
        ("length", 4.0, "dm", 400.0),
        ("length", 62.0, "mm.1", 62.0),
        ("transferrin", 2.0, "g.L-1", 200.0),
        ("transferrin", 2.0, "g/(dm3)", 200.0),
    ],
)
def test_pint_fallback(analyte: str, value: float, unit: str, expected: float) -> None:
    assert to_canonical(analyte, value, unit) == pytest.approx(expected, rel=1e-9)
    assert from_canonical(analyte, expected, unit) == pytest.approx(value, rel=1e-9)


def _pint_checkable_table_units() -> list[tuple[str, str]]:
    # Every table unit except the documented non-pint conversions (HbA1c mmol/mol, vitamin D
    # nmol/L; REFERENCE.md §8.4), which are checked against the reference's examples above.
    return [(a, u) for a in ANALYTES for u in known_units(a) if (a, u) not in units._TABLE_ONLY]


@pytest.mark.parametrize(("analyte", "unit"), _pint_checkable_table_units())
def test_every_table_factor_matches_pint(analyte: str, unit: str) -> None:
    table_factor = units._TABLE[analyte][unit]
    assert isinstance(table_factor, float)
    pint_factor = units._pint_factor(unit, canonical_unit(analyte))
    assert math.isclose(table_factor, pint_factor, rel_tol=1e-12), (analyte, unit)


def test_table_only_conversions_are_exactly_the_documented_ones() -> None:
    assert units._TABLE_ONLY == {("hba1c", "mmol/mol"), ("vitamin_d", "nmol/L")}
    for analyte, unit in units._TABLE_ONLY:
        assert unit in known_units(analyte)


def test_importing_units_does_not_import_pint() -> None:
    code = "import revspine.domain.units, sys; assert 'pint' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_table_conversions_do_not_import_pint() -> None:
    code = (
        "import sys\n"
        "from revspine.domain.units import ANALYTES, known_units, to_canonical, from_canonical\n"
        "for a in ANALYTES:\n"
        "    for u in known_units(a):\n"
        "        from_canonical(a, to_canonical(a, 5.0, u), u)\n"
        "to_canonical('wbc', 5.0, 'x10^9/L'); to_canonical('weight', 5.0, 'lb')\n"
        "assert 'pint' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_analyte_specs() -> None:
    assert set(ANALYTES) == {
        "crp",
        "esr",
        "wbc",
        "albumin",
        "transferrin",
        "prealbumin",
        "total_lymphocyte_count",
        "hba1c",
        "vitamin_d",
        "procalcitonin",
        "weight",
        "height",
        "length",
    }
    expected_canonical = {
        "crp": "mg/L",
        "esr": "mm/h",
        "wbc": "/uL",
        "total_lymphocyte_count": "/uL",
        "albumin": "g/dL",
        "transferrin": "mg/dL",
        "prealbumin": "mg/dL",
        "hba1c": "%",
        "vitamin_d": "ng/mL",
        "procalcitonin": "ng/mL",
        "weight": "kg",
        "height": "cm",
        "length": "mm",
    }
    for analyte, unit in expected_canonical.items():
        assert canonical_unit(analyte) == unit
        assert ANALYTES[analyte].canonical_unit == unit
        assert known_units(analyte)[0] == unit
    # LOINC codes from REFERENCE.md §8.2
    assert ANALYTES["crp"].loinc == ("1988-5",)  # not hs-CRP 30522-7
    assert "30522-7" not in ANALYTES["crp"].loinc
    assert ANALYTES["esr"].loinc == ("4537-7", "30341-2")
    assert ANALYTES["wbc"].loinc == ("6690-2",)
    assert ANALYTES["total_lymphocyte_count"].loinc == ("731-0",)
    assert ANALYTES["albumin"].loinc == ("1751-7",)
    assert ANALYTES["transferrin"].loinc == ("3034-6",)  # not 2502-3 (iron saturation)
    assert ANALYTES["prealbumin"].loinc == ("14338-8",)  # not 30934-4 (BNP)
    assert ANALYTES["hba1c"].loinc[0] == "4548-4"
    assert ANALYTES["vitamin_d"].loinc[0] == "62292-8"
    assert ANALYTES["procalcitonin"].loinc == ("33959-8",)
    for body in ("weight", "height", "length"):
        assert ANALYTES[body].loinc == ()
    assert ANALYTES["crp"].name == "C-reactive protein"


def test_analytes_are_read_only() -> None:
    with pytest.raises(TypeError):
        ANALYTES["crp"] = AnalyteSpec("x", "mg/L", ())  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ANALYTES["crp"].canonical_unit = "mg/dL"  # type: ignore[misc]


def test_known_units_lists_required_table_units() -> None:
    required = {
        "crp": {"mg/L", "mg/dL"},
        "esr": {"mm/h", "mm/[hr]"},
        "wbc": {"/uL", "10*3/uL", "10*9/L", "/mm3"},
        "total_lymphocyte_count": {"/uL", "10*3/uL", "10*9/L", "/mm3"},
        "albumin": {"g/dL", "g/L"},
        "transferrin": {"mg/dL", "g/L"},
        "prealbumin": {"mg/dL", "mg/L", "g/L"},
        "hba1c": {"%", "mmol/mol"},
        "vitamin_d": {"ng/mL", "nmol/L"},
        "procalcitonin": {"ng/mL", "ug/L"},
        "weight": {"kg", "g", "[lb_av]"},
        "height": {"cm", "m", "[in_i]"},
        "length": {"mm", "cm", "m"},
    }
    for analyte, expected in required.items():
        assert expected <= set(known_units(analyte)), analyte


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (3.2, "g/dL", "3.2 g/dL"),
        (3.2000000000000006, "g/dL", "3.2 g/dL"),
        (0.1 + 0.2, "mg/L", "0.3 mg/L"),
        (81.6466266, "kg", "81.65 kg"),
        (12500.0, "/uL", "12500 /uL"),
        (20.032051282051285, "ng/mL", "20.03 ng/mL"),
        (0.000012346, "ng/mL", "0.00001235 ng/mL"),
        (-2.5, "mm", "-2.5 mm"),
        (0.0, "mm", "0 mm"),
        (7.0, "%", "7 %"),
        (5.0, "", "5"),
    ],
)
def test_format_quantity(value: float, unit: str, expected: str) -> None:
    assert format_quantity(value, unit) == expected
