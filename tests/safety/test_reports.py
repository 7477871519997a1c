"""What the clinician sees (issue 6 §3, §5): the site-override diff from the base and the
decision sensitivity in the text, JSON and HTML outputs; missing data, warnings and derived
values in every report; and level/side mismatches that must never reach a revision."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import EXAMPLES, example
from typer.testing import CliRunner

from revspine.cli.app import app
from revspine.domain.case import Case
from revspine.engine import assess
from revspine.knowledge import load_knowledge
from revspine.report.html import render_html
from revspine.report.text import render_text_plain

INCOMPLETE = EXAMPLES / "07_suspected_pseudarthrosis_no_ct.yaml"
CANDIDATE = EXAMPLES / "25_recurrent_herniation_l5_candidate.yaml"


def _run(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return result


@pytest.mark.req("REQ-208", "HAZ-016", "HAZ-017")
def test_sensitivity_is_shown_in_text_json_and_html() -> None:
    text = _run("assess", str(INCOMPLETE)).stdout
    assert "Decision sensitivity" in text and "hypothetical results, not patient data" in text
    assert "DECISIVE" in text and "CT: solid fusion" in text
    doc = json.loads(_run("assess", str(INCOMPLETE), "--format", "json").stdout)
    assert doc["sensitivity"][0]["test"] == "ct" and doc["sensitivity"][0]["decisive"] is True
    page = _run("assess", str(INCOMPLETE), "--format", "html").stdout
    assert 'id="sensitivity"' in page and "Hypothetical results, not patient data" in page
    assert "DECISIVE" in page


@pytest.mark.req("REQ-208", "REQ-115")
def test_no_sensitivity_flag_turns_it_off_and_changes_nothing_else() -> None:
    on = json.loads(_run("assess", str(INCOMPLETE), "-f", "json").stdout)
    off = json.loads(_run("assess", str(INCOMPLETE), "-f", "json", "--no-sensitivity").stdout)
    assert off["sensitivity"] == [] and on["sensitivity"]
    on.pop("sensitivity")
    off.pop("sensitivity")
    assert on == off


@pytest.mark.req("REQ-303", "HAZ-005", "HAZ-020")
def test_site_override_diff_is_shown_in_text_json_and_html(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text("[antibiotics]\ncefazolin_high_weight_kg = 90\n", encoding="utf-8")
    expected = "antibiotics.cefazolin_high_weight_kg"
    text = _run("assess", str(CANDIDATE), "-k", str(site)).stdout
    assert "Site overrides" in text and expected in text and "120 → 90" in text
    doc = json.loads(_run("assess", str(CANDIDATE), "-k", str(site), "-f", "json").stdout)
    assert doc["knowledge"]["version"].endswith("+site")
    assert doc["knowledge"]["overrides"] == [
        {"key": expected, "base": 120, "value": 90, "source": "site.toml"}
    ]
    page = _run("assess", str(CANDIDATE), "-k", str(site), "-f", "html").stdout
    assert expected in page and "120 → 90" in page
    base = json.loads(_run("assess", str(CANDIDATE), "-f", "json").stdout)
    assert (
        base["knowledge"]["overrides"] == []
        and base["knowledge"]["sha256"] != doc["knowledge"]["sha256"]
    )


@pytest.mark.req("REQ-302", "HAZ-005")
def test_every_assessment_records_knowledge_version_and_hash() -> None:
    kb = load_knowledge()
    a = assess(example("25_recurrent_herniation_l5_candidate.yaml"))
    assert (a.knowledge.id, a.knowledge.version, a.knowledge.sha256) == (
        kb.meta.id,
        kb.meta.version,
        kb.sha256,
    )
    assert kb.sha256 in render_html(a) or kb.sha256[:12] in render_html(a)
    assert kb.sha256[:12] in render_text_plain(a)


@pytest.mark.req("REQ-204", "REQ-207", "REQ-102", "HAZ-003", "HAZ-009")
def test_missing_data_warnings_and_derived_values_are_in_text_and_html() -> None:
    data = yaml.safe_load(CANDIDATE.read_text(encoding="utf-8"))
    data["labs"].append({"test": "albumin", "value": 3.9, "unit": "g/dL"})  # undated
    del data["symptoms"]["chills"]
    a = assess(Case.model_validate(data))
    assert any(w.code == "undated_result" for w in a.warnings) and a.missing_data
    text, page = render_text_plain(a, width=160), render_html(a)
    for out in (text, page):
        assert "albumin has no date" in out
        assert "symptoms.chills" in out
        assert str(a.derived.bmi) in out
    assert "Missing data" in text and "Warnings" in text and "Derived" in text


def _candidate() -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load(CANDIDATE.read_text(encoding="utf-8")))


@pytest.mark.req("REQ-110", "HAZ-004", "REQ-104")
@pytest.mark.parametrize(
    ("edit", "value"),
    [("side", "right"), ("levels", ["L2-L3"]), ("levels", ["L3-L4"])],
    ids=["other-side", "level-L2-L3", "level-L3-L4"],
)
def test_a_lesion_on_the_wrong_side_or_level_is_never_a_revision_target(
    edit: str, value: Any
) -> None:
    data = _candidate()
    assert assess(Case.model_validate(data)).disposition.code == "surgical_candidate"
    data["imaging"][2]["findings"][0][edit] = value
    a = assess(Case.model_validate(data))
    assert a.disposition.code != "surgical_candidate"
    assert a.postop_orders == []


@pytest.mark.req("REQ-110", "HAZ-004", "REQ-102")
@pytest.mark.parametrize(
    "path",
    [("symptoms", "radicular_side"), ("imaging", 2, "findings", 0, "side")],
    ids=["leg-pain-side", "lesion-side"],
)
def test_an_unrecorded_side_is_never_read_as_matching(path: tuple[Any, ...]) -> None:
    data = _candidate()
    node: Any = data
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    a = assess(Case.model_validate(data))
    assert a.disposition.code != "surgical_candidate"
