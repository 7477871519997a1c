"""``revspine rules``, ``schema`` and ``knowledge``: generated from the registry and the models."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
from typer.testing import Result

from revspine.knowledge import load_knowledge
from revspine.rules.registry import ordered_rules

pytestmark = pytest.mark.req("REQ-209")

Run = Callable[..., Result]


def test_rules_markdown_lists_every_rule_with_evidence(run: Run, tmp_path: Path) -> None:
    target = tmp_path / "RULES.md"
    result = run("rules", "--format", "md", "--out", target)
    assert result.exit_code == 0, result.stderr
    md = target.read_text()
    for rule in ordered_rules():
        assert f"### {rule.id} — {rule.title}" in md
    assert "## Parameters needing clinical review" in md
    kb = load_knowledge()
    for key, param in kb.params.items():
        if param.status in ("todo_clinical", "unverified"):
            assert f"| `{key}` |" in md
    assert "⚠ unverified" in md


def test_rules_json_has_params_with_values(run: Run) -> None:
    result = run("rules", "-f", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [r["id"] for r in doc["rules"]] == [r.id for r in ordered_rules()]
    rf001 = doc["rules"][0]
    assert rf001["params"][0]["key"] == "red_flags.post_void_residual_ml"
    assert rf001["params"][0]["value"] == 200
    assert rf001["doc"]


def test_rules_text_filter_by_prefix(run: Run) -> None:
    result = run("rules", "PO")
    assert result.exit_code == 0, result.stderr
    assert "PO001" in result.stdout
    assert "RF001" not in result.stdout


def test_rules_unknown_id_is_a_usage_error(run: Run) -> None:
    result = run("rules", "XX999")
    assert result.exit_code == 2
    assert "XX999" in result.stderr


@pytest.mark.req("REQ-201")
def test_schema_case_is_json_schema(run: Run) -> None:
    result = run("schema", "case")
    assert result.exit_code == 0, result.stderr
    schema = json.loads(result.stdout)
    assert "properties" in schema
    assert "labs" in schema["properties"]
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate({"patient": {"age": 60}})


@pytest.mark.req("REQ-201")
def test_schema_assessment_uses_the_for_alias(run: Run) -> None:
    schema = json.loads(run("schema", "assessment").stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    cause = schema["$defs"]["CauseAssessment"]["properties"]
    assert "for" in cause
    assert "for_" not in cause


@pytest.mark.req("REQ-301")
def test_knowledge_show_lists_parameters(run: Run) -> None:
    result = run("knowledge", "show")
    assert result.exit_code == 0, result.stderr
    assert "[antibiotics]" in result.stdout
    assert "cefazolin_dose_g" in result.stdout
    doc = json.loads(run("knowledge", "show", "--format", "json").stdout)
    assert len(doc["params"]) == len(load_knowledge().params)


@pytest.mark.req("REQ-303", "HAZ-020")
def test_knowledge_validate_prints_the_diff(run: Run, tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text("[antibiotics]\ncefazolin_dose_g = 3\n")
    result = run("knowledge", "validate", site)
    assert result.exit_code == 0, result.stderr
    assert "valid:" in result.stdout
    assert "antibiotics.cefazolin_dose_g: 2 -> 3" in result.stdout


@pytest.mark.req("REQ-303", "HAZ-020")
def test_knowledge_validate_wrong_type(run: Run, tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text('[antibiotics]\ncefazolin_dose_g = "two"\n')
    result = run("knowledge", "validate", site)
    assert result.exit_code == 2
    assert "antibiotics.cefazolin_dose_g" in result.stderr
