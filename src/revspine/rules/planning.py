"""Step 6 — planning aids for a revision candidate: timing and gates, approach, levels,
sagittal alignment and the prognosis from prior operations (REFERENCE.md §5.3, §6)."""

from __future__ import annotations

from revspine.domain.assessment import Fact
from revspine.domain.units import to_canonical
from revspine.rules.context import Ctx
from revspine.rules.optimisation import hba1c_band, nutrition_state, smoking_gate
from revspine.rules.registry import rule


def _grade(value: float, band: tuple[float, float]) -> str:
    lo, hi = band
    return "0" if value < lo else ("+" if value <= hi else "++")


def schwab_modifiers(ctx: Ctx) -> dict[str, tuple[str | None, float, Fact]]:
    """SRS–Schwab grade of PI−LL, SVA (cm) and PT from the latest current spinopelvic
    measurement (RULE-A1) [41][42]. Missing parameters are absent from the result."""
    studies = [(i, s) for i, s in ctx.studies if s.spinopelvic is not None]
    if not studies:
        return {}
    i, study = max(studies, key=lambda t: (t[1].date is not None, t[1].date))
    sp = study.spinopelvic
    assert sp is not None
    kb = ctx.kb
    out: dict[str, tuple[str | None, float, Fact]] = {}
    if sp.pi is not None and sp.ll is not None:
        v = sp.pi - sp.ll
        out["PI−LL"] = (
            _grade(v, kb.pair("sagittal.pi_ll_deg")),
            v,
            Fact(field=f"imaging[{i}].spinopelvic", value=f"PI {sp.pi:g}, LL {sp.ll:g}"),
        )
    if sp.sva is not None:
        mm = to_canonical("length", sp.sva.value, sp.sva.unit)
        lo, hi = kb.pair("plausibility.sva_mm")
        if lo <= mm <= hi:
            cm = mm / 10
            out["SVA (cm)"] = (
                _grade(cm, kb.pair("sagittal.sva_cm")),
                cm,
                Fact(
                    field=f"imaging[{i}].spinopelvic.sva", value=f"{sp.sva.value:g} {sp.sva.unit}"
                ),
            )
        else:
            ctx.warn(
                "implausible_value",
                f"SVA {sp.sva.value:g} {sp.sva.unit} is implausible and was not used.",
                f"imaging[{i}].spinopelvic.sva",
            )
    if sp.pt is not None:
        out["PT"] = (
            _grade(sp.pt, kb.pair("sagittal.pt_deg")),
            sp.pt,
            Fact(field=f"imaging[{i}].spinopelvic.pt", value=sp.pt),
        )
    return out


def _applies(ctx: Ctx) -> bool:
    return ctx.out.disposition == "surgical_candidate"


@rule(
    "PL001",
    "Timing and optimisation gates",
    evidence=("6", "18", "23", "27", "28", "35", "40", "77"),
    params=(
        "currency.hba1c_valid_days",
        "currency.nutrition_labs_valid_days",
        "fusion.min_months_to_call_nonunion",
        "glycaemia.hba1c_defer_pct",
        "nutrition.albumin_low_g_dl",
        "nutrition.lymphocytes_low_per_ul",
        "nutrition.prealbumin_low_mg_dl",
        "nutrition.transferrin_low_mg_dl",
        "smoking.abstinence_before_weeks",
        "vitamin_d.deficient_below_ng_ml",
    ),
    requirements=("REQ-019", "REQ-020"),
)
def timing(ctx: Ctx) -> None:
    """Elective revision waits until every gate is met: infection excluded or treated,
    nutrition adequate, ≥ 4 weeks smoke-free, HbA1c < 8%, vitamin D ≥ 20 ng/mL, psychological
    assessment done when flagged, and non-union not called before 12 months (REFERENCE.md §6.1)."""
    if not _applies(ctx):
        return
    gates: dict[str, str] = {}
    gates["smoking"] = smoking_gate(ctx)[0]
    nutrition = nutrition_state(ctx)[0]
    needed = any(t in ctx.out.workup for t in ("albumin", "transferrin"))
    gates["nutrition"] = "not_required" if nutrition == "unknown" and not needed else nutrition
    band = hba1c_band(ctx)[0]
    diabetic = ctx.get("comorbidities.diabetes")
    gates["glycaemia"] = {"acceptable": "met", "elevated_risk": "met", "defer": "not_met"}.get(
        band, "not_required" if diabetic is False else "unknown"
    )
    vd = ctx.latest("vitamin_d")
    if vd is not None or ctx.fusion:
        deficient = vd is not None and vd.value < ctx.kb.num("vitamin_d.deficient_below_ng_ml")
        gates["vitamin_d"] = "unknown" if vd is None else ("not_met" if deficient else "met")
    gates["infection_excluded"] = "met"
    if "psychosocial_contributors" in ctx.out.causes:
        gates["psychological_assessment"] = "met" if ctx.case.psychosocial.evaluation else "not_met"
    if "pseudarthrosis" in ctx.out.causes and ctx.months_since_fusion is not None:
        gates["fusion_age_12_months"] = (
            "met"
            if ctx.months_since_fusion >= ctx.kb.num("fusion.min_months_to_call_nonunion")
            else "not_met"
        )
    open_gates = [g for g, s in gates.items() if s not in ("met", "not_required")]
    text = (
        "Schedule the elective revision when every gate is met."
        if open_gates
        else "All optimisation gates met: elective revision can be scheduled."
    )
    if open_gates:
        text += (
            " Open: "
            + ", ".join(f"{g.replace('_', ' ')} ({gates[g].replace('_', ' ')})" for g in open_gates)
            + "."
        )
    ctx.recommend(
        ctx.out.planning,
        "timing",
        text,
        status="ready" if not open_gates else "optimise_first",
        details={"gates": gates},
        evidence=["6", "18", "23", "35"],
    )


@rule(
    "PL002",
    "Surgical approach",
    evidence=("6", "8", "50", "107"),
    unverified=True,
    requirements=("REQ-019",),
)
def approach(ctx: Ctx) -> None:
    """Address the failed column: a posterior non-union is often revised through an anterior or
    lateral interbody approach [6][107] (ALIF resolved back and leg pain in 60.9% of 46 FBSS
    patients); recurrent herniation is usually treated by repeat discectomy, fusion being kept for
    instability or multiple recurrences [8][50]; a previous approach's scar favours another
    route. Approach choice is unverified common practice."""
    if not _applies(ctx):
        return
    gens = {
        c
        for c, cb in ctx.out.causes.items()
        if cb.correctable and cb.concordant and cb.likelihood == "high"
    }
    prior = {s.approach for s in ctx.case.surgeries if s.approach}
    facts = [
        Fact(field=f"surgeries[{i}].approach", value=s.approach)
        for i, s in enumerate(ctx.case.surgeries)
        if s.approach
    ]
    if "pseudarthrosis" in gens or "hardware_failure" in gens:
        if "posterior" in prior and "anterior" not in prior:
            text = "Failed posterior fusion: consider an anterior or lateral interbody approach to treat the failed column (virgin plane)."
        elif "anterior" in prior:
            text = "Prior anterior approach: scar raises anterior revision risk; consider a posterior or lateral route."
        else:
            text = "Revision fusion: choose the approach that treats the failed column; record the prior approach."
        ctx.recommend(
            ctx.out.planning, "approach", text, facts=facts, evidence=["6", "107"], unverified=True
        )
    if "recurrent_disc_herniation" in gens:
        count = sum(1 for s in ctx.case.surgeries if s.type == "discectomy")
        text = "Recurrent herniation: repeat discectomy gives results close to the primary operation; reserve fusion for instability or multiple recurrences."
        if count >= 2 or "instability" in ctx.out.causes:
            text += " Multiple recurrences or instability present: discuss fusion."
        ctx.recommend(
            ctx.out.planning,
            "approach",
            text,
            facts=facts + [Fact(field="derived.discectomies", value=count)],
            evidence=["8", "50"],
            unverified=True,
        )
    if gens & {
        "residual_stenosis",
        "inadequate_decompression_or_wrong_level",
        "adjacent_segment_disease",
    }:
        text = "Decompress the symptomatic (concordant) level; a laminectomy next to a fusion increases adjacent-segment degeneration — include it in the construct if it is unstable."
        ctx.recommend(
            ctx.out.planning, "approach", text, facts=facts, evidence=["87", "108"], unverified=True
        )


@rule(
    "PL003",
    "Levels from concordant findings",
    evidence=("99", "87", "108"),
    requirements=("REQ-019", "REQ-110"),
)
def levels(ctx: Ctx) -> None:
    """Treat the levels where imaging, the clinical pattern and any block agree; include
    unstable or stenotic segments; avoid ending a construct at a degenerated or kyphotic junction
    (short fusions ending at the thoracolumbar junction were the commonest planning error) [99]."""
    if not _applies(ctx):
        return
    lv: set[str] = set()
    facts: list[Fact] = []
    for cb in ctx.out.causes.values():
        if cb.correctable and cb.concordant and cb.likelihood == "high":
            for f in cb.for_:
                if f.strength == "confirmatory":
                    facts += f.facts
    for code in (
        "pseudarthrosis",
        "hardware_loosening",
        "hardware_fracture",
        "hardware_malposition",
        "recurrent_herniation",
        "residual_stenosis",
        "foraminal_stenosis",
        "adjacent_segment_degeneration",
        "instability",
    ):
        for h in ctx.has(code):
            lv |= set(h.levels)
    text = (
        f"Concordant level(s): {', '.join(sorted(lv))}."
        if lv
        else "Levels not specified on imaging: state the level of every lesion."
    )
    text += " Avoid ending a construct at a degenerated or kyphotic junction."
    ctx.recommend(
        ctx.out.planning,
        "levels",
        text,
        details={"levels": sorted(lv)},
        facts=facts[:6],
        evidence=["99"],
    )


@rule(
    "PL004",
    "Sagittal alignment (RULE-A1)",
    evidence=("41", "42", "43", "109", "110", "119"),
    params=(
        "sagittal.pi_ll_deg",
        "sagittal.sva_cm",
        "sagittal.pt_deg",
        "sagittal.ll_target_offset_deg",
        "sagittal.ll_target_alt_slope",
        "sagittal.ll_target_alt_intercept_deg",
    ),
    requirements=("REQ-019",),
)
def alignment(ctx: Ctx) -> None:
    """Grades PI−LL, SVA and PT (SRS–Schwab 0 / + / ++) and shows two lumbar-lordosis targets,
    since sources disagree: LL = PI + 9° (unverified) and LL = 0.62 × PI + 27.61 [43]. Aim for all
    modifiers grade 0 (PI−LL < 10°, SVA < 4 cm, PT < 20°) [41]; persisting mismatch raises revision
    risk ~10× [119]; 10° at L4–S1 moves SVA ~100 mm [109]."""
    if not _applies(ctx):
        return
    mods = schwab_modifiers(ctx)
    if not mods:
        if ctx.fusion:
            ctx.missing("imaging.spinopelvic", "PI, LL, PT and SVA are needed to plan alignment")
        return
    details: dict[str, object] = {
        k: {"value": round(v[1], 1), "grade": v[0]} for k, v in mods.items()
    }
    sp = next(s.spinopelvic for _, s in reversed(ctx.studies) if s.spinopelvic is not None)
    text = "; ".join(f"{k} {v[1]:.1f} ({v[0]})" for k, v in mods.items()) + "."
    if sp is not None and sp.pi is not None:
        t1 = sp.pi + ctx.kb.num("sagittal.ll_target_offset_deg")
        t2 = ctx.kb.num("sagittal.ll_target_alt_slope") * sp.pi + ctx.kb.num(
            "sagittal.ll_target_alt_intercept_deg"
        )
        details["ll_target_pi_plus_9"] = round(t1, 1)
        details["ll_target_age_adjusted"] = round(t2, 1)
        text += f" LL targets: {t1:.0f}° (PI + 9°, unverified) or {t2:.0f}° (0.62 × PI + 27.61)."
    plus = sum({"0": 0, "+": 1, "++": 2}[v[0] or "0"] for v in mods.values())
    details["schwab_plus_count"] = plus
    ctx.recommend(
        ctx.out.planning,
        "sagittal_alignment",
        text,
        status="malaligned" if plus else "aligned",
        details=details,
        facts=[v[2] for v in mods.values()],
        evidence=["41", "42", "43"],
    )


@rule(
    "PL005",
    "Prognosis from the number of prior operations (RULE-P1)",
    evidence=("48", "89"),
    params=("prior_operations.odds_ratio_not_acceptable",),
    requirements=("REQ-019", "REQ-026"),
)
def prior_operations(ctx: Ctx) -> None:
    """The chance of an acceptable result falls with each operation: odds of not reaching
    ODI ≤ 22 are 2.1 (1 prior), 2.6 (2), 4.4 (3), 6.9 (≥ 4) times those of a first operation
    (Norwegian registry, 26,723 cases) [48]. Shown so surgeon and patient can set expectations."""
    if not _applies(ctx) or ctx.surgery_count == 0:
        return
    ors = ctx.kb.value("prior_operations.odds_ratio_not_acceptable")
    odds = float(ors[min(ctx.surgery_count, len(ors)) - 1])
    ctx.recommend(
        ctx.out.planning,
        "prognosis",
        f"{ctx.surgery_count} prior operation(s): odds of not reaching an acceptable state (ODI ≤ 22) ≈ {odds:g}× a first operation; discuss expectations.",
        details={"odds_ratio": odds},
        facts=[Fact(field="derived.prior_surgeries", value=ctx.surgery_count)],
        evidence=["48"],
    )
