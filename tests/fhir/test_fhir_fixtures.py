"""Every FHIR file in shared/fixtures/external (read verbatim, never edited) imports without
error; nothing is dropped silently. CDS Hooks files are searched for the Bundles and resources
they embed; a single resource is wrapped in a collection Bundle here (derived in the test)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import orjson
import pytest

from revspine import assess
from revspine.adapters.fhir import ImportResult, bundle_to_case

pytestmark = pytest.mark.req("REQ-401", "HAZ-006")

EXTERNAL = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "external"
FILES = sorted(EXTERNAL.glob("*/*.json"))
AS_OF = dt.date(2026, 11, 1)


def embedded(data: Any) -> list[dict[str, Any]]:
    """The outermost FHIR resources (Bundles included) inside a JSON document."""
    if isinstance(data, dict):
        if isinstance(data.get("resourceType"), str):
            return [data]
        return [r for v in data.values() for r in embedded(v)]
    if isinstance(data, list):
        return [r for v in data for r in embedded(v)]
    return []


def as_bundles(path: Path) -> list[dict[str, Any]]:
    out = []
    for resource in embedded(orjson.loads(path.read_bytes())):
        if resource["resourceType"] == "Bundle":
            out.append(resource)
        else:
            out.append(
                {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": resource}]}
            )
    return out


def import_file(name: str) -> list[ImportResult]:
    return [bundle_to_case(b, as_of=AS_OF) for b in as_bundles(EXTERNAL / name)]


def test_fixtures_are_present() -> None:
    assert len(FILES) >= 30
    assert sum(1 for f in FILES if as_bundles(f)) >= 15


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_fixture_imports_and_assesses(path: Path) -> None:
    for data in as_bundles(path):
        result = bundle_to_case(data, as_of=AS_OF)
        entries = len(data.get("entry") or [])
        listed = sum(u.count for u in result.unmapped)
        assert listed <= entries
        assert all(u.resource_type and u.count > 0 for u in result.unmapped)
        assess(result.case, as_of=AS_OF)  # never crashes on real-world input


def test_synthea_bundles_list_what_they_do_not_map() -> None:
    (bob,) = import_file(
        "google-fhir-data-pipes-synthea/Bob965_Keeling57_3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b.json"
    )
    assert bob.case.patient.sex == "male" and bob.case.patient.birth_date == dt.date(1991, 7, 8)
    assert bob.case.comorbidities.model_dump(exclude_none=True) == {}  # no Condition: all unknown
    types = {u.resource_type for u in bob.unmapped}
    assert {"Encounter", "Claim", "Immunization", "Observation"} <= types
    (data,) = as_bundles(
        EXTERNAL
        / "google-fhir-data-pipes-synthea/Bob965_Keeling57_3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b.json"
    )
    # Nothing maps but the Patient, and every other entry is listed: none dropped silently.
    assert sum(u.count for u in bob.unmapped) == len(data["entry"]) - 1


def test_synthea_anticoagulated_patient_warns() -> None:
    (lawrence,) = import_file(
        "google-fhir-data-pipes-synthea/Lawrence741_Hammes673_6d44fe03-2478-a82d-7495-3a7c433ed921.json"
    )
    warnings = " ".join(str(w) for w in lawrence.warnings)
    assert "Warfarin" in warnings and "anticoagulant" in warnings
    stroke = [u for u in lawrence.unmapped if u.display == "Stroke"]
    assert stroke and stroke[0].code == "230690007"


def test_synthea_device_is_noted() -> None:
    (georgianne,) = import_file(
        "google-fhir-data-pipes-synthea/Georgianne697_Jerde200_ebf0d007-a52f-5364-5c32-2ba094b88f16.json"
    )
    assert any("MRI conditionality" in str(n) for n in georgianne.notes)
    assert georgianne.case.surgeries == []  # cardiac procedures are not spine surgery


def test_hl7_f001_examples() -> None:
    (patient,) = import_file("microsoft-fhir-server-r4/Patient-f001.json")
    assert (patient.case.patient.sex, patient.case.patient.birth_date) == (
        "male",
        dt.date(1944, 11, 17),
    )
    (glucose,) = import_file("microsoft-fhir-server-r4/Observation-For-Patient-f001.json")
    assert [(u.code_system, u.code) for u in glucose.unmapped] == [("http://loinc.org", "15074-8")]


def test_validate_r4b_accepts_a_synthea_bundle() -> None:
    data = orjson.loads(
        (
            EXTERNAL
            / "google-fhir-data-pipes-synthea/Bob965_Keeling57_3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b.json"
        ).read_bytes()
    )
    assert bundle_to_case(data, as_of=AS_OF, validate=True).case.patient.sex == "male"
