"""Reading case files: every failure is a CaseValidationError with readable field paths."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revspine.casefile import format_loc, load_case, load_case_data
from revspine.domain.case import Case
from revspine.errors import CaseValidationError

pytestmark = pytest.mark.req("REQ-206")


def _problems(excinfo: pytest.ExceptionInfo[CaseValidationError]) -> dict[str, str]:
    return {p.path: p.message for p in excinfo.value.problems}


def test_format_loc() -> None:
    assert format_loc(("labs", 2, "unit")) == "labs[2].unit"
    assert format_loc(("symptoms", "fever")) == "symptoms.fever"
    assert (
        format_loc(("imaging", 0, "findings", 1, "levels", 0)) == "imaging[0].findings[1].levels[0]"
    )
    assert format_loc(()) == "(root)"


def test_yaml_dates_are_validated_by_the_model(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "assessment_date: 2026-01-10\nsurgeries:\n  - {date: 2024-02-30, type: fusion}\n"
    )
    with pytest.raises(CaseValidationError) as excinfo:
        load_case(path)
    assert list(_problems(excinfo)) == ["surgeries[0].date"]
    assert excinfo.value.source == str(path)


def test_yaml_and_json_give_the_same_case(tmp_path: Path) -> None:
    data: dict[str, Any] = {
        "assessment_date": "2026-01-10",
        "labs": [{"test": "crp", "value": 12.5, "unit": "mg/L", "date": "2025-12-01"}],
    }
    (tmp_path / "c.json").write_text(json.dumps(data))
    (tmp_path / "c.yaml").write_text(
        "assessment_date: 2026-01-10\nlabs:\n  - {test: crp, value: 12.5, unit: mg/L, date: 2025-12-01}\n"
    )
    assert load_case(tmp_path / "c.json") == load_case(tmp_path / "c.yaml")


def test_utf8_bom_is_accepted_and_latin1_is_not(tmp_path: Path) -> None:
    bom = tmp_path / "bom.yaml"
    bom.write_bytes(b"\xef\xbb\xbfcase_id: A1\n")
    assert load_case(bom).case_id == "A1"
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("case_id: caf\xe9\n".encode("latin-1"))
    with pytest.raises(CaseValidationError) as excinfo:
        load_case(latin)
    assert "not UTF-8" in _problems(excinfo)["(file)"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('{"a": 1, "a": 2}', "duplicate key 'a'"),
        ('{"labs": [{"value": NaN}]}', "NaN is not a number"),
        ('{"a": 1', "invalid JSON at line 1"),
    ],
)
def test_json_syntax_problems(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "c.json"
    path.write_text(text)
    with pytest.raises(CaseValidationError) as excinfo:
        load_case(path)
    assert fragment in _problems(excinfo)["(syntax)"]


def test_load_case_data_rejects_non_mappings() -> None:
    with pytest.raises(CaseValidationError) as excinfo:
        load_case_data([1, 2], "inline")
    assert _problems(excinfo) == {
        "(root)": "expected a mapping of case fields (patient, surgeries, symptoms, ...), got a list"
    }
    with pytest.raises(CaseValidationError):
        load_case_data(None, "inline")


def test_missing_required_field() -> None:
    with pytest.raises(CaseValidationError) as excinfo:
        load_case_data({"surgeries": [{"levels": ["L4-L5"]}]}, "inline")
    assert _problems(excinfo) == {"surgeries[0].type": "required field is missing"}


def test_bad_lab_unit_points_at_the_unit() -> None:
    data = {
        "labs": [
            {"test": "crp", "value": 1, "unit": "mg/L"},
            {"test": "albumin", "value": 3, "unit": "mg/dl"},
        ]
    }
    with pytest.raises(CaseValidationError) as excinfo:
        load_case_data(data, "inline")
    problems = _problems(excinfo)
    assert list(problems) == ["labs[1].unit"]
    assert "'mg/dl' is not known for albumin" in problems["labs[1].unit"]


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
_case_keys = st.sampled_from(sorted(Case.model_fields))


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_case_keys, _json_values, max_size=5))
def test_arbitrary_json_like_input_never_escapes_as_a_foreign_error(data: dict[str, Any]) -> None:
    try:
        load_case_data(data, "fuzz")
    except CaseValidationError as exc:
        assert exc.problems
        assert all(p.path and p.message for p in exc.problems)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200), st.sampled_from([".yaml", ".json", ".txt"]))
def test_arbitrary_text_files_never_escape_as_a_foreign_error(text: str, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"case{suffix}"
        path.write_text(text, encoding="utf-8")
        try:
            load_case(path)
        except CaseValidationError as exc:
            assert exc.problems
