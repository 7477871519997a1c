"""Decision sensitivity (issue 6 §5): which missing test would change the disposition.

The hypothetical results never leak into the real assessment, a test whose every result gives
the same disposition is non-decisive, and each reported disposition is what the engine gives
when that one result is added to the case."""

from __future__ import annotations

import os
from datetime import date
from typing import Any

import pytest
from conftest import example, example_names
from hypothesis import HealthCheck, given, settings
from strategies import AS_OF, any_case

from revspine.domain.assessment import Assessment
from revspine.domain.case import Case
from revspine.domain.units import canonical_unit
from revspine.engine import assess
from revspine.engine.hypotheses import Setting, plausible_results
from revspine.engine.sensitivity import analyse
from revspine.knowledge import load_knowledge
from revspine.rules.context import Ctx

pytestmark = pytest.mark.req("REQ-115", "REQ-208", "HAZ-016")

KB = load_knowledge()
INCOMPLETE = [
    n for n in example_names() if assess(example(n)).disposition.code == "incomplete_workup"
]
OTHERS = [n for n in example_names() if n not in INCOMPLETE]
FEW = settings(
    max_examples=40 * int(os.environ.get("REVSPINE_PROPERTY_SCALE", "1")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _without_sensitivity(a: Assessment) -> dict[str, Any]:
    return a.model_dump(mode="json", by_alias=True, exclude={"sensitivity"})


def _by_test(a: Assessment) -> dict[str, Any]:
    return {item.test: item for item in a.sensitivity}


def _recompute(case: Case, as_of: date, test: str, result: str) -> str:
    """The disposition with one hypothetical result added, computed independently."""
    base = assess(case, KB, as_of)
    setting = Setting(
        KB, as_of, Ctx(case, KB, as_of), frozenset(c.cause for c in base.differential)
    )
    scenario = next(s for s in plausible_results(test, setting) or () if s.result == result)
    return assess(scenario.apply(case), KB, as_of).disposition.code


@pytest.mark.parametrize("name", INCOMPLETE)
def test_the_real_assessment_is_unchanged_by_sensitivity(name: str) -> None:
    case = example(name)
    before = case.model_dump()
    plain = assess(case)
    with_sensitivity = assess(case, sensitivity=True)
    assert with_sensitivity.sensitivity, "an incomplete workup gets a sensitivity analysis"
    assert _without_sensitivity(with_sensitivity) == _without_sensitivity(plain)
    assert case.model_dump() == before
    assert plain.sensitivity == []


@pytest.mark.parametrize("name", OTHERS)
def test_only_incomplete_workup_gets_a_sensitivity_analysis(name: str) -> None:
    assert assess(example(name), sensitivity=True).sensitivity == []


@pytest.mark.parametrize("name", INCOMPLETE)
def test_items_are_consistent_ranked_and_recomputable(name: str) -> None:
    case = example(name)
    a = assess(case, sensitivity=True)
    assert [i.test for i in a.sensitivity] and {i.test for i in a.sensitivity} == {
        w.test for w in a.workup
    }
    outcomes = [i.outcomes for i in a.sensitivity]
    assert outcomes == sorted(outcomes, reverse=True)
    for item in a.sensitivity:
        dispositions = {r.disposition for r in item.results}
        assert item.outcomes == len(dispositions)
        assert item.decisive == (len(dispositions) >= 2)
        if not item.simulated:
            assert item.results == [] and item.note and not item.decisive
        for r in item.results:
            assert _recompute(case, a.as_of, item.test, r.result) == r.disposition


def test_the_decisive_test_is_shown_for_incomplete_workups() -> None:
    """Done-when of issue 6: an incomplete-workup case shows which missing test decides."""
    snrb = _by_test(assess(example("09_multilevel_foraminal_stenosis_snrb.yaml"), sensitivity=True))
    item = snrb["selective_nerve_root_block"]
    assert item.decisive
    by_result = {r.result: r.disposition for r in item.results}
    assert by_result["negative"] == "non_surgical"
    assert "surgical_candidate" in by_result.values()

    psych = assess(example("16_recurrent_herniation_yellow_flags.yaml"), sensitivity=True)
    item = psych.sensitivity[0]
    assert item.test == "psychological_evaluation" and item.decisive
    assert {r.result: r.disposition for r in item.results} == {
        "no_contraindication": "surgical_candidate",
        "treat_first": "non_surgical",
        "not_a_candidate": "non_surgical",
    }

    ct = assess(example("07_suspected_pseudarthrosis_no_ct.yaml"), sensitivity=True)
    assert ct.sensitivity[0].test == "ct" and ct.sensitivity[0].decisive
    crp = _by_test(ct)["crp"]
    assert not crp.decisive and crp.decisive_with_rest
    raised = next(r for r in crp.results if r.result == "raised")
    assert raised.with_rest == ["incomplete_workup"]


def test_a_test_that_changes_nothing_is_reported_non_decisive() -> None:
    a = assess(example("13_calf_claudication_no_abi.yaml"), sensitivity=True)
    item = _by_test(a)["vascular_studies"]
    assert {r.disposition for r in item.results} == {"non_surgical"}
    assert item.outcomes == 1 and not item.decisive and not item.decisive_with_rest


def test_history_and_exam_is_listed_but_not_simulated() -> None:
    a = assess(example("36_herniation_side_and_dermatome_unrecorded.yaml"), sensitivity=True)
    (item,) = a.sensitivity
    assert item.test == "history_and_exam" and not item.simulated and item.note


@pytest.mark.parametrize("name", INCOMPLETE)
def test_injected_results_are_dated_as_of_in_canonical_units(name: str) -> None:
    case = example(name)
    a = assess(case)
    setting = Setting(
        KB, a.as_of, Ctx(case, KB, a.as_of), frozenset(c.cause for c in a.differential)
    )
    for w in a.workup:
        for scenario in plausible_results(w.test, setting) or ():
            copy = scenario.apply(case)
            added_labs = copy.labs[len(case.labs) :]
            for lab in added_labs:
                assert lab.unit == canonical_unit(lab.test) and lab.date == a.as_of
            for study in copy.imaging[len(case.imaging) :]:
                assert study.date == a.as_of
            for block in copy.blocks[len(case.blocks) :]:
                assert block.date == a.as_of
            assert case.labs == copy.labs[: len(case.labs)]


@FEW
@given(any_case())
def test_property_sensitivity_never_changes_the_real_assessment(data: dict[str, Any]) -> None:
    case = Case.model_validate(data)
    plain = assess(case, as_of=AS_OF)
    full = assess(case, as_of=AS_OF, sensitivity=True)
    assert _without_sensitivity(full) == _without_sensitivity(plain)
    if plain.disposition.code != "incomplete_workup":
        assert full.sensitivity == []


@FEW
@given(any_case())
def test_property_same_disposition_for_every_result_is_non_decisive(data: dict[str, Any]) -> None:
    case = Case.model_validate(data)
    a = assess(case, as_of=AS_OF, sensitivity=True)
    for item in a.sensitivity:
        dispositions = {r.disposition for r in item.results}
        if len(dispositions) <= 1:
            assert not item.decisive and item.outcomes == len(dispositions)
        else:
            assert item.decisive and item.outcomes == len(dispositions)
        for r in item.results:
            assert r.label and _recompute(case, AS_OF, item.test, r.result) == r.disposition


def test_analyse_returns_nothing_for_a_complete_workup() -> None:
    case = example("25_recurrent_herniation_l5_candidate.yaml")
    a = assess(case)
    assert analyse(case, KB, a.as_of, a) == []
