"""Step 2 — the differential: why did the surgery fail?

Each rule adds findings for and against one cause. A finding is ``confirmatory`` (imaging,
a block, EMG or labs that show the cause), ``supporting`` (a clinical pattern that points to
it) or ``weak`` (a risk factor, or the time window). The engine ranks causes from these; the time
since surgery only ranks, it never excludes (RULE-E1). Concordance — does the lesion match the
patient's pain? — is decided here for the surgically correctable causes.
"""

from __future__ import annotations

from revspine.domain.assessment import Fact
from revspine.rules._shared import (
    block_positive,
    infection_context,
    infection_markers,
    patient_roots,
    pseudarthrosis_suspicion,
    raised_uncurrent_markers,
    relief,
)
from revspine.rules.context import Ctx, FindingHit, adjacent_to, roots_of
from revspine.rules.registry import rule

_MODALITY = {
    "xray": "radiographs",
    "flexion_extension_xray": "flexion-extension films",
    "standing_full_spine_xray": "standing full-spine films",
    "ct": "CT",
    "ct_myelogram": "CT myelogram",
    "mri": "MRI",
    "mri_with_contrast": "MRI with contrast",
}


def _modality(code: str) -> str:
    return _MODALITY.get(code, code.replace("_", " "))


def _window(ctx: Ctx) -> Fact:
    return Fact(field="derived.time_window", value=ctx.window)


def _radicular_concordance(ctx: Ctx, cause: str, hits: list[FindingHit]) -> None:
    """Decide whether radicular lesions match the patient's roots, side and any SNRB."""
    cb = ctx.cause(cause, True)
    if ctx.radicular is not True:
        cb.concordant = False if ctx.radicular is False else None
        cb.concordance_note = (
            "no radicular pain" if ctx.radicular is False else "radicular pain not recorded"
        )
        if ctx.radicular is None:
            ctx.missing("symptoms.radicular_pain", f"needed to match {cause} to the pain")
        return
    for h in hits:
        if not h.levels:
            ctx.missing(f"{h.path}.levels", f"level of the {h.code.replace('_', ' ')} not recorded")
    roots, facts = patient_roots(ctx)
    levels = {lv for h in hits for lv in h.levels}
    if not roots or not levels:
        cb.concordant = None
        cb.concordance_note = "dermatome or lesion level not recorded"
        if not roots:
            ctx.missing("symptoms.dermatomes", f"needed to match the {cause} level to the pain")
        for h in hits:
            if not h.levels:
                ctx.missing(
                    f"{h.path}.levels", f"level of the {h.code.replace('_', ' ')} not recorded"
                )
        return
    matching = {lv for lv in levels if roots_of(lv) & roots}
    side = ctx.get("symptoms.radicular_side")
    side_ok = any(
        h.side in (None, "central", "bilateral") or side in (None, "bilateral") or h.side == side
        for h in hits
        if set(h.levels) & matching
    )
    side_unknown: str | None = None
    for h in hits:
        if set(h.levels) & matching:
            if side is None and h.side in ("left", "right", None):
                side_unknown = "side of the leg pain not recorded"
                ctx.missing(
                    "symptoms.radicular_side",
                    f"side of the leg pain, to match the {h.side or ''} {h.code.replace('_', ' ')}",
                )
            if h.side is None and side in ("left", "right"):
                side_unknown = (
                    side_unknown or "side of the lesion not recorded in the imaging report"
                )
                ctx.missing(
                    f"{h.path}.side",
                    f"side of the {h.code.replace('_', ' ')}, to match the {side} leg pain",
                )
    snrbs = [
        (i, b)
        for i, b in enumerate(ctx.case.blocks)
        if b.type == "selective_nerve_root" and b.level
    ]
    for i, b in snrbs:
        level_roots = {b.level} if "-" not in (b.level or "") else roots_of(b.level or "")
        if not level_roots & {r for lv in matching for r in roots_of(lv)} & roots:
            continue
        pct = relief(b.pre_nrs, b.post_nrs, b.percent_relief)
        if block_positive(ctx, b.type, pct, b.controlled) and b.concordant is not False:
            ctx.support(
                cause,
                True,
                f"Selective nerve root block at {b.level} relieved {pct:.0f}% of the usual pain.",
                "confirmatory",
                [Fact(field=f"blocks[{i}]", value=f"{b.level} {pct:.0f}%")],
                ["56", "57"],
            )
            cb.concordant, cb.concordance_note = True, f"SNRB positive at {b.level}"
            return
        if pct is not None:
            ctx.oppose(
                cause,
                True,
                f"Selective nerve root block at {b.level} gave only {pct:.0f}% relief.",
                "confirmatory",
                [Fact(field=f"blocks[{i}]", value=f"{b.level} {pct:.0f}%")],
            )
            cb.concordant, cb.concordance_note = False, f"SNRB negative at {b.level}"
            return
    if not matching:
        ctx.oppose(
            cause,
            True,
            f"Lesion level ({', '.join(sorted(levels))}) does not match the painful dermatome(s) ({', '.join(sorted(roots))}).",
            "supporting",
            facts,
        )
        cb.concordant, cb.concordance_note = False, "level does not match dermatome"
    elif not side_ok:
        ctx.oppose(
            cause,
            True,
            "Lesion side does not match the side of the leg pain.",
            "supporting",
            [ctx.fact("symptoms.radicular_side")],
        )
        cb.concordant, cb.concordance_note = False, "side mismatch"
    elif len(matching) > 1 or len(levels) > 1:
        cb.concordant, cb.concordance_note = (
            None,
            "multilevel disease: the symptomatic level needs a selective nerve root block",
        )
    elif side_unknown:
        # REFERENCE §5.1: concordance is level AND side; an unrecorded side is not a match.
        cb.concordant, cb.concordance_note = None, side_unknown
    elif neuropathy_only := [
        (i, e)
        for i, e in enumerate(ctx.case.electrodiagnostics)
        if e.result == "peripheral_neuropathy"
    ]:
        i, e = neuropathy_only[-1]
        ctx.oppose(
            cause,
            True,
            "EMG/NCS shows a peripheral neuropathy and no radiculopathy.",
            "supporting",
            [Fact(field=f"electrodiagnostics[{i}].result", value=e.result)],
        )
        cb.concordant, cb.concordance_note = (
            None,
            "EMG/NCS shows neuropathy without radiculopathy: a selective nerve root block must confirm the root",
        )
    else:
        cb.concordant, cb.concordance_note = (
            True,
            f"{next(iter(matching))} lesion matches the {', '.join(sorted(roots))} dermatome",
        )
        ctx.support(
            cause,
            True,
            cb.concordance_note[0].upper() + cb.concordance_note[1:] + ".",
            "supporting",
            facts,
        )


@rule(
    "DX001",
    "Infection (SSI, discitis, epidural abscess)",
    evidence=("seed", "11", "12", "13", "15", "78"),
    params=(
        "infection.crp_upper_mg_l",
        "infection.esr_upper_mm_h",
        "infection.wbc_high_per_ul",
        "currency.infection_labs_valid_days",
        "fusion.motion_threshold_deg",
        "infection.crp_high_mg_l",
        "infection.crp_normalisation_days",
        "infection.esr_nonspecific_until_days",
    ),
    requirements=("REQ-002", "REQ-014", "REQ-103", "REQ-108"),
)
def infection(ctx: Ctx) -> None:
    """Infection is suspected from fever, chills, wound drainage, imaging (discitis, abscess,
    fluid collection) and inflammatory markers read against post-operative kinetics; prior
    infection and suspected pseudarthrosis make a hidden infection possible. Normal current
    ESR/CRP count against it. Deep infection after instrumented surgery 0.4–4.3% [15]; CRP and ESR
    kinetics [11][12][13]; SEA features [78]; seed document."""
    c = "infection"
    for h in ctx.has("discitis_osteomyelitis", "epidural_abscess"):
        ctx.support(
            c,
            True,
            f"Imaging shows {h.code.replace('_', ' ')}.",
            "confirmatory",
            [h.fact()],
            ["78"],
        )
    for h in ctx.has("fluid_collection"):
        ctx.support(
            c, True, "Post-operative fluid collection on imaging.", "supporting", [h.fact()]
        )
    for f in ctx.true("symptoms.fever", "symptoms.chills", "symptoms.wound_drainage"):
        ctx.support(
            c,
            True,
            f"{f.field.split('.')[-1].replace('_', ' ').capitalize()} after spine surgery.",
            "supporting",
            [f],
            ["seed"],
        )
    if ctx.get("exam.wound") in ("drainage", "dehiscence", "erythema"):
        ctx.support(
            c,
            True,
            f"Wound {ctx.get('exam.wound')} on examination.",
            "supporting",
            [ctx.fact("exam.wound")],
            ["seed"],
        )
    for f in ctx.true("symptoms.night_sweats", "symptoms.night_pain"):
        ctx.support(
            c, True, f"{f.field.split('.')[-1].replace('_', ' ').capitalize()}.", "weak", [f]
        )
    markers = infection_markers(ctx)
    clinical = bool(infection_context(ctx))
    for m in markers.values():
        if m.state == "raised":
            ctx.support(
                c,
                True,
                f"{m.test.upper()} raised beyond the post-operative window.",
                "confirmatory" if clinical else "supporting",
                [m.lab.fact()],
                ["11", "13", "16"],
            )
        elif m.state == "nonspecific":
            ctx.support(
                c,
                True,
                f"{m.test.upper()} raised, but still within the post-operative window where it is non-specific.",
                "weak",
                [m.lab.fact()],
                ["11", "13"],
            )
    for lab, maybe_current in raised_uncurrent_markers(ctx, markers):
        when = "its timing relative to surgery is unknown" if maybe_current else "an old result"
        ctx.support(
            c,
            True,
            f"{lab.test.upper()} raised ({when}).",
            "supporting" if maybe_current else "weak",
            [lab.fact()],
            ["11", "13"],
        )
    crp = markers.get("crp")
    if crp is not None and crp.lab.value > ctx.kb.num("infection.crp_high_mg_l"):
        ctx.support(
            c,
            True,
            "CRP above 115 mg/L (predicts failure of non-operative epidural-abscess care).",
            "supporting",
            [crp.lab.fact()],
            ["78"],
        )
    wbc = ctx.current_lab("wbc", "currency.infection_labs_valid_days")
    if wbc is not None and wbc.value > ctx.kb.num("infection.wbc_high_per_ul"):
        ctx.support(c, True, "Leukocytosis.", "supporting", [wbc.fact()], ["78"])
    for f in ctx.true(
        "comorbidities.prior_spine_infection",
        "comorbidities.immunosuppression",
        "comorbidities.iv_drug_use",
        "comorbidities.diabetes",
    ):
        ctx.support(
            c,
            True,
            f"Risk factor: {f.field.split('.')[-1].replace('_', ' ')}.",
            "weak",
            [f],
            ["78"],
        )
    if ctx.window in ("W0", "W1") and c in ctx.out.causes:
        ctx.support(
            c,
            True,
            "Time since surgery fits post-operative infection (weeks to months).",
            "weak",
            [_window(ctx)],
        )
    pseudo = pseudarthrosis_suspicion(ctx)
    if pseudo:
        ctx.support(
            c,
            True,
            "Suspected pseudarthrosis can hide a low-grade infection.",
            "weak",
            pseudo,
            ["seed"],
        )
    normal = [m for m in markers.values() if m.state == "normal"]
    if normal and c in ctx.out.causes:
        ctx.oppose(
            c,
            True,
            "Current " + " and ".join(m.test.upper() for m in normal) + " normal.",
            "supporting",
            [m.lab.fact() for m in normal],
        )
    if c in ctx.out.causes:
        for f in [ctx.fact("symptoms.fever")] if ctx.get("symptoms.fever") is False else []:
            ctx.oppose(c, True, "No fever.", "weak", [f])
        mri = [
            (i, s)
            for i, s in ctx.studies_of(["mri_with_contrast"], reported=True)
            if not any(
                f.finding in ("discitis_osteomyelitis", "epidural_abscess", "fluid_collection")
                for f in (s.findings or ())
            )
        ]
        if mri:
            ctx.oppose(
                c,
                True,
                "Post-operative MRI with contrast shows no collection, discitis or abscess.",
                "supporting",
                [Fact(field=f"imaging[{mri[-1][0]}]", value="mri_with_contrast")],
            )


@rule(
    "DX002",
    "Pseudarthrosis (non-union)",
    evidence=("6", "31", "32", "37", "38", "39", "40"),
    params=(
        "fusion.min_months_to_call_nonunion",
        "fusion.motion_threshold_deg",
        "vitamin_d.deficient_below_ng_ml",
    ),
    requirements=("REQ-003", "REQ-011"),
)
def pseudarthrosis(ctx: Ctx) -> None:
    """After a fusion, non-union is shown by fine-cut CT (no bridging bone, lucent gap), motion
    above the threshold on flexion-extension films, or hardware loosening/breakage (RULE-I1).
    Axial mechanical pain starting months after the fusion points to it [6]; smoking doubles the
    risk [31][32]. It cannot be called before 12 months (``too_early_to_call``) [6][40]; solid
    fusion on CT counts against it."""
    if not ctx.fusion:
        return
    c = "pseudarthrosis"
    early = ctx.months_since_fusion is not None and ctx.months_since_fusion < ctx.kb.num(
        "fusion.min_months_to_call_nonunion"
    )
    for h in ctx.has("pseudarthrosis"):
        strength = (
            "supporting" if early or h.modality not in ("ct", "ct_myelogram") else "confirmatory"
        )
        ctx.support(
            c,
            True,
            f"Non-union reported on {_modality(h.modality)}.",
            strength,
            [h.fact()],
            ["6", "37"],
        )
    threshold = ctx.kb.num("fusion.motion_threshold_deg")
    for i, s in ctx.studies_of(["flexion_extension_xray"]):
        if threshold > 0 and s.fusion_motion_deg is not None and s.fusion_motion_deg > threshold:
            ctx.support(
                c,
                True,
                f"{s.fusion_motion_deg:g}° motion at the fusion on flexion-extension films (> {threshold:g}°).",
                "supporting",
                [Fact(field=f"imaging[{i}].fusion_motion_deg", value=s.fusion_motion_deg)],
                ["39"],
            )
    for h in ctx.has("hardware_loosening", "hardware_fracture"):
        ctx.support(
            c,
            True,
            f"{h.code.replace('_', ' ').capitalize()} suggests motion through a non-union.",
            "supporting",
            [h.fact()],
            ["6"],
        )
    if ctx.axial and ctx.window in ("W2", "W3"):
        facts = ctx.true("symptoms.axial_pain", "symptoms.mechanical_pain") or [
            ctx.fact("symptoms.predominant_pain")
        ]
        mech = ctx.get("symptoms.mechanical_pain") is True
        ctx.support(
            c,
            True,
            ("Mechanical axial pain" if mech else "Axial pain") + " months after a fusion.",
            "supporting" if mech else "weak",
            facts + [_window(ctx)],
            ["6"],
        )
    smoker = ctx.get("comorbidities.smoking_status") == "current"
    if c in ctx.out.causes:
        if smoker:
            ctx.support(
                c,
                True,
                "Current smoker (non-union 26.5% vs 14.2%).",
                "weak",
                [ctx.fact("comorbidities.smoking_status")],
                ["31", "36"],
            )
        vd = ctx.latest("vitamin_d")
        if vd is not None and vd.value < ctx.kb.num("vitamin_d.deficient_below_ng_ml"):
            ctx.support(
                c,
                True,
                "Vitamin D deficiency (more hardware failure and revision).",
                "weak",
                [vd.fact()],
                ["30"],
            )
        ct_clean = [
            (i, st)
            for i, st in ctx.studies_of(["ct", "ct_myelogram"], reported=True)
            if not any(
                f.finding
                in ("pseudarthrosis", "hardware_loosening", "hardware_fracture", "solid_fusion")
                for f in (st.findings or ())
            )
        ]
        if ct_clean and not ctx.has("pseudarthrosis", "solid_fusion"):
            ctx.oppose(
                c,
                True,
                "Post-operative CT reports no non-union or hardware loosening.",
                "supporting" if early else "confirmatory",
                [Fact(field=f"imaging[{ct_clean[-1][0]}]", value=ct_clean[-1][1].modality)],
            )
        nonunion_levels = {lv for h in ctx.has("pseudarthrosis") for lv in h.levels}
        for h in ctx.has("solid_fusion"):
            if nonunion_levels and h.levels and not set(h.levels) & nonunion_levels:
                continue  # solid at another level says nothing about this one
            ctx.oppose(
                c,
                True,
                f"Solid fusion on {_modality(h.modality)}.",
                "confirmatory" if h.modality in ("ct", "ct_myelogram") else "supporting",
                [h.fact()],
            )
        if early:
            ctx.warn(
                "too_early_to_call",
                f"Fusion is {ctx.months_since_fusion:.0f} months old: non-union is not called before 12 months.",
                "surgeries",
            )
            ctx.oppose(
                c,
                True,
                "Less than 12 months since fusion: too early to call non-union.",
                "weak",
                [
                    Fact(
                        field="derived.months_since_fusion",
                        value=round(ctx.months_since_fusion or 0, 1),
                    )
                ],
            )
        cb = ctx.cause(c, True)
        if ctx.axial is True:
            cb.concordant, cb.concordance_note = True, "axial pain at a fused level"
        elif ctx.axial is None:
            ctx.missing("symptoms.axial_pain", "needed to link a non-union to the pain")


@rule(
    "DX003",
    "Hardware failure (loosening, breakage)",
    evidence=("6", "30"),
    requirements=("REQ-003",),
)
def hardware_failure(ctx: Ctx) -> None:
    """Screw loosening (lucency/halo), rod or screw breakage, cage subsidence on radiographs or
    CT; instrumented patients with mechanical pain are at risk. Hardware failure 2.7% after
    single-level posterior fusion [30]; imaging signs [6]."""
    c = "hardware_failure"
    for h in ctx.has("hardware_loosening", "hardware_fracture"):
        ctx.support(
            c,
            True,
            f"{h.code.replace('_', ' ').capitalize()} on {_modality(h.modality)}.",
            "confirmatory",
            [h.fact()],
            ["6"],
        )
    if (
        ctx.instrumented
        and ctx.get("symptoms.mechanical_pain") is True
        and ctx.window in ("W2", "W3")
    ):
        ctx.support(
            c,
            True,
            "Mechanical pain months after instrumented surgery.",
            "weak",
            [ctx.fact("symptoms.mechanical_pain"), _window(ctx)],
            ["6"],
        )
    if c in ctx.out.causes:
        ct = [
            (i, s)
            for i, s in ctx.studies_of(["ct"], reported=True)
            if not any(
                f.finding in ("hardware_loosening", "hardware_fracture") for f in (s.findings or ())
            )
        ]
        if ct:
            ctx.oppose(
                c,
                True,
                "Post-operative CT shows intact hardware.",
                "confirmatory",
                [Fact(field=f"imaging[{ct[-1][0]}]", value="ct")],
            )
        cb = ctx.cause(c, True)
        if ctx.has("hardware_loosening", "hardware_fracture") and ctx.axial is True:
            cb.concordant, cb.concordance_note = True, "axial pain with failed hardware"


@rule(
    "DX004",
    "Hardware malposition",
    evidence=("8", "116"),
    params=("blocks.snrb_positive_pct",),
    requirements=("REQ-003", "REQ-012", "REQ-110"),
)
def hardware_malposition(ctx: Ctx) -> None:
    """A misplaced screw or cage can injure or compress a root: new radicular pain or deficit
    right after instrumented surgery (W0) points to it; CT shows it. Evidence: [8][116]."""
    c = "hardware_malposition"
    hits = ctx.has("hardware_malposition")
    for h in hits:
        ctx.support(
            c,
            True,
            f"Malpositioned hardware on {_modality(h.modality)}.",
            "confirmatory",
            [h.fact()],
            ["8"],
        )
    if ctx.instrumented and ctx.window == "W0" and ctx.radicular:
        ctx.support(
            c,
            True,
            "Radicular pain immediately after instrumented surgery.",
            "supporting",
            [ctx.fact("symptoms.radicular_pain"), _window(ctx)],
            ["8"],
        )
    if hits:
        _radicular_concordance(ctx, c, hits)


@rule(
    "DX005",
    "Adjacent segment disease",
    evidence=("87", "108", "99", "118"),
    params=(
        "blocks.facet_positive_pct_controlled",
        "blocks.facet_positive_pct_single",
        "blocks.snrb_positive_pct",
    ),
    requirements=("REQ-004", "REQ-012", "REQ-110"),
)
def adjacent_segment(ctx: Ctx) -> None:
    """Degeneration at the segment next to a fusion, usually years later (radiographic ASD ~19%
    at 2 y, 49% at 5 y; symptomatic 5.2–18.5%) [87]. Radiographic ASD is common and often silent,
    so it needs matching symptoms: a matching radiculopathy or claudication, or an axial pain
    confirmed by a facet block at that level [87][118]."""
    if not ctx.fusion:
        return
    c = "adjacent_segment_disease"
    adj = [
        h
        for h in ctx.has(
            "adjacent_segment_degeneration",
            "residual_stenosis",
            "foraminal_stenosis",
            "instability",
        )
        if any(adjacent_to(lv, ctx.fused_segments) for lv in h.levels)
        or h.code == "adjacent_segment_degeneration"
    ]
    for h in adj:
        ctx.support(
            c,
            True,
            f"{h.code.replace('_', ' ').capitalize()} next to the fusion ({', '.join(h.levels) or 'level unspecified'}).",
            "supporting",
            [h.fact()],
            ["87"],
        )
    if ctx.window == "W3":
        pattern = ctx.true("symptoms.neurogenic_claudication") or (
            [ctx.fact("symptoms.radicular_pain")] if ctx.radicular else []
        )
        if pattern or adj:
            ctx.support(
                c,
                True,
                "Symptoms returned years after a fusion.",
                "weak",
                pattern + [_window(ctx)],
                ["87"],
            )
    if c not in ctx.out.causes:
        return
    if ctx.window in ("W0", "W1"):
        ctx.oppose(
            c,
            True,
            "Too soon after surgery for adjacent-segment degeneration.",
            "weak",
            [_window(ctx)],
        )
    cb = ctx.cause(c, True)
    if not adj:
        return
    if ctx.radicular:
        _radicular_concordance(ctx, c, adj)
        if cb.concordant:
            cb.for_[-1] = (
                cb.for_[-1].model_copy(update={"strength": "confirmatory"})
                if cb.for_[-1].strength == "supporting"
                else cb.for_[-1]
            )
            ctx.support(
                c,
                True,
                "Imaging lesion at the adjacent level matches the symptoms.",
                "confirmatory",
                [adj[0].fact()],
            )
        return
    if ctx.get("symptoms.neurogenic_claudication") is True:
        ctx.support(
            c,
            True,
            "Neurogenic claudication with a lesion at the adjacent level.",
            "confirmatory",
            [ctx.fact("symptoms.neurogenic_claudication")],
        )
        cb.concordant, cb.concordance_note = True, "claudication with adjacent stenosis"
        return
    if ctx.axial:
        levels = {lv for h in adj for lv in h.levels}
        for i, b in enumerate(ctx.case.blocks):
            if b.type in ("facet", "medial_branch") and (b.level in levels or not levels):
                pct = relief(b.pre_nrs, b.post_nrs, b.percent_relief)
                fact = Fact(
                    field=f"blocks[{i}]",
                    value=f"{b.type} {b.level} {pct if pct is None else round(pct)}%",
                )
                if block_positive(ctx, b.type, pct, b.controlled) and b.concordant is not False:
                    ctx.support(
                        c,
                        True,
                        f"Facet block at {b.level} relieved the axial pain.",
                        "confirmatory",
                        [fact],
                        ["118"],
                    )
                    cb.concordant, cb.concordance_note = True, f"facet block positive at {b.level}"
                    return
                if pct is not None:
                    ctx.oppose(
                        c, True, f"Facet block at {b.level} was negative.", "confirmatory", [fact]
                    )
                    cb.concordant, cb.concordance_note = False, "facet block negative"
                    return
        cb.concordant, cb.concordance_note = (
            None,
            "axial pain only: a facet block must confirm the adjacent level",
        )


@rule(
    "DX006",
    "Recurrent disc herniation",
    evidence=("7", "8", "9", "10", "49", "50", "88"),
    params=("windows.pain_free_interval_good_months", "blocks.snrb_positive_pct"),
    requirements=("REQ-005", "REQ-012", "REQ-110"),
)
def recurrent_herniation(ctx: Ctx) -> None:
    """After a discectomy or decompression: radicular pain returning after a pain-free interval
    (≥ 6 months is also the best predictor of a good reoperation) [50]; radicular pain greater
    than back pain with a positive straight-leg raise [8]; recurrent herniation on MRI — with
    gadolinium to tell disc from scar [9][10]. Recurrence 5–15% [7]; mean 18.6 months ipsilateral
    [7]. The level and side must match the dermatome."""
    c = "recurrent_disc_herniation"
    hits = ctx.has("recurrent_herniation")
    for h in hits:
        contrast = h.modality in ("mri_with_contrast", "ct_myelogram")
        ctx.support(
            c,
            True,
            f"Recurrent herniation on {_modality(h.modality)}"
            + ("." if contrast else " (without contrast: disc vs scar uncertain)."),
            "confirmatory" if contrast else "supporting",
            [h.fact()],
            ["9", "10"],
        )
    if not (ctx.decompression or hits):
        return
    interval = ctx.get("symptoms.pain_free_interval_months")
    if ctx.course == "pain_free_interval" and ctx.radicular:
        good = interval is not None and interval >= ctx.kb.num(
            "windows.pain_free_interval_good_months"
        )
        ctx.support(
            c,
            True,
            "Radicular pain returned after a pain-free interval"
            + (f" of {interval:g} months." if interval is not None else "."),
            "supporting" if good or interval is None else "weak",
            [ctx.fact("symptoms.course"), ctx.fact("symptoms.pain_free_interval_months")],
            ["50"],
        )
    if ctx.radicular and ctx.get("exam.straight_leg_raise") == "positive":
        ctx.support(
            c,
            True,
            "Radicular pain with a positive straight-leg raise.",
            "supporting",
            [ctx.fact("exam.straight_leg_raise")],
            ["8"],
        )
    if c not in ctx.out.causes:
        return
    if ctx.window in ("W1", "W2"):
        ctx.support(
            c,
            True,
            "Time since surgery fits re-herniation (weeks to 2 years).",
            "weak",
            [_window(ctx)],
            ["7"],
        )
    if ctx.course == "never_improved":
        ctx.oppose(
            c,
            True,
            "Pain never improved after surgery (points to wrong level or inadequate decompression).",
            "weak",
            [ctx.fact("symptoms.course")],
        )
    clean = [
        (i, s)
        for i, s in ctx.studies_of(["mri_with_contrast"], reported=True)
        if not any(f.finding == "recurrent_herniation" for f in (s.findings or ()))
    ]
    if clean and not hits:
        ctx.oppose(
            c,
            True,
            "MRI with contrast shows no recurrent herniation.",
            "confirmatory",
            [Fact(field=f"imaging[{clean[-1][0]}]", value="mri_with_contrast")],
        )
    if hits:
        _radicular_concordance(ctx, c, hits)


@rule(
    "DX007",
    "Residual or recurrent stenosis",
    evidence=("2", "3", "98"),
    unverified=True,
    params=("blocks.snrb_positive_pct",),
    requirements=("REQ-004", "REQ-110"),
)
def residual_stenosis(ctx: Ctx) -> None:
    """Missed or under-treated lateral (foraminal/lateral-recess) stenosis was the primary cause
    in 57–58% of Burton's series [2]; stenosis can also progress at operated or other levels.
    Leg pain with neurogenic claudication points to it (unverified common practice); imaging
    confirms it and the level must match."""
    c = "residual_stenosis"
    fused = ctx.fused_segments
    hits = [
        h
        for h in ctx.has("residual_stenosis", "foraminal_stenosis")
        if not (ctx.fusion and any(adjacent_to(lv, fused) for lv in h.levels))
    ]
    for h in hits:
        ctx.support(
            c,
            True,
            f"{h.code.replace('_', ' ').capitalize()} at {', '.join(h.levels) or 'unspecified level'}.",
            "supporting",
            [h.fact()],
            ["2"],
        )
    claud = ctx.true("symptoms.neurogenic_claudication")
    if claud and (hits or ctx.decompression):
        ctx.support(c, True, "Neurogenic claudication.", "supporting", claud, [])
    if c not in ctx.out.causes:
        return
    if ctx.window == "W3":
        ctx.support(
            c,
            True,
            "Years after surgery: progressive stenosis is common.",
            "weak",
            [_window(ctx)],
            ["seed"],
        )
    if not hits:
        return
    cb = ctx.cause(c, True)
    if ctx.radicular:
        _radicular_concordance(ctx, c, hits)
    elif claud:
        cb.concordant, cb.concordance_note = True, "claudication with stenosis on imaging"
    if cb.concordant:
        ctx.support(
            c, True, "Stenosis on imaging matches the symptoms.", "confirmatory", [hits[0].fact()]
        )


@rule(
    "DX008",
    "Epidural fibrosis / arachnoiditis",
    evidence=("9", "10", "49", "91", "3"),
    requirements=("REQ-005",),
)
def epidural_fibrosis(ctx: Ctx) -> None:
    """Scar enhances early on gadolinium MRI, unlike disc [9][10]; burning, continuous,
    non-dermatomal pain suggests neuropathic pain, fibrosis or arachnoiditis [91][3]. A poor
    surgical target: reoperation success 37.2% vs 75.9% for recurrent herniation [49]."""
    c = "epidural_fibrosis"
    for h in ctx.has("epidural_fibrosis", "arachnoiditis"):
        contrast = h.modality == "mri_with_contrast"
        ctx.support(
            c,
            False,
            f"{h.code.replace('_', ' ').capitalize()} on {_modality(h.modality)}.",
            "confirmatory" if contrast else "supporting",
            [h.fact()],
            ["9", "10"],
        )
    for f in ctx.true("symptoms.neuropathic_features"):
        ctx.support(
            c,
            False,
            "Burning, continuous, non-dermatomal (neuropathic) pain.",
            "supporting",
            [f],
            ["91"],
        )
    if c in ctx.out.causes and ctx.window in ("W1", "W2"):
        ctx.support(c, False, "Time since surgery fits scar formation.", "weak", [_window(ctx)])
    if c in ctx.out.causes and not ctx.has("epidural_fibrosis", "arachnoiditis"):
        clean = ctx.studies_of(["mri_with_contrast"], reported=True)
        if clean:
            i = clean[-1][0]
            ctx.oppose(
                c,
                False,
                "MRI with contrast shows no enhancing scar or arachnoiditis.",
                "confirmatory",
                [Fact(field=f"imaging[{i}]", value="mri_with_contrast")],
            )


@rule(
    "DX009",
    "Sagittal imbalance / flatback",
    evidence=("41", "42", "99", "119"),
    params=("sagittal.pi_ll_deg", "sagittal.sva_cm", "sagittal.pt_deg"),
    requirements=("REQ-005",),
)
def sagittal(ctx: Ctx) -> None:
    """Grades PI−LL, SVA and PT with the SRS–Schwab modifiers (RULE-A1) [41][42]; any modifier
    '+' or worse is malalignment, '++' is marked. A forward stoop with fatigue-type back pain
    after a fusion points to it [99]; persisting PI−LL mismatch raises revision risk ~10× [119]."""
    from revspine.rules.planning import schwab_modifiers

    c = "sagittal_imbalance"
    mods = schwab_modifiers(ctx)
    graded = {k: v for k, v in mods.items() if v[0] is not None}
    bad = {k: v for k, v in graded.items() if v[0] in ("+", "++")}
    for name, (grade, value, fact) in bad.items():
        ctx.support(
            c,
            True,
            f"{name} {value:g} — SRS–Schwab '{grade}'.",
            "confirmatory" if grade == "++" else "supporting",
            [fact],
            ["41", "42"],
        )
    stoop = ctx.true("symptoms.forward_stoop")
    if stoop:
        ctx.support(c, True, "Forward stoop / cannot stand upright.", "supporting", stoop, ["99"])
    if c not in ctx.out.causes:
        return
    if graded and not bad:
        ctx.oppose(
            c,
            True,
            "All measured SRS–Schwab modifiers are grade 0.",
            "confirmatory",
            [v[2] for v in graded.values()],
        )
    cb = ctx.cause(c, True)
    if bad and (stoop or ctx.axial):
        cb.concordant, cb.concordance_note = True, "malalignment with posture-related pain"
        if len(bad) >= 2 and not any(v[0] == "++" for v in bad.values()):
            ctx.support(
                c,
                True,
                "Two or more modifiers abnormal with matching symptoms.",
                "confirmatory",
                [v[2] for v in bad.values()],
            )


@rule(
    "DX010",
    "Segmental instability or painful pars defect",
    evidence=("6", "3", "seed"),
    params=("blocks.pars_positive_pct",),
    requirements=("REQ-005", "REQ-012"),
)
def instability(ctx: Ctx) -> None:
    """Instability after a decompression (iatrogenic) or a pars defect causes mechanical axial
    pain; flexion-extension films show it [6][3]."""
    c = "instability"
    hits = ctx.has("instability")
    for h in hits:
        strong = h.modality == "flexion_extension_xray"
        ctx.support(
            c,
            True,
            f"Instability on {_modality(h.modality)}.",
            "confirmatory" if strong else "supporting",
            [h.fact()],
            ["6"],
        )
    for h in ctx.has("pars_defect"):
        ctx.support(
            c,
            True,
            f"Pars defect at {', '.join(h.levels) or 'unspecified level'}.",
            "supporting",
            [h.fact()],
        )
    if ctx.decompression and not ctx.fusion and ctx.get("symptoms.mechanical_pain") is True:
        ctx.support(
            c,
            True,
            "Mechanical pain after a decompression without fusion.",
            "supporting",
            [ctx.fact("symptoms.mechanical_pain")],
            ["3"],
        )
    pars = ctx.has("pars_defect")
    for i, b in enumerate(ctx.case.blocks):
        if b.type != "pars" or not pars:
            continue
        pct = relief(b.pre_nrs, b.post_nrs, b.percent_relief)
        fact = Fact(
            field=f"blocks[{i}]",
            value=f"pars {b.level or ''} {pct if pct is None else round(pct)}%",
        )
        if block_positive(ctx, "pars", pct, b.controlled) and b.concordant is not False:
            ctx.support(
                c,
                True,
                f"Pars block relieved {pct:.0f}% of the usual pain.",
                "confirmatory",
                [fact],
                ["seed"],
            )
            ctx.cause(c, True).concordant = True
            ctx.cause(c, True).concordance_note = "pars block positive"
        elif pct is not None:
            ctx.oppose(c, True, f"Pars block gave only {pct:.0f}% relief.", "confirmatory", [fact])
            ctx.cause(c, True).concordant = False
            ctx.cause(c, True).concordance_note = "pars block negative"
    if c in ctx.out.causes and not hits:
        dynamic = ctx.studies_of(["flexion_extension_xray"], reported=True)
        if dynamic:
            i = dynamic[-1][0]
            ctx.oppose(
                c,
                True,
                "Flexion-extension films show no instability.",
                "confirmatory",
                [Fact(field=f"imaging[{i}]", value="flexion_extension_xray")],
            )
            if ctx.cause(c, True).concordant is None and not pars:
                ctx.cause(c, True).concordant = False
    if c in ctx.out.causes:
        cb = ctx.cause(c, True)
        if hits and cb.concordant is None and (ctx.axial or ctx.get("symptoms.mechanical_pain")):
            cb.concordant, cb.concordance_note = True, "mechanical pain with instability on imaging"
        elif pars and not hits and cb.concordant is None:
            cb.concordance_note = "pars defect: a pars block must confirm it as the generator"


@rule(
    "DX011",
    "Inadequate decompression or wrong level",
    evidence=("2", "3", "8"),
    params=("blocks.snrb_positive_pct",),
    requirements=("REQ-005", "REQ-110"),
)
def wrong_level(ctx: Ctx) -> None:
    """Pain that never improved after surgery points to the wrong diagnosis, the wrong level or
    an inadequate decompression [3][8]; so does a compressive lesion left at the operated level, or
    a painful dermatome that does not match the operated level [2][8]."""
    c = "inadequate_decompression_or_wrong_level"
    never = ctx.course == "never_improved"
    if never:
        ctx.support(
            c,
            True,
            "Pain never improved after the last surgery.",
            "supporting",
            [ctx.fact("symptoms.course")],
            ["3", "8"],
        )
    if ctx.window == "W0" and ctx.radicular:
        ctx.support(
            c, True, "Radicular pain persisting right after surgery.", "weak", [_window(ctx)], ["8"]
        )
    roots, facts = patient_roots(ctx)
    operated = ctx.operated_segments
    if roots and operated and ctx.decompression and not any(roots_of(s) & roots for s in operated):
        ctx.support(
            c,
            True,
            f"Painful dermatome(s) {', '.join(sorted(roots))} do not match the operated level(s) {', '.join(sorted(operated))}.",
            "supporting",
            facts,
            ["8"],
        )
    if never:
        lesions = ctx.has("residual_stenosis", "foraminal_stenosis", "recurrent_herniation")
        at_operated = [h for h in lesions if set(h.levels) & operated]
        elsewhere = [h for h in lesions if h.levels and not set(h.levels) & operated]
        for h in at_operated:
            ctx.support(
                c,
                True,
                f"Compression persists at the operated level {', '.join(h.levels)}.",
                "supporting",
                [h.fact()],
                ["2"],
            )
        cb = ctx.cause(c, True)
        if at_operated:
            _radicular_concordance(ctx, c, at_operated)
            if cb.concordant:
                ctx.support(
                    c,
                    True,
                    "Residual lesion at the operated level matches the pain.",
                    "confirmatory",
                    [at_operated[0].fact()],
                    ["2"],
                )
        if elsewhere and not cb.concordant and ctx.radicular:
            _radicular_concordance(ctx, c, elsewhere)
            if cb.concordant:
                ctx.support(
                    c,
                    True,
                    f"The lesion that matches the pain is at a level that was not operated ({', '.join(elsewhere[0].levels)}): wrong level.",
                    "confirmatory",
                    [elsewhere[0].fact()],
                    ["2", "8"],
                )
    if c in ctx.out.causes and ctx.course == "pain_free_interval":
        ctx.oppose(
            c,
            True,
            "There was a pain-free interval after surgery.",
            "supporting",
            [ctx.fact("symptoms.course")],
        )


@rule("DX012", "Hip pathology", evidence=(), unverified=True, requirements=("REQ-006",))
def hip(ctx: Ctx) -> None:
    """Groin or anterior-thigh pain and painful, reduced internal rotation point to the hip; a
    hip X-ray or intra-articular injection confirms it (REFERENCE.md §3.1, unverified common
    practice)."""
    c = "hip_pathology"
    facts = ctx.true("symptoms.groin_pain", "comorbidities.hip_osteoarthritis")
    if ctx.get("exam.hip_exam") in ("painful_internal_rotation", "abnormal"):
        facts.append(ctx.fact("exam.hip_exam"))
    for f in facts:
        ctx.support(
            c,
            False,
            f"{f.field.split('.')[-1].replace('_', ' ').capitalize()}: {f.value}.",
            "supporting",
            [f],
        )
    hipeval = ctx.case.evaluations.hip
    if hipeval is not None:
        if hipeval.result == "hip_pathology":
            ctx.support(
                c,
                False,
                "Hip evaluation found hip pathology.",
                "confirmatory",
                [ctx.fact("evaluations.hip.result")],
            )
        elif c in ctx.out.causes:
            ctx.oppose(
                c,
                False,
                "Hip evaluation normal.",
                "confirmatory",
                [ctx.fact("evaluations.hip.result")],
            )
    if c in ctx.out.causes and ctx.get("exam.hip_exam") == "normal":
        ctx.oppose(c, False, "Normal hip examination.", "supporting", [ctx.fact("exam.hip_exam")])


@rule(
    "DX013",
    "Sacroiliac joint pain",
    evidence=("51", "52", "53", "54", "55"),
    params=("blocks.si_joint_positive_pct", "blocks.si_provocation_min_positive"),
    requirements=("REQ-006", "REQ-012"),
)
def sacroiliac(ctx: Ctx) -> None:
    """New buttock pain below L5, focal PSIS tenderness and ≥ 2 positive provocation tests,
    especially after a fusion to the sacrum (new SIJ pain 12%, mean onset 22 months) [52][55];
    a fluoroscopic SIJ block reaching the threshold is the reference standard [54][55]. 35% of
    selected post-fusion patients had a positive SIJ block [51]."""
    c = "sacroiliac_joint"
    facts = ctx.true("symptoms.buttock_pain", "exam.psis_tenderness")
    for f in facts:
        ctx.support(
            c,
            False,
            f"{f.field.split('.')[-1].replace('_', ' ').capitalize()}.",
            "supporting",
            [f],
            ["55"],
        )
    n = ctx.get("exam.si_provocation_positive")
    if n is not None and n >= ctx.kb.num("blocks.si_provocation_min_positive"):
        ctx.support(
            c,
            False,
            f"{n} positive SI-joint provocation tests.",
            "supporting",
            [ctx.fact("exam.si_provocation_positive")],
            ["52", "55"],
        )
    if c in ctx.out.causes and ctx.fused_to_sacrum:
        ctx.support(
            c,
            False,
            "Fusion to the sacrum (new SIJ pain after fusion).",
            "weak",
            [Fact(field="surgeries.levels", value=sorted(ctx.fused_segments))],
            ["52"],
        )
    for i, b in enumerate(ctx.case.blocks):
        if b.type != "si_joint":
            continue
        pct = relief(b.pre_nrs, b.post_nrs, b.percent_relief)
        fact = Fact(
            field=f"blocks[{i}]",
            value=f"si_joint {b.side or ''} {pct if pct is None else round(pct)}%",
        )
        if block_positive(ctx, "si_joint", pct, b.controlled):
            ctx.support(
                c,
                False,
                f"SI-joint block relieved {pct:.0f}% (threshold {ctx.kb.num('blocks.si_joint_positive_pct'):g}%).",
                "confirmatory",
                [fact],
                ["53", "55"],
            )
        elif pct is not None:
            ctx.oppose(
                c, False, f"SI-joint block gave only {pct:.0f}% relief.", "confirmatory", [fact]
            )
    if c in ctx.out.causes and n == 0:
        ctx.oppose(
            c,
            False,
            "No positive SI-joint provocation test.",
            "supporting",
            [ctx.fact("exam.si_provocation_positive")],
        )


@rule(
    "DX014",
    "Peripheral neuropathy",
    evidence=("seed",),
    unverified=True,
    requirements=("REQ-006", "REQ-016"),
)
def neuropathy(ctx: Ctx) -> None:
    """Symmetric, stocking-distribution, length-dependent symptoms — often diabetic — mimic
    radiculopathy; EMG/NCS separates them (seed document; details unverified common practice)."""
    c = "peripheral_neuropathy"
    for f in ctx.true(
        "comorbidities.peripheral_neuropathy",
        "symptoms.stocking_distribution",
        "exam.stocking_sensory_loss",
    ):
        ctx.support(
            c,
            False,
            f"{f.field.split('.')[-1].replace('_', ' ').capitalize()}.",
            "supporting",
            [f],
            ["seed"],
        )
    leg = ctx.radicular or ctx.get("symptoms.numbness") or ctx.get("symptoms.tingling")
    if leg and ctx.get("comorbidities.diabetes") is True:
        ctx.support(
            c, False, "Diabetes with leg symptoms.", "weak", [ctx.fact("comorbidities.diabetes")]
        )
    for i, e in enumerate(ctx.case.electrodiagnostics):
        fact = Fact(field=f"electrodiagnostics[{i}].result", value=e.result)
        if e.result in (
            "peripheral_neuropathy",
            "radiculopathy_and_neuropathy",
            "entrapment_neuropathy",
        ):
            ctx.support(
                c,
                False,
                f"EMG/NCS: {e.result.replace('_', ' ')}.",
                "confirmatory",
                [fact],
                ["seed"],
            )
        elif e.result in ("radiculopathy", "normal") and c in ctx.out.causes:
            ctx.oppose(
                c, False, f"EMG/NCS shows {e.result}, not a neuropathy.", "confirmatory", [fact]
            )


@rule(
    "DX015",
    "Vascular claudication",
    evidence=(),
    params=("vascular.abi_abnormal_below",),
    unverified=True,
    requirements=("REQ-006",),
)
def vascular(ctx: Ctx) -> None:
    """Calf pain on walking relieved by standing still, weak pulses or known arterial disease
    point to vascular claudication; an ankle-brachial index below 0.9 is abnormal (REFERENCE.md
    §3.1, unverified common practice)."""
    c = "vascular_claudication"
    for f in ctx.true(
        "symptoms.vascular_claudication", "comorbidities.peripheral_vascular_disease"
    ):
        ctx.support(
            c, False, f"{f.field.split('.')[-1].replace('_', ' ').capitalize()}.", "supporting", [f]
        )
    if ctx.get("exam.distal_pulses") == "diminished":
        ctx.support(
            c, False, "Diminished distal pulses.", "supporting", [ctx.fact("exam.distal_pulses")]
        )
    vs = ctx.case.evaluations.vascular
    if vs is not None:
        abi = vs.ankle_brachial_index
        abnormal = vs.result == "arterial_disease" or (
            abi is not None and abi < ctx.kb.num("vascular.abi_abnormal_below")
        )
        fact = Fact(
            field="evaluations.vascular", value=f"ABI {abi}" if abi is not None else vs.result
        )
        if abnormal:
            ctx.support(c, False, "Vascular study abnormal.", "confirmatory", [fact])
        elif c in ctx.out.causes:
            ctx.oppose(c, False, "Vascular study normal.", "confirmatory", [fact])


@rule("DX016", "Widespread pain syndrome", evidence=("seed", "4"), requirements=("REQ-007",))
def widespread(ctx: Ctx) -> None:
    """Fibromyalgia or pain in many body regions: further spine surgery has little chance of
    helping; treat non-surgically (seed document; [4])."""
    c = "widespread_pain_syndrome"
    if ctx.get("comorbidities.fibromyalgia") is True:
        ctx.support(
            c,
            False,
            "Fibromyalgia.",
            "confirmatory",
            [ctx.fact("comorbidities.fibromyalgia")],
            ["seed", "4"],
        )
    if ctx.get("symptoms.widespread_pain") is True:
        ctx.support(
            c,
            False,
            "Pain in multiple body regions.",
            "supporting",
            [ctx.fact("symptoms.widespread_pain")],
            ["seed", "4"],
        )


@rule(
    "DX017",
    "Psychosocial contributors",
    evidence=("4", "73", "75", "76", "77"),
    params=("psychosocial.phq9_threshold", "psychosocial.pcs_threshold"),
    requirements=("REQ-007", "REQ-026"),
)
def psychosocial(ctx: Ctx) -> None:
    """Yellow flags (RULE-Y1): PHQ-9 ≥ 10, pain catastrophizing ≥ 30, STarT Back high risk,
    compensation or litigation, daily opioid use, depression, anxiety or substance use predict
    worse outcomes [76][77]. Two or more make it a likely contributor (Epker & Block trigger)
    [77]."""
    from revspine.rules.nonsurgical import yellow_flags

    flags = yellow_flags(ctx)
    for text, fact in flags:
        ctx.support("psychosocial_contributors", False, text, "supporting", [fact], ["77"])
    if len(flags) >= 2:
        ctx.support(
            "psychosocial_contributors",
            False,
            f"{len(flags)} yellow flags (formal psychological screening indicated).",
            "confirmatory",
            [],
            ["77"],
        )


@rule(
    "DX018",
    "Smoking as a contributor",
    evidence=("31", "32", "33", "35"),
    requirements=("REQ-008",),
)
def smoking(ctx: Ctx) -> None:
    """Smoking raises non-union (26.5% vs 14.2%), infection and adjacent-segment risk [31][33];
    it is a contributor to failure, not a pain generator of its own."""
    if ctx.get("comorbidities.smoking_status") == "current":
        text = "Current smoker" + (
            f" ({ctx.get('comorbidities.cigarettes_per_day')} cigarettes/day)."
            if ctx.get("comorbidities.cigarettes_per_day")
            else "."
        )
        ctx.support(
            "smoking",
            False,
            text,
            "supporting",
            [ctx.fact("comorbidities.smoking_status")],
            ["31", "33"],
        )
