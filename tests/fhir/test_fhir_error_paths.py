"""The JSON path of a parse error is exact, including on the importer's fast paths (paths
spelled out only for a bad value, a date not seen before, the entry paths made once)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fhir_factories import LOINC, bundle, coding, lab, patient, procedure

from revspine.adapters.fhir import bundle_to_case
from revspine.errors import FhirParseError

pytestmark = pytest.mark.req("REQ-401", "HAZ-006")

AS_OF = dt.date(2026, 11, 1)
CRP = "1988-5"


def _error(*resources: dict[str, Any]) -> FhirParseError:
    with pytest.raises(FhirParseError) as info:
        bundle_to_case(bundle(*resources), as_of=AS_OF)
    return info.value


@pytest.mark.parametrize("value", [5, ["final"], {"a": 1}, True])
def test_a_status_that_is_not_a_string_names_its_path(value: Any) -> None:
    exc = _error(patient(), lab(CRP, 3.0, "mg/L", status=value))
    assert exc.path == "$.entry[1].resource.status"
    assert "expected a string" in exc.reason
    exc = _error(patient(), procedure("Lumbar fusion L4-L5", status=value))
    assert exc.path == "$.entry[1].resource.status"


@pytest.mark.parametrize("value", [5, "2026-13-01", "yesterday", ["2026-01-01"]])
def test_a_bad_date_names_its_path_even_after_good_dates(value: Any) -> None:
    good = lab(CRP, 3.0, "mg/L", when="2026-10-20")
    bad = lab(CRP, 3.0, "mg/L", when=None, effectiveDateTime=value)
    bundle_to_case(bundle(patient(), good), as_of=AS_OF)  # good dates are remembered
    exc = _error(patient(), good, bad)
    assert exc.path == "$.entry[2].resource.effectiveDateTime"
    exc = _error(patient(birth=None) | {"birthDate": value})
    assert exc.path == "$.entry[0].resource.birthDate"
    exc = _error(patient(), lab(CRP, 3.0, "mg/L", when=None, issued=value))
    assert exc.path == "$.entry[1].resource.issued"


def test_entry_paths_past_the_ones_made_once() -> None:
    fillers = [
        {"resourceType": "Observation", "code": coding(LOINC, "8302-2"), "status": "final"}
        for _ in range(600)
    ]
    exc = _error(
        patient(),
        *[dict(f, id=f"o{i}") for i, f in enumerate(fillers)],
        lab(CRP, 3.0, "mg/L", status=5),
    )
    assert exc.path == "$.entry[601].resource.status"
