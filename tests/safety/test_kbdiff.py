"""``revspine knowledge diff`` (issue 6 §4): a diff of a knowledge base against itself is empty,
and changing one threshold lists exactly the example cases whose advice moves (the expectation
is computed by assessing every example under both bases, not written down)."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

import pytest
from conftest import EXAMPLES, example, example_names
from typer.testing import CliRunner

from revspine.cli.app import app
from revspine.engine import assess
from revspine.governance.kbdiff import (
    CaseInput,
    diff_assessments,
    diff_knowledge,
    diff_params,
    load_spec,
)
from revspine.governance.kbdiff_report import diff_json, diff_markdown, diff_text
from revspine.knowledge import Knowledge, load_knowledge

pytestmark = pytest.mark.req("REQ-305", "HAZ-005")

BUILTIN = load_knowledge()
DEFAULT_TOML = resources.files("revspine.knowledge").joinpath("default.toml").read_text()


def _cases() -> list[CaseInput]:
    out = []
    for name in example_names():
        case = example(name)
        assert case.assessment_date is not None
        out.append(CaseInput(name, case, case.assessment_date))
    return out


def _moved(old: Knowledge, new: Knowledge) -> set[str]:
    """Examples whose assessment (apart from the knowledge block) differs: the expectation."""
    moved = set()
    for item in _cases():
        a = assess(item.case, old, item.as_of).model_dump(mode="json", exclude={"knowledge"})
        b = assess(item.case, new, item.as_of).model_dump(mode="json", exclude={"knowledge"})
        if a != b:
            moved.add(item.name)
    return moved


def _override(tmp_path: Path, text: str, name: str = "site.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_builtin_against_itself_is_empty() -> None:
    d = diff_knowledge(BUILTIN, BUILTIN, _cases())
    assert d.empty and d.params == [] and d.cases == [] and d.compared == len(example_names())
    assert "No difference" in diff_text(d)


def test_a_full_file_and_an_override_against_themselves_are_empty(tmp_path: Path) -> None:
    base = _override(tmp_path, DEFAULT_TOML, "base.toml")
    site = _override(tmp_path, "[antibiotics]\ncefazolin_high_weight_kg = 90\n")
    for spec in (str(base), str(site), f"builtin+{site}", f"{base}+{site}"):
        kb = load_spec(spec)
        assert diff_knowledge(kb, load_spec(spec), _cases()).empty, spec


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("[glycaemia]\nhba1c_defer_pct = 9.0\n", "glycaemia.hba1c_defer_pct"),
        ("[antibiotics]\ncefazolin_high_weight_kg = 90\n", "antibiotics.cefazolin_high_weight_kg"),
        ("[infection]\ncrp_upper_mg_l = 5\n", "infection.crp_upper_mg_l"),
        ("[psychosocial]\nphq9_threshold = 5\n", "psychosocial.phq9_threshold"),
    ],
)
def test_one_threshold_lists_exactly_the_cases_whose_advice_moves(
    tmp_path: Path, override: str, key: str
) -> None:
    new = load_spec(str(_override(tmp_path, override)))
    expected = _moved(BUILTIN, new)
    assert expected, "the threshold should move at least one example"
    assert len(expected) < len(example_names())
    d = diff_knowledge(BUILTIN, new, _cases())
    assert {c.name for c in d.cases} == expected
    assert [p.key for p in d.params] == [key]
    assert all(c.changes for c in d.cases)
    readers = set(d.params[0].rules)
    assert readers, "the parameter diff names the rules that read it"


def test_a_dose_change_names_the_order_and_its_rule(tmp_path: Path) -> None:
    new = load_spec(str(_override(tmp_path, "[antibiotics]\ncefazolin_high_weight_kg = 90\n")))
    d = diff_knowledge(BUILTIN, new, _cases())
    changes = [ch for c in d.cases for ch in c.changes]
    assert changes and all(ch.section == "postop_orders" for ch in changes)
    assert all(ch.rules == ("PO001",) for ch in changes)
    assert any("'2 g IV' → '3 g IV'" in ch.what for ch in changes)


def test_a_disposition_change_is_reported_with_its_rule(tmp_path: Path) -> None:
    new = load_spec(str(_override(tmp_path, "[infection]\ncrp_upper_mg_l = 5\n")))
    d = diff_knowledge(BUILTIN, new, _cases())
    moved = [c for c in d.cases if c.old_disposition != c.new_disposition]
    assert moved
    for c in moved:
        first = c.changes[0]
        assert first.section == "disposition" and "DS001" in first.rules


def test_a_full_base_file_is_recognised_and_its_version_shown(tmp_path: Path) -> None:
    released = f'version = "{BUILTIN.meta.version}"'
    assert released in DEFAULT_TOML
    text = DEFAULT_TOML.replace(released, 'version = "9999.1.0"', 1)
    old = "hba1c_defer_pct = { value = 8.0,"
    assert old in text
    text = text.replace(old, "hba1c_defer_pct = { value = 9.0,", 1)
    path = _override(tmp_path, text, "next.toml")
    kb = load_spec(str(path))
    assert kb.meta.version == "9999.1.0" and kb.overrides == ()
    assert [(p.key, p.old, p.new) for p in diff_params(BUILTIN, kb)] == [
        ("glycaemia.hba1c_defer_pct", 8.0, 9.0)
    ]
    d = diff_knowledge(BUILTIN, kb, _cases(), new_spec=str(path))
    assert d.new.version == "9999.1.0" and d.new.sha256 != d.old.sha256
    assert {c.name for c in d.cases} == _moved(BUILTIN, kb)


def test_diff_assessments_of_the_same_assessment_is_empty() -> None:
    a = assess(example("27_adjacent_segment_stenosis_after_fusion.yaml"))
    assert diff_assessments(a, a) == []


def test_reports_render_in_every_format(tmp_path: Path) -> None:
    new = load_spec(str(_override(tmp_path, "[glycaemia]\nhba1c_defer_pct = 9.0\n")))
    d = diff_knowledge(BUILTIN, new, _cases(), old_spec="builtin", new_spec="site.toml")
    text, md, doc = diff_text(d), diff_markdown(d), json.loads(diff_json(d))
    for name in (c.name for c in d.cases):
        assert name in text and name in md
    assert "OP003" in text and "| `glycaemia.hba1c_defer_pct` |" in md
    assert doc["empty"] is False and doc["params"][0]["key"] == "glycaemia.hba1c_defer_pct"


def test_cli_diff_self_is_empty_and_lists_threshold_changes(tmp_path: Path) -> None:
    runner = CliRunner()
    same = runner.invoke(app, ["knowledge", "diff", "builtin", "builtin", "--cases", str(EXAMPLES)])
    assert same.exit_code == 0, same.stderr
    assert "No difference" in same.stdout
    site = _override(tmp_path, "[glycaemia]\nhba1c_defer_pct = 9.0\n")
    moved = _moved(BUILTIN, load_spec(str(site)))
    result = runner.invoke(
        app, ["knowledge", "diff", "builtin", str(site), "-c", str(EXAMPLES), "-f", "json"]
    )
    assert result.exit_code == 0, result.stderr
    assert {c["name"] for c in json.loads(result.stdout)["cases"]} == moved


def test_cli_diff_reports_invalid_cases_as_not_compared(tmp_path: Path) -> None:
    folder = tmp_path / "cases"
    folder.mkdir()
    shutil.copy(EXAMPLES / "25_recurrent_herniation_l5_candidate.yaml", folder)
    (folder / "broken.yaml").write_text("patient: {age: -3}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["knowledge", "diff", "builtin", "builtin", "-c", str(folder)])
    assert result.exit_code == 0, result.stderr
    assert "not compared: broken.yaml" in result.stdout
    assert "none of 1 case(s) changed" in result.stdout


def test_cli_diff_bad_inputs_are_usage_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(
        app, ["knowledge", "diff", "builtin", "builtin", "-c", str(tmp_path / "x")]
    )
    assert missing.exit_code == 2
    bad = _override(tmp_path, "[glycaemia]\nno_such_key = 1\n")
    result = runner.invoke(app, ["knowledge", "diff", "builtin", str(bad), "-c", str(EXAMPLES)])
    assert result.exit_code == 2 and "no_such_key" in result.stderr
