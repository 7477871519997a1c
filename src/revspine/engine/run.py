"""The engine: ``assess(case, knowledge, as_of) -> Assessment``. Pure and deterministic: it
never reads the clock, the environment or files."""

from __future__ import annotations

from datetime import date
from typing import Any

from revspine.domain.assessment import (
    ASSESSMENT_SCHEMA_VERSION,
    INTENDED_USE,
    Assessment,
    CauseAssessment,
    Derived,
    DispositionResult,
    Finding,
    KnowledgeInfo,
    WorkupItem,
    trusted,
    trusted_maker,
)
from revspine.domain.case import Case
from revspine.domain.checks import contradictions
from revspine.domain.scores import odi
from revspine.domain.scores import phq9 as phq9_score
from revspine.errors import EngineError
from revspine.knowledge import Knowledge, load_knowledge
from revspine.rules.context import CauseBuilder, Ctx
from revspine.rules.registry import Rule, RuleFn, ordered_rules

_TIER = {"high": 2, "moderate": 1, "low": 0}
#: The Assessment fields the engine sets (the others keep their defaults and stay unset).
_ASSESSMENT_GIVEN = frozenset(Assessment.model_fields) - {
    "schema_version",
    "intended_use",
    "sensitivity",
}
_cause_assessment = trusted_maker(CauseAssessment)
_workup_item = trusted_maker(WorkupItem)
_derived = trusted_maker(Derived)
_RULES: list[Rule] = []
#: _RULES as (id, function) pairs, split before the first rule after the RF and DX steps (where
#: the differential is finalised); recomputed when _RULES is replaced or grows.
_PLAN: list[tuple[list[Rule], int, list[list[tuple[str, RuleFn]]]]] = []


def _plan() -> list[list[tuple[str, RuleFn]]]:
    if _PLAN and _PLAN[0][0] is _RULES and _PLAN[0][1] == len(_RULES):
        return _PLAN[0][2]
    pairs = [(r.id, r.fn) for r in _RULES]
    split = next((i for i, (rid, _) in enumerate(pairs) if rid[:2] not in ("RF", "DX")), None)
    plan = [pairs] if split is None else [pairs[:split], pairs[split:]]
    _PLAN[:] = [(_RULES, len(_RULES), plan)]
    return plan


def _strengths(findings: list[Finding]) -> tuple[int, int, int]:
    """How many of ``findings`` are confirmatory, supporting and weak."""
    conf = sup = weak = 0
    for f in findings:
        strength = f.strength
        if strength == "confirmatory":
            conf += 1
        elif strength == "supporting":
            sup += 1
        elif strength == "weak":
            weak += 1
    return conf, sup, weak


def _likelihood(cb: CauseBuilder) -> str:
    conf_for, sup_for, _ = _strengths(cb.for_)
    conf_against = _strengths(cb.against)[0]
    if conf_for and not conf_against:
        return "high"
    if conf_against and not conf_for:
        return "low"
    if conf_for or sup_for:
        return "moderate"
    return "low"


def _rank_key(cb: CauseBuilder) -> tuple[int, int, int, int, str]:
    tier = _TIER[cb.likelihood]
    conf_for, sup_for, weak = _strengths(cb.for_)
    conf_against, sup_against, _ = _strengths(cb.against)
    return (-tier, -(conf_for - conf_against), -(sup_for - sup_against), -weak, cb.cause)


def _finalise_differential(ctx: Ctx) -> None:
    for name in [n for n, cb in ctx.out.causes.items() if not cb.for_]:
        del ctx.out.causes[name]
    for cb in ctx.out.causes.values():
        cb.likelihood = _likelihood(cb)


def assess(
    case: Case,
    knowledge: Knowledge | None = None,
    as_of: date | None = None,
    *,
    sensitivity: bool = False,
) -> Assessment:
    """Assess one case. ``as_of`` defaults to the case's assessment date; one of them is needed.

    ``sensitivity=True`` adds the decision-sensitivity analysis to an incomplete-workup
    assessment (each missing test's plausible results and the disposition each would lead to;
    see :mod:`revspine.engine.sensitivity`). It re-runs the engine on hypothetical copies of the
    case, so it is opt-in; the rest of the assessment is identical either way."""
    kb = knowledge or load_knowledge()
    when = as_of or case.assessment_date
    if when is None:
        raise ValueError("as_of is required when the case has no assessment_date")
    if not _RULES:
        _RULES.extend(ordered_rules())
    ctx = Ctx(case, kb, when)
    for problem in contradictions(case):
        ctx.warn("contradictory_input", problem.message, problem.path)
    for i, rules in enumerate(_plan()):
        if i:
            _finalise_differential(ctx)
        for rule_id, fn in rules:
            ctx.rule_id = rule_id
            try:
                fn(ctx)
            except Exception as exc:  # a rule bug must name the rule
                raise EngineError(rule_id, exc) from exc
    result = _build(ctx)
    if sensitivity and result.disposition.code == "incomplete_workup":
        from revspine.engine.sensitivity import analyse

        result = result.model_copy(update={"sensitivity": analyse(case, kb, when, result)})
    return result


def _build(ctx: Ctx) -> Assessment:
    out, kb = ctx.out, ctx.kb
    ranked = sorted(out.causes.values(), key=_rank_key)
    differential = [
        _cause_assessment(
            {
                "cause": cb.cause,
                "likelihood": cb.likelihood,
                "rank": i + 1,
                "for_": list(cb.for_),
                "against": list(cb.against),
                "surgically_correctable": cb.correctable,
                "rule_ids": list(cb.rule_ids),
                "evidence": list(cb.evidence),
            },
        )
        for i, cb in enumerate(ranked)
    ]
    reached_revision_gate = out.disposition in ("surgical_candidate",) or (
        out.disposition == "incomplete_workup"
        and not any(g == "diagnosis" for g in out.workup_gate.values())
    )
    workup = []
    for test, item in out.workup.items():
        gate = out.workup_gate[test]
        if gate in ("revision", "prep") and out.disposition in ("urgent", "non_surgical"):
            continue  # only needed before a revision that is not on the table
        workup.append(
            _workup_item(
                {
                    "test": item.test,
                    "priority": item.priority,
                    "reason": item.reason,
                    "blocks_decision": gate == "diagnosis"
                    or (gate == "revision" and reached_revision_gate),
                    "rule_id": item.rule_id,
                    "facts": item.facts,
                    "evidence": item.evidence,
                },
            )
        )
    workup.sort(key=lambda w: (w.priority != "urgent", not w.blocks_decision))
    odi_pct = None
    for i in range(len(ctx.case.proms) - 1, -1, -1):
        answers = ctx.case.proms[i].odi_answers
        if answers is not None:
            result = odi(answers, int(kb.num("proms.odi_max_missing_sections")))
            odi_pct = result.percent
            if not result.valid:
                ctx.rule_id = ""
                ctx.warn("odi_invalid", "; ".join(result.problems), f"proms[{i}].odi_answers")
            break
    phq9 = ctx.case.psychosocial.phq9_total
    if phq9 is None:
        for prom in reversed(ctx.case.proms):
            if prom.phq9_answers is not None:
                phq9 = phq9_score(prom.phq9_answers).total
                break
    ors = kb.value("prior_operations.odds_ratio_not_acceptable")
    # Every value already of its declared type (validation would change nothing): ints, floats
    # (bmi and the ODI percentage are rounded floats), a date, a bool and a window code.
    derived = _derived(
        {
            "age": ctx.age,
            "bmi": ctx.bmi,
            "prior_surgeries": ctx.surgery_count,
            "last_surgery_date": ctx.last_surgery_date,
            "days_since_last_surgery": ctx.days_since,
            "time_window": ctx.window,
            "fusion_in_history": ctx.fusion,
            "odi_percent": None if odi_pct is None else round(odi_pct, 1),
            "odi_acceptable_state": None
            if odi_pct is None
            else odi_pct <= kb.num("proms.odi_acceptable_max"),
            "phq9_total": phq9,
            "caprini_score": out.caprini,
            "prior_ops_odds_ratio": float(ors[min(ctx.surgery_count, len(ors)) - 1])
            if ctx.surgery_count
            else None,
        }
    )
    assert out.disposition is not None
    values: dict[str, Any] = {
        "schema_version": ASSESSMENT_SCHEMA_VERSION,
        "case_id": ctx.case.case_id,
        "as_of": ctx.as_of,
        "intended_use": INTENDED_USE,
        "knowledge": trusted(
            KnowledgeInfo,
            {
                "id": kb.meta.id,
                "version": kb.version,
                "sha256": kb.sha256,
                "overrides": [o.model_dump() for o in kb.overrides],
            },
        ),
        "disposition": trusted(
            DispositionResult,
            {
                "code": out.disposition,
                "summary": out.disposition_summary,
                "reasons": list(out.disposition_reasons),
                "rule_id": out.disposition_rule,
                "facts": list(out.disposition_facts),
            },
        ),
        "red_flags": list(out.red_flags),
        "differential": differential,
        "workup": workup,
        "optimisation": list(out.optimisation),
        "surgical_planning": list(out.planning),
        "postop_orders": list(out.postop),
        "nonsurgical_plan": list(out.nonsurgical),
        "missing_data": list(out.missing.values()),
        "warnings": list(out.warnings),
        "derived": derived,
        "rules_fired": list(out.fired),
        "sensitivity": [],
    }
    if type(ctx.as_of) is not date:  # e.g. a datetime: validation converts or rejects it
        return Assessment(**{k: v for k, v in values.items() if k in _ASSESSMENT_GIVEN})
    return trusted(Assessment, values, set(_ASSESSMENT_GIVEN))
