"""Step 8 — the non-surgical plan: physical therapy, behavioural health, pain management and,
where it fits, a spinal cord stimulation evaluation (seed document; REFERENCE.md §5.2)."""

from __future__ import annotations

from revspine.domain.assessment import Fact
from revspine.rules.context import Ctx
from revspine.rules.registry import rule


def yellow_flags(ctx: Ctx) -> list[tuple[str, Fact]]:
    """Psychosocial risk factors present (RULE-Y1; thresholds from the knowledge file)."""
    kb, p = ctx.kb, ctx.case.psychosocial
    flags: list[tuple[str, Fact]] = []
    phq9, phq_fact = p.phq9_total, None
    if phq9 is None:
        from revspine.domain.scores import phq9 as score

        for i, prom in enumerate(ctx.case.proms):
            if prom.phq9_answers is not None:
                total = score(prom.phq9_answers).total
                if total is not None:
                    phq9, phq_fact = total, Fact(field=f"proms[{i}].phq9_answers", value=total)
    if phq9 is not None and phq9 >= kb.num("psychosocial.phq9_threshold"):
        flags.append(
            (
                f"PHQ-9 {phq9} (≥ {kb.num('psychosocial.phq9_threshold'):g}).",
                phq_fact if phq_fact is not None else ctx.fact("psychosocial.phq9_total"),
            )
        )
    if p.pain_catastrophizing_total is not None and p.pain_catastrophizing_total >= kb.num(
        "psychosocial.pcs_threshold"
    ):
        flags.append(
            (
                f"Pain catastrophizing {p.pain_catastrophizing_total} (≥ {kb.num('psychosocial.pcs_threshold'):g}).",
                ctx.fact("psychosocial.pain_catastrophizing_total"),
            )
        )
    if p.start_back_risk == "high":
        flags.append(("STarT Back high risk.", ctx.fact("psychosocial.start_back_risk")))
    if p.litigation_or_compensation:
        flags.append(
            (
                "Active compensation claim or litigation.",
                ctx.fact("psychosocial.litigation_or_compensation"),
            )
        )
    if p.daily_opioid_use or (p.opioid_mme_per_day or 0) > 0:
        fact = (
            ctx.fact("psychosocial.opioid_mme_per_day")
            if p.opioid_mme_per_day
            else ctx.fact("psychosocial.daily_opioid_use")
        )
        flags.append(
            (
                "Daily opioid use"
                + (f" ({p.opioid_mme_per_day:g} MME/day)." if p.opioid_mme_per_day else "."),
                fact,
            )
        )
    for name in ("depression", "anxiety", "substance_use"):
        if getattr(ctx.case.comorbidities, name):
            flags.append(
                (f"{name.replace('_', ' ').capitalize()}.", ctx.fact(f"comorbidities.{name}"))
            )
    return flags


def _plan_applies(ctx: Ctx) -> bool:
    return ctx.out.disposition == "non_surgical"


@rule("NS001", "Physical therapy", evidence=("seed", "4"), requirements=("REQ-018",))
def physical_therapy(ctx: Ctx) -> None:
    """Physical therapy to restore function is the base of non-surgical care (seed document;
    multidisciplinary care preferred for patients unlikely to benefit from surgery [4])."""
    if _plan_applies(ctx):
        ctx.recommend(
            ctx.out.nonsurgical,
            "physical_therapy",
            "Physical therapy / active rehabilitation to restore function.",
            evidence=["seed", "4"],
        )


@rule(
    "NS002",
    "Behavioural health",
    evidence=("seed", "4", "76", "77"),
    params=("psychosocial.pcs_threshold", "psychosocial.phq9_threshold"),
    requirements=("REQ-007", "REQ-018"),
)
def behavioural_health(ctx: Ctx) -> None:
    """Behavioural health addresses mental and emotional health (seed document); yellow flags
    predict poor surgical outcomes [76][77]."""
    flags = yellow_flags(ctx)
    if _plan_applies(ctx) or (flags and ctx.out.disposition != "urgent"):
        text = (
            "Behavioural-health care (CBT-informed pain psychology, depression/anxiety treatment)."
        )
        ctx.recommend(
            ctx.out.nonsurgical,
            "behavioral_health",
            text,
            facts=[f for _, f in flags],
            evidence=["seed", "4", "77"],
        )


@rule("NS003", "Pain management", evidence=("seed", "4"), requirements=("REQ-018",))
def pain_management(ctx: Ctx) -> None:
    """Pain-management programme; opioids are rarely beneficial in FBSS [4] (seed document)."""
    if _plan_applies(ctx):
        mme = ctx.get("psychosocial.opioid_mme_per_day")
        text = "Multidisciplinary pain management; opioids are rarely beneficial" + (
            " — review the current opioid dose." if mme else "."
        )
        ctx.recommend(
            ctx.out.nonsurgical,
            "pain_management",
            text,
            facts=[ctx.fact("psychosocial.opioid_mme_per_day")] if mme else [],
            evidence=["seed", "4"],
        )


@rule(
    "NS004",
    "Spinal cord stimulation evaluation (RULE-S1)",
    evidence=("44", "45", "46", "47", "92", "93", "106"),
    params=("scs.min_nrs", "scs.min_duration_months", "scs.trial_success_pct"),
    unverified=True,
    requirements=("REQ-018",),
)
def scs(ctx: Ctx) -> None:
    """SCS is considered for predominantly neuropathic leg pain (leg ≥ back) of NRS ≥ 5 for
    ≥ 6 months despite conventional care, without a surgically correctable generator, after a
    psychological assessment and with no active infection; trial success = ≥ 50% relief
    [44][46]. It is not supported for predominantly low back pain outside trials [47]. MRSA screen
    < 4 weeks before implant (one NHS policy) [106]. NRS ≥ 5 equivalence and the psychological
    gate are unverified."""
    from revspine.rules.disposition import generators

    if not _plan_applies(ctx) or generators(ctx):
        return  # RULE-S1: only without a surgically correctable generator
    s = ctx.case.symptoms
    leg = s.leg_pain_nrs if s.leg_pain_nrs is not None else s.pain_nrs
    leg_dominant = s.predominant_pain == "radicular" or (
        s.leg_pain_nrs is not None
        and s.back_pain_nrs is not None
        and s.leg_pain_nrs >= s.back_pain_nrs
    )
    neuropathic = ctx.radicular is True or s.neuropathic_features is True
    if not (neuropathic and leg_dominant):
        return
    facts = [
        ctx.fact("symptoms.predominant_pain"),
        ctx.fact("symptoms.leg_pain_nrs"),
        ctx.fact("symptoms.pain_duration_months"),
    ]
    missing = []
    if leg is None:
        missing.append("pain NRS")
        ctx.missing("symptoms.leg_pain_nrs", "needed for SCS candidacy")
    elif leg < ctx.kb.num("scs.min_nrs"):
        return
    if s.pain_duration_months is None:
        missing.append("pain duration")
        ctx.missing("symptoms.pain_duration_months", "needed for SCS candidacy (≥ 6 months)")
    elif s.pain_duration_months < ctx.kb.num("scs.min_duration_months"):
        return
    psych_done = ctx.case.psychosocial.evaluation is not None
    status = "eligible_for_assessment" if not missing and psych_done else "check_criteria"
    text = f"Refer for multidisciplinary spinal cord stimulation assessment and trial (success = ≥ {ctx.kb.num('scs.trial_success_pct'):g}% relief of the target pain); MRSA screen within 4 weeks before implant."
    if not psych_done:
        text += " Psychological assessment first."
    if missing:
        text += f" Record: {', '.join(missing)}."
    ctx.recommend(
        ctx.out.nonsurgical,
        "scs_evaluation",
        text,
        status=status,
        facts=facts,
        evidence=["44", "45", "46", "106"],
        unverified=True,
    )


@rule(
    "NS005",
    "Referral for non-spinal generators",
    evidence=("seed", "4", "52", "55"),
    requirements=("REQ-006", "REQ-018"),
)
def referrals(ctx: Ctx) -> None:
    """Likely non-spinal or non-structural generators go to the right service: hip
    (orthopaedics), SI joint (interventional / SI management), peripheral neuropathy (neurology),
    vascular claudication (vascular surgery), fibromyalgia (rheumatology / pain) (seed document;
    REFERENCE.md §3.1)."""
    if ctx.out.disposition not in ("non_surgical", "surgical_candidate"):
        return
    routes = {
        "hip_pathology": "Orthopaedic hip assessment.",
        "sacroiliac_joint": "SI-joint management (injection, physiotherapy; SI fusion only after controlled blocks).",
        "peripheral_neuropathy": "Neurology review of the neuropathy (e.g. diabetic).",
        "vascular_claudication": "Vascular surgery review.",
        "widespread_pain_syndrome": "Rheumatology / pain-service care for widespread pain.",
        "epidural_fibrosis": "Neuropathic-pain management (scar is a poor surgical target).",
    }
    for cause, text in routes.items():
        cb = ctx.out.causes.get(cause)
        if cb is not None and cb.likelihood in ("high", "moderate"):
            ctx.recommend(
                ctx.out.nonsurgical,
                f"refer_{cause}",
                text,
                facts=[f for x in cb.for_ for f in x.facts][:4],
                evidence=list(cb.evidence),
            )
