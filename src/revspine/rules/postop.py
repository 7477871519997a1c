"""Step 7 — the post-operative order set for a revision candidate: antibiotic prophylaxis,
VTE prophylaxis, nutritional support, brace and no smoking (seed document §2). These are
options for the surgeon to review and sign, never orders."""

from __future__ import annotations

from typing import Any

from revspine.domain.assessment import Fact
from revspine.rules.context import Ctx
from revspine.rules.optimisation import nutrition_state
from revspine.rules.registry import rule

_BETA_LACTAMS = {"penicillin", "cephalosporin", "beta_lactam"}
_SEVERE = {"anaphylaxis", "angioedema", "severe_cutaneous"}


def _applies(ctx: Ctx) -> bool:
    return ctx.out.disposition == "surgical_candidate"


def severe_beta_lactam_allergy(ctx: Ctx) -> tuple[bool | None, list[Fact]]:
    """True for a beta-lactam anaphylaxis (or angioedema, severe cutaneous reaction, or
    'severe'); None when allergies were not recorded."""
    allergies = ctx.case.allergies
    if allergies is None:
        return None, [Fact(field="allergies", value=None)]
    hits = [
        Fact(
            field=f"allergies[{i}]",
            value=f"{a.substance}: {a.reaction or a.severity or 'unspecified'}",
        )
        for i, a in enumerate(allergies)
        if a.substance in _BETA_LACTAMS and (a.reaction in _SEVERE or a.severity == "severe")
    ]
    return bool(hits), hits


@rule(
    "PO001",
    "Antibiotic prophylaxis (RULE-AB1)",
    evidence=("58", "58b", "59", "60", "61", "111", "117"),
    params=(
        "antibiotics.cefazolin_dose_g",
        "antibiotics.cefazolin_high_weight_kg",
        "antibiotics.cefazolin_high_dose_g",
        "antibiotics.cefazolin_redose_h",
        "antibiotics.vancomycin_mg_per_kg",
        "antibiotics.clindamycin_dose_mg",
        "antibiotics.clindamycin_redose_h",
        "antibiotics.start_window_min",
        "antibiotics.vancomycin_start_window_min",
        "antibiotics.stop_within_h",
        "antibiotics.beta_lactam_allergy_agent",
        "antibiotics.redose_blood_loss_ml",
    ),
    requirements=("REQ-021", "REQ-106", "REQ-111"),
)
def antibiotics(ctx: Ctx) -> None:
    """Cefazolin 2 g IV (3 g at ≥ 120 kg) within 60 min before incision, redosed every 4 h (and
    after > 1,500 mL blood loss); severe beta-lactam allergy → vancomycin 15 mg/kg (within
    120 min; no routine redose) or clindamycin 900 mg (redose 6 h) by local protocol; MRSA
    colonisation → add vancomycin 15 mg/kg; stop within 24 h of the end of surgery [58][58b][59]
    [60]. Under-dosing doubles SSI in spine (5.86% vs 2.58%) [61]."""
    if not _applies(ctx):
        return
    kb = ctx.kb
    w = ctx.weight_kg
    facts = [Fact(field="patient.weight", value=None if w is None else f"{w:.1f} kg")]
    allergy, afacts = severe_beta_lactam_allergy(ctx)
    facts += afacts
    mrsa = ctx.get("comorbidities.mrsa_colonisation")
    facts.append(ctx.fact("comorbidities.mrsa_colonisation"))
    agents: list[dict[str, Any]] = []
    notes: list[str] = []

    def vanco() -> dict[str, Any]:
        dose = None if w is None else round(kb.num("antibiotics.vancomycin_mg_per_kg") * w)
        if dose is None:
            notes.append("weight unknown: vancomycin dose cannot be computed")
        return {
            "agent": "vancomycin",
            "dose": f"{dose} mg IV"
            if dose
            else f"{kb.num('antibiotics.vancomycin_mg_per_kg'):g} mg/kg IV",
            "mg_per_kg": kb.num("antibiotics.vancomycin_mg_per_kg"),
            "start_within_min_before_incision": kb.num("antibiotics.vancomycin_start_window_min"),
            "redose_interval_h": None,
        }

    if allergy:
        if kb.value("antibiotics.beta_lactam_allergy_agent") == "clindamycin":
            agents.append(
                {
                    "agent": "clindamycin",
                    "dose": f"{kb.num('antibiotics.clindamycin_dose_mg'):g} mg IV",
                    "start_within_min_before_incision": kb.num("antibiotics.start_window_min"),
                    "redose_interval_h": kb.num("antibiotics.clindamycin_redose_h"),
                }
            )
        else:
            agents.append(vanco())
    else:
        if w is None:
            notes.append("weight unknown: cefazolin 3 g applies at ≥ 120 kg")
        high = w is not None and w >= kb.num("antibiotics.cefazolin_high_weight_kg")
        dose = kb.num(
            "antibiotics.cefazolin_high_dose_g" if high else "antibiotics.cefazolin_dose_g"
        )
        agents.append(
            {
                "agent": "cefazolin",
                "dose": f"{dose:g} g IV",
                "start_within_min_before_incision": kb.num("antibiotics.start_window_min"),
                "redose_interval_h": kb.num("antibiotics.cefazolin_redose_h"),
                "redose_blood_loss_ml": kb.num("antibiotics.redose_blood_loss_ml"),
            }
        )
        if allergy is None:
            notes.append("allergies not recorded: confirm before giving a beta-lactam")
            ctx.missing("allergies", "beta-lactam allergy decides the prophylactic agent")
    if mrsa is True and not any(a["agent"] == "vancomycin" for a in agents):
        agents.append(vanco())
    elif mrsa is None:
        notes.append("MRSA status unknown: screen before surgery")
        ctx.missing("comorbidities.mrsa_colonisation", "MRSA colonisation adds vancomycin")
    if w is None:
        ctx.missing("patient.weight", "weight decides the antibiotic dose")
    stop = kb.num("antibiotics.stop_within_h")
    text = "; ".join(
        f"{a['agent']} {a['dose']} starting within {a['start_within_min_before_incision']:g} min before incision"
        + (
            f", redose every {a['redose_interval_h']:g} h"
            if a["redose_interval_h"]
            else ", no routine redose"
        )
        for a in agents
    )
    text += f"; stop within {stop:g} h after the end of surgery."
    if notes:
        text += " Note: " + "; ".join(notes) + "."
    ctx.recommend(
        ctx.out.postop,
        "antibiotic_prophylaxis",
        text[0].upper() + text[1:],
        details={"agents": agents, "stop_within_h": stop, "notes": notes},
        status="check" if notes else "complete",
        facts=facts,
        evidence=["58", "58b", "59", "60"],
    )


def caprini(ctx: Ctx) -> tuple[int, list[str], list[str]]:
    """Caprini (2005) score from the recorded items [65]: returns (score, items counted, items
    not recorded). Unrecorded items count 0, so the score is a minimum."""
    score = 0
    counted: list[str] = []
    unknown: list[str] = []
    age = ctx.age
    if age is None:
        unknown.append("age")
    elif age >= 75:
        score += 3
        counted.append("age ≥ 75 (3)")
    elif age >= 61:
        score += 2
        counted.append("age 61–74 (2)")
    elif age >= 41:
        score += 1
        counted.append("age 41–60 (1)")
    plan = ctx.case.planned_procedure
    dur = plan.expected_duration_min if plan else None
    if dur is None or dur > ctx.kb.num("vte.major_surgery_min"):
        score += 2
        counted.append(
            "major surgery > 45 min (2)"
            + (" — assumed for an open revision" if dur is None else "")
        )
    else:
        score += 1
        counted.append("minor surgery (1)")
    if ctx.bmi is None:
        unknown.append("BMI")
    elif ctx.bmi > 25:
        score += 1
        counted.append("BMI > 25 (1)")
    cancer = ctx.get("comorbidities.cancer")
    if cancer is None:
        unknown.append("malignancy")
    elif cancer in ("history", "active"):
        score += 2
        counted.append("malignancy present or previous (2)")
    for path, label in (
        ("comorbidities.prior_vte", "history of DVT/PE (3)"),
        ("comorbidities.thrombophilia", "thrombophilia (3)"),
    ):
        v = ctx.get(path)
        if v is None:
            unknown.append(path.split(".")[-1])
        elif v:
            score += 3
            counted.append(label)
    unknown.append("other items (varicose veins, heart/lung disease, hormones, family history…)")
    return score, counted, unknown


@rule(
    "PO002",
    "VTE prophylaxis by Caprini risk (RULE-V1)",
    evidence=("62", "63", "64", "65", "65b", "65c"),
    params=(
        "vte.policy",
        "vte.pharmacologic_min_score",
        "vte.pharmacologic_min_score_with_extra_risk",
        "vte.lmwh_start_h",
        "vte.lmwh_start_high_bleeding_h",
        "vte.major_surgery_min",
        "vte.caprini_version",
    ),
    unverified=True,
    requirements=("REQ-022", "REQ-106", "REQ-112"),
)
def vte(ctx: Ctx) -> None:
    """Mechanical prophylaxis (IPC from induction) always (unverified default). Pharmacologic
    (LMWH) when Caprini ≥ 5, or 3–4 with an extra risk (prior VTE, malignancy), starting 24–48 h
    after surgery (≥ 48 h with high bleeding risk) [63][64]; NASS finds no clear added benefit of
    chemoprophylaxis in routine elective spine surgery [62] — a site may choose
    ``mechanical_only``. Caprini 2005 items [65]; score version stored. Spine cut-points are
    unverified common practice."""
    if not _applies(ctx):
        return
    kb = ctx.kb
    score, counted, unknown = caprini(ctx)
    ctx.out.caprini = score
    extra = ctx.true("comorbidities.prior_vte") or (
        [ctx.fact("comorbidities.cancer")]
        if ctx.get("comorbidities.cancer") in ("history", "active")
        else []
    )
    pharm = kb.value("vte.policy") == "caprini" and (
        score >= kb.num("vte.pharmacologic_min_score")
        or (score >= kb.num("vte.pharmacologic_min_score_with_extra_risk") and bool(extra))
    )
    lo, hi = kb.pair("vte.lmwh_start_h")
    text = f"Mechanical prophylaxis (intermittent pneumatic compression from induction). Caprini {kb.value('vte.caprini_version')} score {score} (minimum; from recorded items)."
    if pharm:
        text += f" Add LMWH starting {lo:g}–{hi:g} h after surgery (≥ {kb.num('vte.lmwh_start_high_bleeding_h'):g} h if bleeding risk is high), continued until fully mobile."
    else:
        text += " Chemoprophylaxis not indicated by the current score; early mobilisation."
    ctx.recommend(
        ctx.out.postop,
        "vte_prophylaxis",
        text,
        details={
            "caprini_score": score,
            "caprini_version": kb.value("vte.caprini_version"),
            "items": counted,
            "not_recorded": unknown,
            "pharmacologic": pharm,
            "policy": kb.value("vte.policy"),
        },
        facts=[Fact(field="derived.caprini_score", value=score), *extra],
        evidence=["62", "63", "64", "65"],
        unverified=True,
    )


@rule(
    "PO003",
    "Nutritional support",
    evidence=("seed", "18", "20"),
    params=(
        "currency.nutrition_labs_valid_days",
        "nutrition.albumin_low_g_dl",
        "nutrition.lymphocytes_low_per_ul",
        "nutrition.prealbumin_low_mg_dl",
        "nutrition.transferrin_low_mg_dl",
    ),
    requirements=("REQ-015", "REQ-023", "REQ-106"),
)
def nutritional_support(ctx: Ctx) -> None:
    """Nutritional support after revision (seed document §2c): protein is the main modifiable
    factor; supplement when albumin/transferrin are low [18][20]. Protein targets are unverified
    and therefore not given (TODO(clinical))."""
    if not _applies(ctx):
        return
    state, low, facts = nutrition_state(ctx)
    if state == "not_met":
        text = f"Dietitian review and protein/micronutrient supplementation after surgery (low {', '.join(low)}); re-check prealbumin."
    else:
        text = "Nutritional support: adequate protein intake after surgery; dietitian review if intake is poor."
        if state == "unknown":
            text += " Nutritional status not measured."
    ctx.recommend(
        ctx.out.postop,
        "nutritional_support",
        text,
        status=state,
        facts=facts,
        evidence=["seed", "18"],
    )


@rule(
    "PO004",
    "Brace (surgeon preference)",
    evidence=("68", "69", "70", "71"),
    requirements=("REQ-024", "REQ-106"),
)
def brace(ctx: Ctx) -> None:
    """Bracing after lumbar fusion did not change ODI, pain, complications or fusion in 5 RCTs
    [69][70][68] and raised costs ~41% [71]: offered as surgeon preference, not as evidence-based
    (RULE-BR1)."""
    if _applies(ctx):
        ctx.recommend(
            ctx.out.postop,
            "brace",
            "Brace: surgeon preference (optional); not evidence-based — trials after lumbar fusion found no benefit.",
            status="optional",
            evidence=["68", "69", "70", "71"],
        )


@rule(
    "PO005",
    "No smoking",
    evidence=("seed", "31", "33"),
    params=("smoking.abstinence_after_months",),
    requirements=("REQ-008", "REQ-025", "REQ-106"),
)
def no_smoking(ctx: Ctx) -> None:
    """No smoking after surgery (seed document §2e): quitting > 6 months after fusion lowers
    non-union from 26.5% to 17.1% and raises return to work from 53% to 75% [31]."""
    if _applies(ctx):
        months = ctx.kb.num("smoking.abstinence_after_months")
        ctx.recommend(
            ctx.out.postop,
            "smoking_cessation",
            f"No smoking (or nicotine) for at least {months:g} months after surgery.",
            facts=[ctx.fact("comorbidities.smoking_status")],
            evidence=["seed", "31"],
        )
