"""Step 5 — pre-operative optimisation: smoking, nutrition, glucose, vitamin D, infection.

Each item reports a status (``met``, ``not_met``, ``unknown``) so the planning gates can be read
at a glance (REFERENCE.md §6.1). Shown whenever a revision may be on the table.
"""

from __future__ import annotations

from revspine.domain.assessment import Fact
from revspine.rules.context import Ctx
from revspine.rules.registry import rule


def _applies(ctx: Ctx) -> bool:
    return ctx.out.disposition in ("surgical_candidate", "incomplete_workup")


def smoking_gate(ctx: Ctx) -> tuple[str, list[Fact]]:
    """'met', 'not_met' or 'unknown' for the ≥ 4-week abstinence gate (RULE-SM1) [35]."""
    status = ctx.get("comorbidities.smoking_status")
    facts = [ctx.fact("comorbidities.smoking_status")]
    if status is None:
        return "unknown", facts
    if status == "never":
        return "met", facts
    if status == "current":
        return "not_met", facts
    quit_date = ctx.get("comorbidities.smoking_quit_date")
    facts.append(ctx.fact("comorbidities.smoking_quit_date"))
    if quit_date is None:
        return "unknown", facts
    weeks = (ctx.as_of - quit_date).days / 7
    return ("met" if weeks >= ctx.kb.num("smoking.abstinence_before_weeks") else "not_met"), facts


def nutrition_state(ctx: Ctx) -> tuple[str, list[str], list[Fact]]:
    """RULE-N1 on current labs: 'not_met' (malnourished), 'met', or 'unknown' [18][20]."""
    kb = ctx.kb
    low: list[str] = []
    facts: list[Fact] = []
    seen = 0
    for test, key, label in (
        ("albumin", "nutrition.albumin_low_g_dl", "albumin"),
        ("transferrin", "nutrition.transferrin_low_mg_dl", "transferrin"),
        ("total_lymphocyte_count", "nutrition.lymphocytes_low_per_ul", "total lymphocyte count"),
        ("prealbumin", "nutrition.prealbumin_low_mg_dl", "prealbumin"),
    ):
        lab = ctx.current_lab(test, "currency.nutrition_labs_valid_days", post_op=False)
        if lab is None:
            continue
        seen += 1
        if lab.value < kb.num(key):
            low.append(label)
            facts.append(lab.fact())
    if low:
        return "not_met", low, facts
    if seen and ctx.current_lab("albumin", "currency.nutrition_labs_valid_days", post_op=False):
        return "met", low, facts
    return "unknown", low, facts


def hba1c_band(ctx: Ctx) -> tuple[str, Fact | None]:
    """RULE-G1 band of the current HbA1c: 'acceptable', 'elevated_risk', 'defer', 'unknown'."""
    lab = ctx.current_lab("hba1c", "currency.hba1c_valid_days", post_op=False)
    if lab is None:
        return "unknown", None
    if lab.value >= ctx.kb.num("glycaemia.hba1c_defer_pct"):
        return "defer", lab.fact()
    if lab.value >= ctx.kb.num("glycaemia.hba1c_elevated_pct"):
        return "elevated_risk", lab.fact()
    return "acceptable", lab.fact()


@rule(
    "OP001",
    "Smoking cessation before elective revision (RULE-SM1)",
    evidence=("31", "32", "34", "35", "36"),
    params=("smoking.abstinence_before_weeks", "smoking.abstinence_after_months"),
    requirements=("REQ-008", "REQ-020"),
)
def smoking(ctx: Ctx) -> None:
    """Smokers have more non-union (26.5% vs 14.2%) [31]; abstinence ≥ 4 weeks before surgery
    restores tissue repair [35]; current or recent (< 4 weeks) smokers → defer elective fusion.
    Quitting for > 6 months after fusion lowers non-union to 17.1% [31]. Nicotine replacement is
    not assumed safe for fusion (unverified)."""
    if not _applies(ctx):
        return
    state, facts = smoking_gate(ctx)
    weeks = ctx.kb.num("smoking.abstinence_before_weeks")
    months = ctx.kb.num("smoking.abstinence_after_months")
    if state == "not_met":
        ctx.recommend(
            ctx.out.optimisation,
            "smoking_cessation",
            f"Stop smoking at least {weeks:g} weeks before an elective revision (defer elective fusion until then) and stay abstinent ≥ {months:g} months after.",
            status="not_met",
            facts=facts,
            evidence=["31", "35"],
        )
    elif state == "unknown":
        ctx.missing(
            "comorbidities.smoking_status",
            "smoking status / quit date decides the 4-week abstinence gate",
        )
        ctx.recommend(
            ctx.out.optimisation,
            "smoking_cessation",
            "Record smoking status and quit date (abstinence ≥ 4 weeks needed before elective revision).",
            status="unknown",
            facts=facts,
            evidence=["35"],
        )


@rule(
    "OP002",
    "Nutrition (RULE-N1)",
    evidence=("18", "19", "20", "21", "22"),
    params=(
        "nutrition.albumin_low_g_dl",
        "nutrition.transferrin_low_mg_dl",
        "nutrition.lymphocytes_low_per_ul",
        "nutrition.prealbumin_low_mg_dl",
        "nutrition.prealbumin_ssi_risk_mg_dl",
        "currency.nutrition_labs_valid_days",
        "nutrition.multiple_surgeries_min",
    ),
    requirements=("REQ-015", "REQ-020"),
)
def nutrition(ctx: Ctx) -> None:
    """Malnutrition = albumin < 3.5 g/dL, transferrin < 200 mg/dL, lymphocytes < 1500/µL or
    prealbumin < 15 mg/dL [18]; malnourished patients have 5–7× more major wound complications
    [18]. Prealbumin ≤ 20 mg/dL marks high SSI risk [20]. If low → nutritional supplement (seed
    document) and re-check prealbumin before scheduling [18]."""
    if not _applies(ctx):
        return
    state, low, facts = nutrition_state(ctx)
    pre = ctx.current_lab("prealbumin", "currency.nutrition_labs_valid_days", post_op=False)
    if state == "not_met":
        ctx.recommend(
            ctx.out.optimisation,
            "nutrition",
            f"Low {', '.join(low)}: nutrition consult and supplementation before revision; re-check prealbumin (short half-life) before scheduling.",
            status="not_met",
            facts=facts,
            evidence=["seed", "18"],
        )
    elif pre is not None and pre.value <= ctx.kb.num("nutrition.prealbumin_ssi_risk_mg_dl"):
        ctx.recommend(
            ctx.out.optimisation,
            "nutrition",
            "Prealbumin ≤ 20 mg/dL: higher surgical-site infection risk; consider pre-habilitation with nutrition.",
            status="elevated_risk",
            facts=[pre.fact()],
            evidence=["20"],
        )
    elif state == "unknown" and ctx.surgery_count >= ctx.kb.num("nutrition.multiple_surgeries_min"):
        ctx.recommend(
            ctx.out.optimisation,
            "nutrition",
            "Nutritional status unknown after multiple surgeries: check albumin and transferrin.",
            status="unknown",
            facts=[Fact(field="derived.prior_surgeries", value=ctx.surgery_count)],
            evidence=["seed", "18"],
        )


@rule(
    "OP003",
    "Glycaemic control (RULE-G1)",
    evidence=("23", "24", "25", "27", "103"),
    params=(
        "glycaemia.hba1c_elevated_pct",
        "glycaemia.hba1c_defer_pct",
        "currency.hba1c_valid_days",
    ),
    requirements=("REQ-020",),
)
def glucose(ctx: Ctx) -> None:
    """HbA1c < 7.0% acceptable; 7.0–7.9% elevated risk (optimise); ≥ 8.0% defer elective
    surgery if possible and optimise first. Cut-points [23][27][103]; actions unverified common
    practice. Risk is continuous (OR 1.042 per 1%) [24]."""
    if not _applies(ctx):
        return
    band, fact = hba1c_band(ctx)
    diabetic = ctx.get("comorbidities.diabetes")
    if band == "defer":
        ctx.recommend(
            ctx.out.optimisation,
            "glucose_control",
            "HbA1c ≥ 8%: defer elective revision if possible and optimise glucose control first.",
            status="not_met",
            facts=[fact] if fact else [],
            evidence=["23", "27", "103"],
            unverified=True,
        )
    elif band == "elevated_risk":
        ctx.recommend(
            ctx.out.optimisation,
            "glucose_control",
            "HbA1c 7.0–7.9%: elevated risk; optimise glucose control before revision.",
            status="elevated_risk",
            facts=[fact] if fact else [],
            evidence=["23", "27"],
            unverified=True,
        )
    elif band == "unknown" and diabetic is True:
        ctx.recommend(
            ctx.out.optimisation,
            "glucose_control",
            "Diabetes without a current HbA1c: measure before scheduling (< 8% required, ideally < 7–7.5%).",
            status="unknown",
            facts=[ctx.fact("comorbidities.diabetes")],
            evidence=["23", "27"],
        )


@rule(
    "OP004",
    "Vitamin D (RULE-D1)",
    evidence=("28", "29", "30"),
    params=("vitamin_d.deficient_below_ng_ml", "vitamin_d.insufficient_below_ng_ml"),
    requirements=("REQ-020",),
)
def vitamin_d(ctx: Ctx) -> None:
    """25-OH vitamin D < 20 ng/mL deficient, 20–29 insufficient [28]; deficiency is associated
    with hardware failure and revision [30]; supplementing before fusion is unverified common
    practice."""
    if not _applies(ctx):
        return
    lab = ctx.latest("vitamin_d")
    if lab is None:
        return
    if lab.value < ctx.kb.num("vitamin_d.deficient_below_ng_ml"):
        ctx.recommend(
            ctx.out.optimisation,
            "vitamin_d",
            "Vitamin D deficient: supplement before fusion.",
            status="not_met",
            facts=[lab.fact()],
            evidence=["28", "30"],
            unverified=True,
        )
    elif lab.value < ctx.kb.num("vitamin_d.insufficient_below_ng_ml"):
        ctx.recommend(
            ctx.out.optimisation,
            "vitamin_d",
            "Vitamin D insufficient: consider supplementation before fusion.",
            status="elevated_risk",
            facts=[lab.fact()],
            evidence=["28"],
            unverified=True,
        )
