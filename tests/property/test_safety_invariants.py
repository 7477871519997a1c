"""Safety invariants of the assessment, checked on generated cases (issue 2, item 7).

Each property is one the engine could break: a red flag that does not make the case urgent, an
unknown fact read as normal, a surgical candidate without a concordant generator or without the
post-operative order set, a rule id that is not in the catalog, non-determinism, a crash, or a
unit that changes the advice. Falsifying examples print as case dicts that can be pasted into a
case file (``assessment_date`` is 2026-11-01).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, find, given, note, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from strategies import (
    AS_OF,
    LAB_RANGES,
    Perturbed,
    any_case,
    candidate_base,
    case_dicts,
    format_path,
    perturbed_candidates,
    single_fact_removals,
)

from revspine import Assessment, Case, assess, load_knowledge
from revspine.domain.units import canonical_unit, from_canonical, known_units, to_canonical
from revspine.rules.registry import REGISTRY, ordered_rules

KB = load_knowledge()
RULE_IDS = frozenset(r.id for r in ordered_rules()) | frozenset(REGISTRY)

#: ``REVSPINE_PROPERTY_SCALE=20`` multiplies the examples for a thorough (nightly) run.
SCALE = int(os.environ.get("REVSPINE_PROPERTY_SCALE", "1"))
#: Settings for properties that assess one case per example.
ONE = settings(
    max_examples=150 * SCALE,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: Settings for properties that assess every single-fact removal of a case (~150 per example).
MANY = settings(
    max_examples=40 * SCALE,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

POSTOP_CODES = frozenset(
    {
        "antibiotic_prophylaxis",
        "vte_prophylaxis",
        "nutritional_support",
        "brace",
        "smoking_cessation",
    }
)


def run(case: dict[str, Any]) -> Assessment:
    """Validate and assess a case dict as of the fixed assessment date."""
    return assess(Case.model_validate(case), as_of=AS_OF)


def valid(case: dict[str, Any]) -> Case | None:
    """The parsed case, or None when the dict is not a valid case."""
    try:
        return Case.model_validate(case)
    except ValidationError:
        return None


# --------------------------------------------------------------------------------------------
# The base candidate really is one
# --------------------------------------------------------------------------------------------


@pytest.mark.req("REQ-104")
def test_base_case_is_a_surgical_candidate() -> None:
    """The removal property starts from this case, so it must be a complete, concordant
    candidate: nothing missing, nothing to order."""
    a = run(candidate_base())
    assert a.disposition.code == "surgical_candidate", a.disposition
    assert [c.cause for c in a.differential][:1] == ["recurrent_disc_herniation"]
    assert not a.red_flags
    assert not a.workup, [w.test for w in a.workup]
    assert not a.missing_data, [m.field for m in a.missing_data]


@pytest.mark.req("REQ-017")
@pytest.mark.parametrize(
    "disposition", ["urgent", "incomplete_workup", "non_surgical", "surgical_candidate"]
)
def test_perturbed_candidates_reach_every_disposition(disposition: str) -> None:
    """Guards the generators: the properties below see every disposition."""
    find(
        perturbed_candidates().map(lambda p: p.case),
        lambda case: run(case).disposition.code == disposition,
        settings=settings(max_examples=2000, deadline=None, database=None, phases=[Phase.generate]),
    )


# --------------------------------------------------------------------------------------------
# Red flags
# --------------------------------------------------------------------------------------------


@pytest.mark.req("REQ-001", "REQ-101", "HAZ-007", "HAZ-018")
@ONE
@given(any_case())
def test_red_flag_if_and_only_if_urgent(case: dict[str, Any]) -> None:
    a = run(case)
    if a.red_flags:
        assert a.disposition.code == "urgent", [rf.code for rf in a.red_flags]
    if a.disposition.code == "urgent":
        assert a.red_flags, a.disposition


# --------------------------------------------------------------------------------------------
# Unknown is not normal
# --------------------------------------------------------------------------------------------


def _assess_removals(
    case: dict[str, Any], keep: Callable[[str], bool] = lambda path: True
) -> Iterator[tuple[str, Assessment]]:
    """The assessment after each valid single-key deletion from ``case`` whose path ``keep``s."""
    for path, smaller in single_fact_removals(case):
        where = format_path(path)
        if not keep(where):
            continue
        parsed = valid(smaller)
        if parsed is not None:
            yield where, assess(parsed, as_of=AS_OF)


@pytest.mark.req("REQ-102", "HAZ-003", "HAZ-006")
@MANY
@given(perturbed_candidates())
@example(Perturbed(("base",), candidate_base()))
def test_removing_a_fact_never_makes_a_surgical_candidate(p: Perturbed) -> None:
    """Deleting one key, at any depth, from a case that is not a surgical candidate never yields
    one *silently*: if the case with the fact known is not a candidate, the case with that fact
    unknown may only be one when the assessment names the unknown (missing data or a warning),
    so the surgeon is told to confirm it. Otherwise the engine read the unknown as normal.

    (List elements are not deleted here; see ``single_fact_removals``.)"""
    before = run(p.case).disposition.code
    note(f"before: {before}")
    if before == "surgical_candidate":
        return
    silent = [
        path
        for path, a in _assess_removals(p.case)
        if path not in _STUDY_LISTS
        and a.disposition.code == "surgical_candidate"
        and not _surfaced(path, a)
    ]
    assert not silent, f"{before} became surgical_candidate after deleting any of {silent}"


#: Deleting a whole list of studies or results means "not done", not "unknown": whether a test
#: that was not done is needed is the workup rules' job (covered by their own tests); deletions
#: inside a study (a finding's side, a result's date) are still checked here.
_STUDY_LISTS = frozenset(
    {"imaging", "labs", "blocks", "electrodiagnostics", "proms", "evaluations"}
)


def _surfaced(path: str, a: Any) -> bool:
    """Whether the assessment names ``path`` (or a field inside it, or its record) as unknown."""
    named = [m.field for m in a.missing_data] + [w.field for w in a.warnings if w.field]
    record = path.rsplit(".", 1)[0]
    return any(f == path or f.startswith((path + ".", path + "[")) or f == record for f in named)


@pytest.mark.req("REQ-010", "REQ-102", "HAZ-003")
def test_screen_fields_are_required_for_candidacy() -> None:
    """Deleting any field of the candidacy screen (red-flag screen, depression screen) from a
    complete candidate makes it not a candidate: these unknowns block, not just warn."""
    from revspine.rules.workup import RED_FLAG_SCREEN

    case = candidate_base()
    assert run(case).disposition.code == "surgical_candidate"
    for path in (*RED_FLAG_SCREEN, "psychosocial.phq9_total"):
        group, name = path.split(".")
        reduced = {**case, group: {k: v for k, v in case[group].items() if k != name}}
        assert run(reduced).disposition.code == "incomplete_workup", path


def _is_date(path: str) -> bool:
    return path.rsplit(".", 1)[-1] in ("date", "smoking_quit_date", "onset_date")


@pytest.mark.req("REQ-108", "HAZ-002", "HAZ-009")
@MANY
@given(any_case())
def test_deleting_a_date_never_removes_a_workup_test(case: dict[str, Any]) -> None:
    """An unknown date can make a record less trustworthy, never more: deleting the date of a
    surgery, study, lab, exam or evaluation never removes a test from the workup (an undated
    study must not count as current, an undated surgery must not be ignored)."""
    before = {w.test for w in run(case).workup}
    silent = {}
    for path, a in _assess_removals(case, _is_date):
        dropped = sorted(before - {w.test for w in a.workup})
        # Allowed only where the assessment says the record is undated (surfaced, not silent).
        if dropped and not _surfaced(path, a):
            silent[path] = dropped
    assert not silent, f"deleting a date silently dropped workup tests: {silent}"


# --------------------------------------------------------------------------------------------
# ESR and CRP whenever infection is possible
# --------------------------------------------------------------------------------------------


def _plausible(test: str, value: float, unit: str) -> bool:
    canonical = to_canonical(test, value, unit)
    lo, hi = KB.pair(f"plausibility.{_PLAUSIBILITY_KEY[test]}")
    return lo <= canonical <= hi


_PLAUSIBILITY_KEY = {
    "crp": "crp_mg_l",
    "esr": "esr_mm_h",
}


def _current_marker(case: Case, test: str) -> bool:
    """A plausible result dated on or after the last surgery and within the currency window.

    With an undated surgery the last surgery date is unknown, so no result can be shown to
    follow it (unknown is not normal)."""
    if any(s.date is None for s in case.surgeries):
        return False
    last = max((s.date for s in case.surgeries if s.date is not None), default=None)
    max_age = KB.num("currency.infection_labs_valid_days")
    for lab in case.labs:
        if lab.test != test or lab.date is None or lab.date > AS_OF:
            continue
        if (AS_OF - lab.date).days > max_age or (last is not None and lab.date < last):
            continue
        if _plausible(test, lab.value, lab.unit):
            return True
    return False


def _infection_triggers(case: Case) -> list[str]:
    """Fever, chills, wound drainage, prior spine infection, or a pseudarthrosis reported on
    imaging taken after a fusion."""
    s, c = case.symptoms, case.comorbidities
    found = [
        name
        for name, value in (
            ("fever", s.fever),
            ("chills", s.chills),
            ("wound_drainage", s.wound_drainage),
            ("prior_spine_infection", c.prior_spine_infection),
        )
        if value is True
    ]
    fusions = [x.date for x in case.surgeries if x.type == "fusion"]
    if fusions:
        first_fusion = min((d for d in fusions if d is not None), default=None)
        last = max((x.date for x in case.surgeries if x.date is not None), default=None)
        max_age = KB.num("currency.imaging_valid_days")
        for study in case.imaging:
            if not any(f.finding == "pseudarthrosis" for f in study.findings or ()):
                continue
            d = study.date
            if d is not None and (
                d > AS_OF
                or (AS_OF - d).days > max_age
                or (last is not None and d < last)
                or (first_fusion is not None and d < first_fusion)
            ):
                continue
            found.append("pseudarthrosis_on_imaging")
            break
    return found


def infection_cases() -> st.SearchStrategy[dict[str, Any]]:
    """Cases with at least one infection trigger set (often alongside current labs)."""

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        case = draw(any_case())
        trigger = draw(
            st.sampled_from(("fever", "chills", "wound_drainage", "prior_spine_infection"))
        )
        section = "comorbidities" if trigger == "prior_spine_infection" else "symptoms"
        case.setdefault(section, {})[trigger] = True
        return case

    return st.one_of(any_case(), build())


@pytest.mark.req("REQ-013", "REQ-014", "REQ-103", "HAZ-013", "HAZ-002")
@ONE
@given(infection_cases())
def test_possible_infection_orders_esr_and_crp_unless_current(case: dict[str, Any]) -> None:
    parsed = Case.model_validate(case)
    triggers = _infection_triggers(parsed)
    a = assess(parsed, as_of=AS_OF)
    ordered = {w.test for w in a.workup}
    note(f"triggers: {triggers}; workup: {sorted(ordered)}")
    if not triggers:
        return
    for test in ("esr", "crp"):
        if not _current_marker(parsed, test):
            assert test in ordered, f"{test} not ordered despite {triggers}"


# --------------------------------------------------------------------------------------------
# A surgical candidate has a concordant, correctable generator and a complete workup
# --------------------------------------------------------------------------------------------


@pytest.mark.req("REQ-104", "REQ-105", "HAZ-011", "HAZ-012")
@ONE
@given(any_case())
def test_surgical_candidate_needs_a_correctable_generator_and_no_blocking_workup(
    case: dict[str, Any],
) -> None:
    a = run(case)
    if a.disposition.code != "surgical_candidate":
        return
    assert any(c.likelihood == "high" and c.surgically_correctable for c in a.differential)
    assert not [w.test for w in a.workup if w.blocks_decision]


@pytest.mark.req("REQ-106", "HAZ-014")
@ONE
@given(any_case())
def test_postop_orders_exactly_for_surgical_candidates(case: dict[str, Any]) -> None:
    a = run(case)
    codes = {o.code for o in a.postop_orders}
    if a.disposition.code == "surgical_candidate":
        assert codes >= POSTOP_CODES, POSTOP_CODES - codes
    else:
        assert not codes, (a.disposition.code, codes)


# --------------------------------------------------------------------------------------------
# Provenance: every item names a registered rule
# --------------------------------------------------------------------------------------------


def _rule_ids(a: Assessment) -> list[tuple[str, str]]:
    ids: list[tuple[str, str]] = [("disposition", a.disposition.rule_id)]
    for name in ("red_flags", "workup", "optimisation", "surgical_planning", "postop_orders"):
        ids += [(name, item.rule_id) for item in getattr(a, name)]
    ids += [("nonsurgical_plan", item.rule_id) for item in a.nonsurgical_plan]
    for cause in a.differential:
        assert cause.rule_ids, f"differential item {cause.cause} has no rule id"
        ids += [(f"differential.{cause.cause}", r) for r in cause.rule_ids]
        ids += [(f"differential.{cause.cause}.for", f.rule_id) for f in cause.for_]
        ids += [(f"differential.{cause.cause}.against", f.rule_id) for f in cause.against]
    ids += [("missing_data", m.rule_id) for m in a.missing_data]
    ids += [("warnings", w.rule_id) for w in a.warnings if w.rule_id is not None]
    ids += [("rules_fired", r) for r in a.rules_fired]
    return ids


@pytest.mark.req("REQ-202", "HAZ-017")
@ONE
@given(any_case())
def test_every_item_names_a_registered_rule(case: dict[str, Any]) -> None:
    a = run(case)
    unknown = [(where, rid) for where, rid in _rule_ids(a) if rid not in RULE_IDS]
    assert not unknown


# --------------------------------------------------------------------------------------------
# Determinism and robustness
# --------------------------------------------------------------------------------------------


@pytest.mark.req("REQ-113")
@ONE
@given(any_case(), case_dicts())
def test_assessment_is_deterministic(case: dict[str, Any], other: dict[str, Any]) -> None:
    """The same case gives byte-identical JSON, also after assessing an unrelated case."""
    first = run(case).model_dump_json(by_alias=True)
    again = run(case).model_dump_json(by_alias=True)
    run(other)
    after_other = run(case).model_dump_json(by_alias=True)
    assert first == again == after_other


@pytest.mark.req("REQ-113", "HAZ-019")
@ONE
@given(any_case())
def test_engine_never_raises_on_a_valid_case(case: dict[str, Any]) -> None:
    parsed = Case.model_validate(case)
    a = assess(parsed)  # as_of from the case's assessment_date
    assert a.as_of == AS_OF
    assert a.disposition.code in (
        "urgent",
        "incomplete_workup",
        "non_surgical",
        "surgical_candidate",
    )


# --------------------------------------------------------------------------------------------
# Units do not change the advice
# --------------------------------------------------------------------------------------------

#: Canonical values where a unit error would flip a decision: the knowledge file's cut-offs and
#: plausibility bounds for each test.
_CUTOFF_KEYS = {
    "crp": ("infection.crp_upper_mg_l", "infection.crp_high_mg_l"),
    "esr": ("infection.esr_upper_mm_h",),
    "wbc": ("infection.wbc_high_per_ul",),
    "albumin": ("nutrition.albumin_low_g_dl",),
    "transferrin": ("nutrition.transferrin_low_mg_dl",),
    "prealbumin": ("nutrition.prealbumin_low_mg_dl", "nutrition.prealbumin_ssi_risk_mg_dl"),
    "total_lymphocyte_count": ("nutrition.lymphocytes_low_per_ul",),
    "hba1c": ("glycaemia.hba1c_elevated_pct", "glycaemia.hba1c_defer_pct"),
    "vitamin_d": ("vitamin_d.deficient_below_ng_ml", "vitamin_d.insufficient_below_ng_ml"),
    "procalcitonin": (),
}
_ALT_UNITS = [(t, u) for t in _CUTOFF_KEYS for u in known_units(t)[1:]]


def _cutoffs(test: str) -> list[float]:
    return [KB.num(k) for k in _CUTOFF_KEYS[test]]


@st.composite
def lab_in_two_units(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A case plus one current lab, once in its canonical unit and once in another unit."""
    case = draw(st.one_of(perturbed_candidates().map(lambda p: p.case), case_dicts()))
    test, unit = draw(st.sampled_from(_ALT_UNITS))
    lo, hi, decimals = LAB_RANGES[test]
    grid = st.floats(lo, hi, allow_nan=False).map(lambda v: round(v, max(decimals, 0)))
    cut = _cutoffs(test)
    value = draw(st.one_of(st.sampled_from(cut), grid) if cut else grid)
    date = (AS_OF - dt.timedelta(days=draw(st.integers(1, 20)))).isoformat()
    canonical = {"test": test, "value": value, "unit": canonical_unit(test), "date": date}
    other = {"test": test, "value": from_canonical(test, value, unit), "unit": unit, "date": date}
    return case, canonical, other


def _decisions(a: Assessment) -> dict[str, Any]:
    """What a clinician acts on, without free text (which quotes the lab as entered)."""
    return {
        "disposition": a.disposition.code,
        "red_flags": sorted(rf.code for rf in a.red_flags),
        "differential": [
            (
                c.cause,
                c.likelihood,
                c.surgically_correctable,
                sorted(f.strength for f in c.for_),
                sorted(f.strength for f in c.against),
            )
            for c in a.differential
        ],
        "workup": [(w.test, w.priority, w.blocks_decision) for w in a.workup],
        "plans": [
            (name, r.code, r.status)
            for name in ("optimisation", "surgical_planning", "postop_orders", "nonsurgical_plan")
            for r in getattr(a, name)
        ],
        "warnings": sorted((w.code, w.field or "") for w in a.warnings),
        "missing": sorted(m.field for m in a.missing_data),
    }


@pytest.mark.req("REQ-107", "HAZ-001")
@ONE
@given(lab_in_two_units())
@example(
    (
        candidate_base()
        | {"comorbidities": candidate_base()["comorbidities"] | {"diabetes": True}},
        {"test": "hba1c", "value": 7.0, "unit": "%", "date": "2026-10-20"},
        {
            "test": "hba1c",
            "value": from_canonical("hba1c", 7.0, "mmol/mol"),
            "unit": "mmol/mol",
            "date": "2026-10-20",
        },
    )
)
def test_lab_unit_does_not_change_the_assessment(
    labs: tuple[dict[str, Any], dict[str, Any], dict[str, Any]],
) -> None:
    case, canonical, other = labs
    note(f"{canonical['value']} {canonical['unit']} == {other['value']} {other['unit']}")
    a = run(case | {"labs": [*case.get("labs", []), canonical]})
    b = run(case | {"labs": [*case.get("labs", []), other]})
    assert _decisions(a) == _decisions(b)
