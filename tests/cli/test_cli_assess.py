"""``revspine assess`` and ``revspine validate``: outputs, as-of resolution, site overrides."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import Result

from revspine.report.text import NOTICE

pytestmark = pytest.mark.req("REQ-205")

Run = Callable[..., Result]
WriteCase = Callable[..., Path]
CaseFactory = Callable[..., dict[str, Any]]


def _json(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.mark.req("REQ-203", "REQ-204", "HAZ-021")
def test_assess_text_report_has_banner_sections_and_notice(
    run: Run, write_case: WriteCase, case: CaseFactory
) -> None:
    result = run("assess", write_case(case()))
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.index("INCOMPLETE WORKUP") < out.index("Ranked differential")
    assert "Missing workup" in out
    assert "pseudarthrosis" in out
    assert "Knowledge: revspine-fbss-core" in out
    assert " ".join(NOTICE.split()) in " ".join(out.split())
    assert result.stderr == ""


@pytest.mark.req("REQ-201")
def test_assess_json_validates_against_the_assessment_schema(
    run: Run, write_case: WriteCase, case: CaseFactory
) -> None:
    schema = _json(run("schema", "assessment"))
    doc = _json(run("assess", write_case(case()), "--format", "json"))
    jsonschema.Draft202012Validator(schema).validate(doc)
    assert doc["as_of"] == "2026-01-10"
    assert doc["case_id"] == "T1"
    assert doc["differential"][0]["for"], "the 'for' alias is used in the JSON"


def test_assess_json_to_out_file_keeps_stdout_empty(
    run: Run, write_case: WriteCase, case: CaseFactory, tmp_path: Path
) -> None:
    target = tmp_path / "reports" / "a.json"
    result = run("assess", write_case(case()), "-f", "json", "--out", target)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "wrote" in result.stderr
    assert json.loads(target.read_text())["disposition"]["code"] == "incomplete_workup"


def test_assess_text_to_file_is_plain_text(
    run: Run, write_case: WriteCase, case: CaseFactory, tmp_path: Path
) -> None:
    target = tmp_path / "report.txt"
    result = run("assess", write_case(case()), "--out", target)
    assert result.exit_code == 0, result.stderr
    text = target.read_text()
    assert "\x1b[" not in text
    assert "INCOMPLETE WORKUP" in text


def test_assess_html(run: Run, write_case: WriteCase, case: CaseFactory) -> None:
    result = run("assess", write_case(case()), "--format", "html")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.lstrip().lower().startswith("<!doctype html")


def test_json_case_file_and_detection_by_content(
    run: Run, write_case: WriteCase, case: CaseFactory
) -> None:
    as_json = _json(run("assess", write_case(case(), "c.json"), "-f", "json"))
    no_suffix = _json(run("assess", write_case(json.dumps(case()), "c.case"), "-f", "json"))
    as_yaml = _json(run("assess", write_case(case(), "c.yml"), "-f", "json"))
    assert as_json == no_suffix == as_yaml


@pytest.mark.req("REQ-101", "HAZ-007")
def test_red_flag_case_is_urgent_in_text_and_json(
    run: Run, write_case: WriteCase, case: CaseFactory
) -> None:
    path = write_case(
        case(symptoms={"saddle_anaesthesia": True, "bowel_bladder_dysfunction": True})
    )
    doc = _json(run("assess", path, "-f", "json"))
    assert doc["disposition"]["code"] == "urgent"
    assert doc["red_flags"][0]["code"] == "cauda_equina_syndrome"
    text = run("assess", path).stdout
    assert text.index("URGENT") < text.index("RED FLAGS") < text.index("Ranked differential")


@pytest.mark.req("REQ-109", "HAZ-008")
def test_implausible_albumin_is_a_warning_not_an_error(
    run: Run, write_case: WriteCase, case: CaseFactory
) -> None:
    labs = [{"test": "albumin", "value": 35, "unit": "g/dL", "date": "2025-12-20"}]
    doc = _json(run("assess", write_case(case(labs=labs)), "-f", "json"))
    warnings = [w for w in doc["warnings"] if w["field"] == "labs[0]"]
    assert [w["code"] for w in warnings] == ["implausible_value"]


@pytest.mark.req("REQ-303", "HAZ-005")
def test_site_override_appears_in_json_knowledge(
    run: Run, write_case: WriteCase, case: CaseFactory, tmp_path: Path
) -> None:
    site = tmp_path / "site.toml"
    site.write_text('[antibiotics]\nbeta_lactam_allergy_agent = "clindamycin"\n')
    doc = _json(run("assess", write_case(case()), "-f", "json", "--knowledge", site))
    overrides = doc["knowledge"]["overrides"]
    assert overrides == [
        {
            "key": "antibiotics.beta_lactam_allergy_agent",
            "base": "vancomycin",
            "value": "clindamycin",
            "source": "site.toml",
        }
    ]
    assert doc["knowledge"]["version"].endswith("+site")
    text = run("assess", write_case(case()), "-k", site).stdout
    assert "antibiotics.beta_lactam_allergy_agent" in text


@pytest.mark.req("REQ-108", "HAZ-015")
def test_as_of_option_overrides_the_case_date(
    run: Run, write_case: WriteCase, case: CaseFactory
) -> None:
    doc = _json(run("assess", write_case(case()), "-f", "json", "--as-of", "2026-02-01"))
    assert doc["as_of"] == "2026-02-01"


@pytest.mark.req("REQ-108")
def test_as_of_defaults_to_today_without_assessment_date(
    run: Run, write_case: WriteCase, case: CaseFactory
) -> None:
    from datetime import date

    doc = _json(run("assess", write_case(case(assessment_date=None)), "-f", "json"))
    assert doc["as_of"] == date.today().isoformat()


@pytest.mark.req("REQ-206")
def test_validate_valid_case_prints_summary_and_warnings(
    run: Run, write_case: WriteCase, case: CaseFactory
) -> None:
    labs = [{"test": "albumin", "value": 35, "unit": "g/dL", "date": "2025-12-20"}]
    result = run("validate", write_case(case(labs=labs)))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("valid: ")
    assert "prior surgeries: 1" in result.stdout
    assert "labs[0]: albumin 35.0 g/dL is outside the plausible range" in result.stdout


@pytest.mark.req("REQ-206")
def test_validate_lists_every_problem(run: Run, write_case: WriteCase, case: CaseFactory) -> None:
    bad = case(
        patient={"age": 60, "sex": "f"},
        labs=[{"test": "albumin", "value": 3.1, "unit": "mg/dl"}],
        symptoms={"feverr": True},
    )
    result = run("validate", write_case(bad))
    assert result.exit_code == 2
    assert result.stdout == ""
    for path in ("patient.sex", "labs[0].unit", "symptoms.feverr"):
        assert f"  {path}: " in result.stderr
    assert "3 problems" in result.stderr
