"""CLI: `revspine assess BUNDLE` (auto-detected, unmapped items on stderr), `--format fhir`,
and `revspine fhir import`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import fhir_factories  # noqa: F401  (puts tests/property on sys.path)
import pytest
import yaml
from fhir.resources.R4B.bundle import Bundle
from fhir_factories import bundle, lab, patient
from strategies import AS_OF, candidate_base
from typer.testing import CliRunner

from revspine import Case
from revspine.adapters.fhir import bundle_to_case, case_to_bundle
from revspine.casefile import load_case
from revspine.cli.app import app

pytestmark = pytest.mark.req("REQ-401", "REQ-402", "HAZ-006")

EXTERNAL = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "external"


def run(*args: str | Path) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args], prog_name="revspine")


@pytest.fixture
def candidate_bundle(tmp_path: Path) -> Path:
    path = tmp_path / "candidate.json"
    data = case_to_bundle(Case.model_validate(candidate_base()))
    data["entry"].append(
        {"resource": {"resourceType": "Encounter", "id": "e1", "status": "finished"}}
    )
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_assess_format_fhir_parses_with_r4b(candidate_bundle: Path) -> None:
    result = run("assess", candidate_bundle, "--as-of", AS_OF.isoformat(), "--format", "fhir")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    Bundle.model_validate(out)
    group = out["entry"][0]["resource"]
    assert group["resourceType"] == "RequestGroup"
    assert group["subject"]["reference"].startswith("Patient/")
    assert "not mapped: Encounter ×1" in result.stderr


def test_assess_native_case_format_fhir(tmp_path: Path) -> None:
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(candidate_base()), encoding="utf-8")
    result = run("assess", path, "--format", "fhir", "--out", tmp_path / "out.json")
    assert result.exit_code == 0, result.stderr
    Bundle.model_validate(json.loads((tmp_path / "out.json").read_text()))


def test_fhir_import_writes_a_case_file_equal_to_the_import(
    candidate_bundle: Path, tmp_path: Path
) -> None:
    out = tmp_path / "case.yaml"
    result = run("fhir", "import", candidate_bundle, "--as-of", AS_OF.isoformat(), "--out", out)
    assert result.exit_code == 0, result.stderr
    assert "not mapped: Encounter" in result.stderr
    expected = bundle_to_case(json.loads(candidate_bundle.read_text()), as_of=AS_OF).case
    assert load_case(out) == expected


def test_fhir_import_of_a_synthea_bundle_lists_unmapped_items() -> None:
    path = (
        EXTERNAL
        / "google-fhir-data-pipes-synthea/Cecelia952_Romaguera67_f1731e33-dc55-4ee8-72d7-cece2e49bedd.json"
    )
    result = run("fhir", "import", path)
    assert result.exit_code == 0, result.stderr
    assert "sex: female" in result.stdout
    assert "not mapped: Condition http://snomed.info/sct|" in result.stderr


def test_unknown_unit_exits_2_naming_the_unit(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps(bundle(patient(), lab("1988-5", 3, "mg/kg"))), encoding="utf-8")
    for args in (("assess", path), ("fhir", "import", path)):
        result = run(*args)
        assert result.exit_code == 2
        assert "'mg/kg'" in result.stderr and "1988-5" in result.stderr
        assert "$.entry[1].resource.valueQuantity" in result.stderr


def test_malformed_bundle_exits_2_with_a_path(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text(
        json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{}]}),
        encoding="utf-8",
    )
    result = run("assess", path)
    assert result.exit_code == 2
    assert "$.entry[0].resource" in result.stderr


def test_a_single_resource_is_not_a_bundle() -> None:
    result = run("assess", EXTERNAL / "microsoft-fhir-server-r4/Patient-f001.json")
    assert result.exit_code == 2
    assert "not a Bundle" in result.stderr


def test_fhir_import_of_invalid_json_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text("{", encoding="utf-8")
    result = run("fhir", "import", path)
    assert result.exit_code == 2 and "not valid JSON" in result.stderr
