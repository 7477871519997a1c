"""The trace matrix (issue 6 §2): every rule serves a requirement and is tested, every
requirement is implemented and tested, every hazard has controls and a verifying test — and the
check really fails when one is missing (a temporary copy with an extra, untested rule)."""

from __future__ import annotations

import shutil
import textwrap
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from revspine.cli.app import app
from revspine.errors import SafetyFileError
from revspine.governance.render import trace_html, trace_json, trace_markdown
from revspine.governance.safety_data import (
    Control,
    Hazard,
    Requirement,
    find_root,
    load_safety,
    parse_hazards,
    parse_requirements,
)
from revspine.governance.trace import (
    CollectedTest,
    Collection,
    build_trace,
    collect_tests,
    resolve_code,
)
from revspine.rules.registry import REGISTRY, Rule, ordered_rules

pytestmark = pytest.mark.req("REQ-306", "HAZ-005")

SAFETY = load_safety(ROOT / "safety")
RULES = ordered_rules()


def _untested_rule(rule_id: str = "NS999") -> Rule:
    def fn(ctx: object) -> None:
        """A rule added without a test."""

    return Rule(rule_id, "Untested rule", (), (), False, fn, ("REQ-018",))  # type: ignore[arg-type]


def test_the_repository_is_fully_traced(collection: Collection) -> None:
    matrix = build_trace(SAFETY, RULES, collection)
    assert matrix.problems == []
    assert matrix.ok
    assert {r.id for r in matrix.rules} == set(REGISTRY)
    assert all(row.tests for row in matrix.requirements)
    assert all(row.tests for row in matrix.hazards)


def test_every_rule_names_known_requirements() -> None:
    known = SAFETY.requirement_ids()
    for r in RULES:
        assert r.requirements, f"{r.id} names no requirement"
        assert set(r.requirements) <= known, r.id


def test_every_pathway_requirement_has_a_rule() -> None:
    named = {req for r in RULES for req in r.requirements}
    for req in SAFETY.requirements:
        if req.kind == "pathway":
            assert req.id in named, req.id


def test_check_reports_an_extra_untested_rule(collection: Collection) -> None:
    rules = [*RULES, _untested_rule()]
    matrix = build_trace(SAFETY, rules, collection)
    assert not matrix.ok
    assert matrix.problems == ["rule NS999 has no test"]


@pytest.fixture
def collected_once(monkeypatch: pytest.MonkeyPatch, collection: Collection) -> Collection:
    """Let the CLI reuse the session's collection (the subprocess is tested on its own)."""
    import revspine.governance.trace as trace_module

    monkeypatch.setattr(trace_module, "collect_tests", lambda root, tests=None: collection)
    return collection


@pytest.mark.usefixtures("collected_once")
def test_cli_check_fails_on_an_untested_rule_in_a_temporary_copy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Copy the safety files to a temporary root, add a requirement nobody tests, register one
    extra rule without a test, and run ``revspine trace --check`` on that copy."""
    shutil.copytree(ROOT / "safety", tmp_path / "safety")
    extra = textwrap.dedent(
        """
        [[requirement]]
        id = "REQ-999"
        title = "A requirement nobody tested"
        kind = "contract"
        text = "Nothing."
        code = ["revspine.engine.run:assess"]
        """
    )
    with (tmp_path / "safety" / "requirements.toml").open("a", encoding="utf-8") as fh:
        fh.write(extra)
    monkeypatch.setitem(REGISTRY, "NS999", _untested_rule())
    result = CliRunner().invoke(
        app, ["trace", "--check", "--root", str(tmp_path), "--tests", str(ROOT / "tests")]
    )
    assert result.exit_code == 3, result.output
    untraced = [line for line in result.stderr.splitlines() if line.startswith("untraced: ")]
    assert untraced == [
        "untraced: rule NS999 has no test",
        "untraced: requirement REQ-999 has no test",
    ]
    assert "revspine trace: 2 problem(s)" in result.stderr


@pytest.mark.usefixtures("collected_once")
def test_cli_check_passes_and_writes_the_matrix(tmp_path: Path) -> None:
    out = tmp_path / "trace.html"
    result = CliRunner().invoke(
        app, ["trace", "--check", "--format", "html", "--out", str(out), "--root", str(ROOT)]
    )
    assert result.exit_code == 0, result.stderr
    assert "traced and verified" in result.stderr
    assert "REQ-001" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda s: replace(s, requirements=(*s.requirements, Requirement("REQ-998", "x", "pathway", "x"))),
            "requirement REQ-998 (pathway) is implemented by no rule",
        ),
        (
            lambda s: replace(
                s,
                requirements=(
                    *s.requirements,
                    Requirement("REQ-997", "x", "contract", "x", code=("revspine.nope:thing",)),
                ),
            ),
            "requirement REQ-997: code 'revspine.nope:thing' does not exist",
        ),
        (
            lambda s: replace(
                s,
                hazards=(
                    *s.hazards,
                    Hazard("HAZ-999", "x", "x", "x", "x", "minor", "remote", "remote",
                           (Control("information", text="a label"),)),
                ),
            ),
            "hazard HAZ-999 has no control (rule, requirement or code)",
        ),
        (
            lambda s: replace(
                s,
                hazards=(
                    *s.hazards,
                    Hazard("HAZ-998", "x", "x", "x", "x", "minor", "remote", "remote",
                           (Control("rule", "DX999"),)),
                ),
            ),
            "hazard HAZ-998: control rule DX999 is not registered",
        ),
        (
            lambda s: replace(
                s,
                hazards=(
                    *s.hazards,
                    Hazard("HAZ-997", "x", "x", "x", "x", "catastrophic", "frequent", "probable",
                           (Control("requirement", "REQ-101"),)),
                ),
            ),
            "hazard HAZ-997: residual risk is unacceptable",
        ),
    ],
    ids=["pathway-without-rule", "missing-code", "information-only", "unknown-rule", "residual-risk"],
)  # fmt: skip
def test_check_reports_each_kind_of_gap(edit, expected: str, collection: Collection) -> None:  # type: ignore[no-untyped-def]
    matrix = build_trace(edit(SAFETY), RULES, collection)
    assert expected in matrix.problems


def test_a_hazard_or_requirement_without_test_is_reported() -> None:
    tests = Collection((CollectedTest("tests/x.py::test_a", ("REQ-001",)),))
    matrix = build_trace(SAFETY, RULES, tests)
    assert "requirement REQ-002 has no test" in matrix.problems
    assert "hazard HAZ-001 has no verifying test" in matrix.problems
    assert "requirement REQ-001 has no test" not in matrix.problems


def test_an_expected_failure_verifies_nothing() -> None:
    tests = Collection(
        (
            CollectedTest("tests/x.py::test_open", ("REQ-001", "HAZ-004"), xfail=True),
            CollectedTest("tests/x.py::test_ok", ("REQ-002",)),
        )
    )
    matrix = build_trace(SAFETY, RULES, tests)
    assert "requirement REQ-001 has no test" in matrix.problems
    assert "hazard HAZ-004 has no verifying test" in matrix.problems
    assert "requirement REQ-002 has no test" not in matrix.problems
    assert matrix.open_findings == [("tests/x.py::test_open", ("REQ-001", "HAZ-004"))]
    assert "tests/x.py::test_open" in trace_markdown(matrix, SAFETY)


def test_a_marker_naming_an_unknown_id_is_reported() -> None:
    tests = Collection((CollectedTest("tests/x.py::test_a", ("REQ-9999", "HAZ-900")),))
    problems = build_trace(SAFETY, RULES, tests).problems
    assert "test tests/x.py::test_a names 'REQ-9999': not a REQ-/HAZ-/rule id" in problems
    assert "test tests/x.py::test_a names 'HAZ-900': unknown id" in problems


def test_collection_errors_fail_the_check() -> None:
    problems = build_trace(SAFETY, RULES, Collection((), ("tests/x.py: ImportError",))).problems
    assert problems[0] == "collection error: tests/x.py: ImportError"


def test_collector_reads_module_class_function_and_rule_parameters(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_sample.py").write_text(
        textwrap.dedent(
            """
            import pytest

            pytestmark = pytest.mark.req("REQ-001")

            @pytest.mark.req("HAZ-003", "REQ-102")
            def test_function():
                pass

            @pytest.mark.req("REQ-205")
            class TestClass:
                def test_method(self):
                    pass

            @pytest.mark.parametrize("rule_id", ["RF001", "DX002"])
            def test_rule(rule_id):
                pass

            def test_plain():
                pass

            @pytest.mark.req("REQ-110")
            @pytest.mark.xfail(strict=True, reason="open finding")
            def test_open():
                assert False
            """
        ),
        encoding="utf-8",
    )
    collected = collect_tests(tmp_path).tests
    assert [t.nodeid for t in collected if t.xfail] == ["tests/test_sample.py::test_open"]
    found = {t.nodeid: t.ids for t in collected if not t.xfail}
    assert found == {
        "tests/test_sample.py::test_function": ("HAZ-003", "REQ-001", "REQ-102"),
        "tests/test_sample.py::TestClass::test_method": ("REQ-001", "REQ-205"),
        "tests/test_sample.py::test_rule[RF001]": ("REQ-001", "RF001"),
        "tests/test_sample.py::test_rule[DX002]": ("DX002", "REQ-001"),
        "tests/test_sample.py::test_plain": ("REQ-001",),
    }


def test_a_broken_test_module_is_a_collection_error(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_broken.py").write_text("import no_such_module\n", encoding="utf-8")
    errors = collect_tests(tmp_path).errors
    assert len(errors) == 1 and "test_broken.py" in errors[0]


def test_matrix_renders_every_id_in_markdown_html_and_json(collection: Collection) -> None:
    matrix = build_trace(SAFETY, RULES, collection)
    md, page, doc = (
        trace_markdown(matrix, SAFETY),
        trace_html(matrix, SAFETY),
        trace_json(matrix),
    )
    ids = [r.id for r in SAFETY.requirements] + [h.id for h in SAFETY.hazards] + list(REGISTRY)
    for text in (md, page, doc):
        missing = [i for i in ids if i not in text]
        assert not missing
    assert "**PASS**" in md

    class Tags(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.stack: list[str] = []
            self.ok = True

        def handle_starttag(self, tag: str, attrs: object) -> None:
            if tag not in ("meta", "br"):
                self.stack.append(tag)

        def handle_endtag(self, tag: str) -> None:
            self.ok = self.ok and bool(self.stack) and self.stack.pop() == tag

    parser = Tags()
    parser.feed(page)
    assert parser.ok and parser.stack == []


def test_safety_files_are_validated_with_the_key_named() -> None:
    with pytest.raises(SafetyFileError) as exc:
        parse_requirements(
            {
                "requirement": [
                    {"id": "REQ-1", "title": "t", "kind": "pathway", "text": "x"},
                    {"id": "REQ-002", "title": "t", "kind": "wish", "text": "x", "colour": 1},
                ]
            },
            "requirements.toml",
        )
    paths = {p.path for p in exc.value.problems}
    assert paths == {"requirement[0].id", "REQ-002.kind", "REQ-002.colour"}
    with pytest.raises(SafetyFileError) as exc2:
        parse_hazards(
            {
                "policy": {"severity": ["a", "b"], "probability": ["x", "y"], "acceptable_max": 0, "alarp_max": 1},
                "hazard": [
                    {"id": "HAZ-001", "title": "t", "cause": "c", "situation": "s", "harm": "h",
                     "severity": "b", "probability": "x", "residual_probability": "y",
                     "controls": [{"kind": "magic"}]},
                ],
            },
            "hazards.toml",
        )  # fmt: skip
    paths = {p.path for p in exc2.value.problems}
    assert paths == {"HAZ-001.controls[0]", "HAZ-001.residual_probability"}


def test_code_references_resolve_only_when_they_exist() -> None:
    assert resolve_code("revspine.engine.run:assess")
    assert resolve_code("revspine.domain.assessment")
    assert not resolve_code("revspine.engine.run:nothing")
    assert not resolve_code("revspine.no_such_module")


def test_the_root_is_found_from_a_subdirectory() -> None:
    assert find_root(ROOT / "src" / "revspine") == ROOT
    assert find_root(Path("/")) is None
