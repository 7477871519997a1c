"""Step 4 — the disposition: urgent, incomplete workup, non-surgical, or revision candidate.

Follows RULE-D-main (REFERENCE.md §5.1): red flags first; then a workup complete enough to name
the cause; then a concordant, surgically correctable pain generator; then the non-surgical
determinants (widespread pain, psychosocial flags); only then a revision candidate. Surgery on
an incomplete or inaccurate diagnosis compounds the problem (seed document).
"""

from __future__ import annotations

from revspine.domain.assessment import Fact
from revspine.rules.context import CauseBuilder, Ctx
from revspine.rules.registry import rule


def generators(ctx: Ctx) -> list[CauseBuilder]:
    """Surgically correctable causes of high likelihood whose lesion matches the pain."""
    return [
        cb
        for name, cb in ctx.out.causes.items()
        if cb.correctable
        and name != "infection"
        and cb.likelihood == "high"
        and cb.concordant is True
    ]


def _set(
    ctx: Ctx, code: str, summary: str, reasons: list[str], facts: list[Fact] | None = None
) -> None:
    ctx.fire()
    out = ctx.out
    out.disposition, out.disposition_summary, out.disposition_reasons = code, summary, reasons
    out.disposition_rule, out.disposition_facts = ctx.rule_id, facts or []


@rule(
    "DS001",
    "Disposition (RULE-D-main)",
    evidence=("seed", "1", "3", "4", "49", "50", "77", "78", "79"),
    requirements=("REQ-017", "REQ-101", "REQ-104", "REQ-105"),
)
def disposition(ctx: Ctx) -> None:
    """Decides the next step. Red flags → ``urgent`` (RULE-R1). Missing diagnostic workup, or a
    suspected infection not yet worked up → ``incomplete_workup``. No concordant, surgically
    correctable generator (or only scar, neuropathy, widespread pain or a non-spinal cause) →
    ``non_surgical``. Widespread pain, or psychosocial flags judged to need treatment first →
    ``non_surgical``; flags not yet assessed, or pre-revision items (ESR/CRP, history) missing →
    ``incomplete_workup``. Otherwise ``surgical_candidate`` for surgeon review. Seed document;
    [1][3][4][77]."""
    out = ctx.out
    gates = out.workup_gate
    if out.red_flags:
        _set(
            ctx,
            "urgent",
            "Red flag(s): same-day evaluation; elective revision planning is suspended until cleared.",
            [rf.rationale for rf in out.red_flags],
            [f for rf in out.red_flags for f in rf.facts],
        )
        return
    diag = [t for t, g in gates.items() if g == "diagnosis"]
    if diag:
        _set(
            ctx,
            "incomplete_workup",
            "The cause is not yet established: complete the workup before any treatment decision.",
            [f"{t.replace('_', ' ')}: {out.workup[t].reason}" for t in diag],
            [f for t in diag for f in out.workup[t].facts],
        )
        return
    inf = out.causes.get("infection")
    if inf is not None and inf.likelihood == "high":
        _set(
            ctx,
            "incomplete_workup",
            "Infection is likely: identify the organism and treat it before any revision.",
            [f.text for f in inf.for_ if f.strength != "weak"],
            [f for x in inf.for_ for f in x.facts],
        )
        return
    gens = generators(ctx)
    widespread = out.causes.get("widespread_pain_syndrome")
    if not gens:
        likely = [n for n, cb in out.causes.items() if cb.likelihood != "low"]
        reason = "No concordant, surgically correctable pain generator was identified."
        extra = (
            [f"Likely contributors: {', '.join(n.replace('_', ' ') for n in likely)}."]
            if likely
            else []
        )
        _set(
            ctx,
            "non_surgical",
            "Non-surgical management: no surgically correctable pain generator.",
            [reason, *extra],
        )
        return
    if widespread is not None and widespread.likelihood != "low":
        _set(
            ctx,
            "non_surgical",
            "Widespread pain syndrome: further spine surgery is unlikely to help.",
            [f.text for f in widespread.for_],
            [f for x in widespread.for_ for f in x.facts],
        )
        return
    psych = out.causes.get("psychosocial_contributors")
    evaluation = ctx.case.psychosocial.evaluation
    if psych is not None and evaluation is not None and evaluation.outcome != "no_contraindication":
        _set(
            ctx,
            "non_surgical",
            "Behavioural health first, then re-evaluate.",
            [f"Psychological evaluation: {evaluation.outcome.replace('_', ' ')}."],
            [ctx.fact("psychosocial.evaluation.outcome")],
        )
        return
    pre = [t for t, g in gates.items() if g == "revision"]
    if pre:
        _set(
            ctx,
            "incomplete_workup",
            "A correctable generator is likely, but the pre-revision workup is incomplete.",
            [f"{t.replace('_', ' ')}: {out.workup[t].reason}" for t in pre],
            [f for t in pre for f in out.workup[t].facts],
        )
        return
    names = ", ".join(cb.cause.replace("_", " ") for cb in gens)
    _set(
        ctx,
        "surgical_candidate",
        f"Revision-surgery candidate for surgeon review: concordant {names}.",
        [f"{cb.cause.replace('_', ' ')}: {cb.concordance_note}" for cb in gens],
        [f for cb in gens for x in cb.for_ if x.strength == "confirmatory" for f in x.facts],
    )


#: Facts that, were they present, would stop or delay a revision. When a revision is suggested
#: with any of them unknown, each is listed as missing data so the unknown is never read as
#: normal in silence (REFERENCE.md §3, §5.1).
VETO_FACTS = (
    "symptoms.bowel_bladder_dysfunction",
    "symptoms.saddle_anaesthesia",
    "symptoms.weakness",
    "symptoms.weakness_progressive",
    "symptoms.fever",
    "symptoms.chills",
    "symptoms.night_sweats",
    "symptoms.weight_loss",
    "symptoms.night_pain",
    "symptoms.wound_drainage",
    "symptoms.recent_trauma",
    "symptoms.sudden_severe_pain",
    "symptoms.widespread_pain",
    "symptoms.groin_pain",
    "symptoms.buttock_pain",
    "symptoms.neuropathic_features",
    "symptoms.stocking_distribution",
    "symptoms.vascular_claudication",
    "symptoms.mechanical_pain",
    "symptoms.neurogenic_claudication",
    "symptoms.forward_stoop",
    "comorbidities.fibromyalgia",
    "comorbidities.cancer",
    "comorbidities.diabetes",
    "comorbidities.peripheral_neuropathy",
    "comorbidities.peripheral_vascular_disease",
    "comorbidities.hip_osteoarthritis",
    "comorbidities.depression",
    "comorbidities.anxiety",
    "comorbidities.substance_use",
    "comorbidities.prior_spine_infection",
    "comorbidities.osteoporosis",
    "comorbidities.long_term_steroids",
    "comorbidities.immunosuppression",
    "comorbidities.iv_drug_use",
    "psychosocial.phq9_item9",
    "psychosocial.pain_catastrophizing_total",
    "psychosocial.start_back_risk",
    "psychosocial.litigation_or_compensation",
    "psychosocial.opioid_mme_per_day",
    "psychosocial.daily_opioid_use",
    "exam.motor_deficit",
    "exam.wound",
    "exam.post_void_residual_ml",
    "exam.hip_exam",
    "exam.si_provocation_positive",
    "exam.psis_tenderness",
    "exam.distal_pulses",
    "exam.stocking_sensory_loss",
)


@rule(
    "DS002",
    "Unknowns behind a revision suggestion",
    evidence=("seed", "3"),
    requirements=("REQ-102", "REQ-104"),
)
def unknowns_behind_candidacy(ctx: Ctx) -> None:
    """When revision is suggested, every fact that would have stopped or delayed it but was not
    recorded is listed as missing data, so the surgeon can confirm it is absent: unknown is never
    read as normal in silence (seed document: no surgery on an incomplete diagnosis; [3])."""
    if ctx.out.disposition != "surgical_candidate":
        return
    case = ctx.case
    phq9_from_prom = any(p.phq9_answers is not None for p in case.proms)
    for path in VETO_FACTS:
        if path == "psychosocial.phq9_item9" and phq9_from_prom:
            continue
        if ctx.get(path) is None:
            ctx.fire()
            ctx.missing(path, "not recorded: confirm it is absent before revision")
