"""Step 3 — the missing workup, and why each test is needed.

Each test carries a gate: ``diagnosis`` (no safe disposition without it), ``revision`` (needed
before a revision can be considered), ``prep`` (preparation for a revision, never blocking, not
shown when no revision is on the table) or ``routine`` (useful, never blocking). Tests whose current
result already exists are not ordered: a result is current when it is dated after the last
surgery and within the knowledge file's currency window ("stale result" hazard).
"""

from __future__ import annotations

from revspine.domain.assessment import Fact
from revspine.rules._shared import (
    infection_context,
    infection_markers,
    patient_roots,
    pseudarthrosis_suspicion,
    raised_uncurrent_markers,
    spinal_red_flag,
)
from revspine.rules.context import CROSS_SECTIONAL, MRI, Ctx, make_fact
from revspine.rules.registry import rule

#: Red-flag screen: must be known before a revision is considered.
RED_FLAG_SCREEN = (
    "symptoms.bowel_bladder_dysfunction",
    "symptoms.saddle_anaesthesia",
    "symptoms.weakness",
    "symptoms.fever",
)
#: Facts that could change the decision; unknown ones are reported as missing data.
DECISION_FACTS = (
    "symptoms.chills",
    "symptoms.wound_drainage",
    "symptoms.widespread_pain",
    "comorbidities.fibromyalgia",
    "comorbidities.smoking_status",
    "comorbidities.diabetes",
    "comorbidities.cancer",
    "psychosocial.litigation_or_compensation",
)


def _phq9_known(ctx: Ctx) -> bool:
    if ctx.get("psychosocial.phq9_total") is not None or ctx.case.psychosocial.evaluation:
        return True
    return any(p.phq9_answers is not None and None not in p.phq9_answers for p in ctx.case.proms)


def _needs_contrast(ctx: Ctx) -> bool:
    """Contrast MRI is needed with possible infection or after a decompression with leg pain."""
    return bool(infection_context(ctx)) or (ctx.decompression and ctx.radicular is True)


def _label(path: str) -> str:
    return path.split(".")[-1].replace("_", " ")


@rule(
    "WU001",
    "Detailed history and physical examination",
    evidence=("seed", "1", "3", "77"),
    params=("currency.exam_valid_days",),
    requirements=("REQ-010", "REQ-102", "REQ-108"),
)
def history_and_exam(ctx: Ctx) -> None:
    """A detailed history and examination identifies the pain generator and rules out non-spinal
    causes; with careful history, exam and testing a structural cause is found in > 90% [3].
    Without the course since surgery, the pain pattern (axial vs radicular) or a current
    documented examination no decision is safe (gate: diagnosis). Before a revision is
    considered the red-flag screen (sphincters, saddle sensation, weakness, fever) and a
    depression screen (PHQ-9, RULE-Y1) must be recorded (gate: revision) [77]. Other facts that
    could change the decision (chills, wound drainage, widespread pain, fibromyalgia, smoking,
    diabetes, cancer, litigation) are listed as missing data when unknown. Seed document §1a."""
    gaps: list[str] = []
    if not ctx.case.surgeries:
        gaps.append("surgeries")
        ctx.missing(
            "surgeries",
            "no prior spine surgery recorded: date, type and levels anchor the whole assessment",
        )
    if ctx.get("symptoms.course") is None and ctx.get("symptoms.pain_free_interval_months") is None:
        gaps.append("symptoms.course")
        ctx.missing(
            "symptoms.course",
            "course since surgery (never improved / pain-free interval) ranks the causes",
        )
    if ctx.radicular is None and ctx.axial is None:
        gaps.append("symptoms.predominant_pain")
        ctx.missing("symptoms.predominant_pain", "axial vs radicular pain pattern not recorded")
    exam = ctx.case.exam
    stale = (
        exam is not None
        and exam.date is not None
        and (ctx.as_of - exam.date).days > ctx.kb.num("currency.exam_valid_days")
    )
    if exam is None or stale:
        gaps.append("exam")
        ctx.missing(
            "exam",
            "no current documented examination" if exam is None else "examination is out of date",
        )
    if gaps:
        ctx.order(
            "history_and_exam",
            f"Record: {', '.join(_label(g) for g in gaps)}.",
            gate="diagnosis",
            facts=[make_fact(g, None) for g in gaps],
            evidence=["seed", "3"],
        )
    late = ctx.unknown(
        *RED_FLAG_SCREEN, why="red-flag screen must be recorded before a revision is considered"
    )
    if not _phq9_known(ctx):
        late.append("psychosocial.phq9_total")
        ctx.missing(
            "psychosocial.phq9_total", "depression screen (PHQ-9) needed before a revision decision"
        )
    if late:
        ctx.order(
            "history_and_exam",
            f"Before any revision decision, record: {', '.join(_label(g) for g in late)}.",
            gate="revision",
            facts=[make_fact(g, None) for g in late],
            evidence=["seed", "77"],
        )
    ctx.unknown(*DECISION_FACTS, why="unknown: could change the cause, the disposition or the plan")


@rule(
    "WU002",
    "Radiographs and MRI of the operated region",
    evidence=("1", "86", "85", "100", "9", "10"),
    params=("currency.imaging_valid_days", "fusion.early_mri_low_specificity_days"),
    requirements=("REQ-011", "REQ-108"),
)
def baseline_imaging(ctx: Ctx) -> None:
    """Any recurrent symptoms after spine surgery: plain radiographs and MRI of the region
    [1][86]. MRI with gadolinium separates recurrent disc from scar [9][10] and shows infection;
    CT myelography replaces it when MRI is contraindicated or degraded by metal [85][100]. MRI in
    the first ~4 weeks is low-specificity [10] (warning)."""
    cross_sectional = bool(ctx.studies_of(CROSS_SECTIONAL))
    if not ctx.studies_of(["xray", "flexion_extension_xray", "standing_full_spine_xray", "ct"]):
        # Radiographs decide when there is hardware, a fusion or mechanical pain, or no other
        # imaging; after a plain decompression with a current MRI they complete the picture.
        needed = (
            not cross_sectional
            or ctx.fusion
            or bool(ctx.instrumented)
            or ctx.get("symptoms.mechanical_pain") is not False
        )
        ctx.order(
            "xray",
            "No current radiographs of the operated region (AP/lateral).",
            gate="diagnosis" if needed else "routine",
            urgent=spinal_red_flag(ctx),
            evidence=["1", "86"],
        )
    mri_blocked = ctx.get("patient.mri_contraindicated") is True or any(
        s.limited_by_artifact for _, s in ctx.studies_of(MRI)
    )
    if not ctx.studies_of(CROSS_SECTIONAL):
        if mri_blocked:
            ctx.order(
                "ct_myelogram",
                "MRI is contraindicated or degraded by metal artifact: CT myelogram shows the thecal sac, lateral recess and foramina.",
                gate="diagnosis",
                urgent=spinal_red_flag(ctx),
                facts=[ctx.fact("patient.mri_contraindicated")],
                evidence=["85", "100"],
            )
        else:
            # Axial pain alone with a current CT (e.g. a CT-proven non-union) and nothing
            # neurological or infectious: the MRI completes the picture but does not decide.
            neuro = ctx.true(
                "symptoms.weakness", "symptoms.numbness", "symptoms.neurogenic_claudication"
            )
            axial_only = ctx.radicular is False and ctx.axial is True and not neuro
            decides = not (axial_only and ctx.studies_of(["ct"]) and not infection_context(ctx))
            ctx.order(
                "mri_with_contrast",
                "No current MRI of the operated region; with and without gadolinium to separate scar from disc and show infection.",
                gate="diagnosis" if decides else "routine",
                urgent=spinal_red_flag(ctx),
                evidence=["1", "9", "10"],
            )
    elif (
        not ctx.studies_of(["mri_with_contrast", "ct_myelogram"])
        and not mri_blocked
        and _needs_contrast(ctx)
    ):
        ctx.order(
            "mri_with_contrast",
            "MRI without contrast cannot separate recurrent disc from scar or show early infection.",
            gate="diagnosis",
            urgent=spinal_red_flag(ctx),
            evidence=["9", "10"],
        )
    elif (
        mri_blocked
        and not ctx.studies_of(["ct_myelogram"])
        and not ctx.studies_of(["mri", "mri_with_contrast"])
    ):
        ctx.order(
            "ct_myelogram",
            "MRI not possible: CT myelogram.",
            gate="diagnosis",
            urgent=spinal_red_flag(ctx),
            evidence=["85"],
        )
    if ctx.last_surgery_date:
        limit = ctx.kb.num("fusion.early_mri_low_specificity_days")
        for i, s in ctx.studies_of(MRI):
            if s.date and (s.date - ctx.last_surgery_date).days < limit:
                ctx.warn(
                    "early_mri",
                    f"MRI taken {(s.date - ctx.last_surgery_date).days} days after surgery: low specificity for disc vs scar (hematoma, edema).",
                    f"imaging[{i}]",
                )


@rule(
    "WU003",
    "CT for fusion status, hardware and fracture",
    evidence=("6", "37", "38"),
    params=("fusion.motion_threshold_deg",),
    requirements=("REQ-003", "REQ-011"),
)
def ct(ctx: Ctx) -> None:
    """CT with multiplanar reconstructions is the most sensitive test for non-union after
    instrumented fusion and shows loosening, breakage and malposition; static radiographs alone
    are not recommended [37][38][6]."""
    if ctx.studies_of(["ct", "ct_myelogram"]):
        return
    facts = pseudarthrosis_suspicion(ctx)
    fracture = [f for rf in ctx.out.red_flags if rf.code == "fracture_suspected" for f in rf.facts]
    if fracture:
        ctx.order(
            "ct",
            "Suspected fracture: radiographs and CT today.",
            gate="diagnosis",
            urgent=True,
            facts=fracture,
            evidence=["1"],
        )
    elif facts:
        ctx.order(
            "ct",
            "Suspected pseudarthrosis or hardware failure after fusion: fine-cut CT with reconstructions.",
            gate="diagnosis",
            facts=facts,
            evidence=["37", "38", "6"],
        )
    elif ctx.instrumented and ctx.window == "W0" and ctx.radicular:
        ctx.order(
            "ct",
            "New radicular pain right after instrumented surgery: CT for screw or cage position.",
            gate="diagnosis",
            facts=[ctx.fact("symptoms.radicular_pain")],
            evidence=["8"],
        )
    elif ctx.fusion:
        ctx.order(
            "ct",
            "Before a revision after fusion: CT of fusion mass, bone stock and hardware.",
            gate="prep",
            evidence=["6"],
        )


@rule(
    "WU004", "Flexion-extension radiographs", evidence=("6", "39", "87"), requirements=("REQ-011",)
)
def flexion_extension(ctx: Ctx) -> None:
    """Dynamic films show instability after a decompression, a pars defect or an adjacent
    segment, and motion at a non-instrumented fusion [6][39][87]."""
    if ctx.studies_of(["flexion_extension_xray"]):
        return
    mech = ctx.get("symptoms.mechanical_pain") is True
    reasons: list[Fact] = []
    if mech and ctx.decompression and not ctx.fusion:
        reasons.append(ctx.fact("symptoms.mechanical_pain"))
    reasons += [h.fact() for h in ctx.has("pars_defect", "instability")]
    if ctx.fusion and ctx.instrumented is False and pseudarthrosis_suspicion(ctx):
        reasons.append(Fact(field="surgeries.instrumented", value=False))
    if reasons:
        ctx.order(
            "flexion_extension_xray",
            "Possible instability (mechanical pain after decompression, pars defect, or non-instrumented fusion).",
            gate="diagnosis",
            facts=reasons,
            evidence=["6", "39"],
        )
    elif asd := ctx.has("adjacent_segment_degeneration"):
        ctx.order(
            "flexion_extension_xray",
            "Adjacent-segment degeneration: dynamic films show whether the segment is unstable (MRI ± flexion-extension).",
            gate="routine",
            facts=[h.fact() for h in asd],
            evidence=["87"],
        )


@rule(
    "WU005",
    "Standing full-length spine radiographs",
    evidence=("1", "41", "99"),
    requirements=("REQ-011", "REQ-019"),
)
def full_spine(ctx: Ctx) -> None:
    """Standing full-length films (with pelvis and femoral heads) measure PI, PT, LL and SVA for
    sagittal balance [41]; needed when flatback/imbalance is suspected and before any fusion
    revision, where correcting alignment is part of the plan (seed document; [99])."""
    have = any(s.spinopelvic is not None for _, s in ctx.studies) or ctx.studies_of(
        ["standing_full_spine_xray"]
    )
    if have:
        return
    stoop = ctx.true("symptoms.forward_stoop")
    if stoop or "sagittal_imbalance" in ctx.out.causes:
        ctx.order(
            "standing_full_spine_xray",
            "Suspected sagittal imbalance: measure PI, PT, LL and SVA.",
            gate="diagnosis",
            facts=stoop,
            evidence=["41", "99"],
        )
    elif ctx.fusion:
        ctx.order(
            "standing_full_spine_xray",
            "Before a fusion revision: sagittal parameters for planning alignment and levels.",
            gate="prep",
            evidence=["seed", "99"],
        )


@rule(
    "WU006",
    "ESR and CRP to rule out hidden infection",
    evidence=("seed", "11", "13", "78"),
    params=(
        "currency.infection_labs_valid_days",
        "fusion.motion_threshold_deg",
        "infection.crp_normalisation_days",
        "infection.crp_upper_mg_l",
        "infection.esr_nonspecific_until_days",
        "infection.esr_upper_mm_h",
    ),
    requirements=("REQ-013", "REQ-014", "REQ-103", "REQ-108"),
)
def inflammatory_markers(ctx: Ctx) -> None:
    """ESR and CRP are obtained before any revision to rule out hidden infection, especially with
    pseudarthrosis; with fever, chills, wound drainage or a history of infection they are needed
    before anything else (seed document §1d). Results count only when current (dated after the
    last surgery and within the currency window). Suspected infection also gets a WBC, and blood
    cultures with fever (positive in ~60% of epidural abscess) [78][102]."""
    markers = infection_markers(ctx)
    clinical = infection_context(ctx)
    pseudo = pseudarthrosis_suspicion(ctx)
    malignancy = [
        f for rf in ctx.out.red_flags if rf.code == "malignancy_suspected" for f in rf.facts
    ]
    context = clinical + pseudo + malignancy
    urgent = any(
        rf.code
        in (
            "spinal_infection_suspected",
            "wound_infection_suspected",
            "crp_second_rise",
            "malignancy_suspected",
        )
        for rf in ctx.out.red_flags
    )
    gate = "diagnosis" if context else "revision"
    labels = [_label(f.field) if f.value is True else str(f.value) for f in clinical]
    if pseudo:
        labels.append("suspected pseudarthrosis")
    if malignancy:
        labels = ["possible malignancy (laboratory work-up with the MRI)"]
    why = (
        "Rule out hidden infection: " + "; ".join(dict.fromkeys(labels)) + "."
        if context
        else "Before any revision, to rule out hidden infection."
    )
    for test in ("esr", "crp"):
        if test not in markers:
            lab = ctx.latest(test)
            note = " The last result is not current." if lab is not None else ""
            ctx.order(
                test,
                why + note,
                gate=gate,
                urgent=urgent,
                facts=context,
                evidence=["seed", "11", "13"],
            )
    raised_any = any(m.state != "normal" for m in markers.values()) or bool(
        raised_uncurrent_markers(ctx, markers)
    )
    if (clinical or raised_any) and ctx.current_lab(
        "wbc", "currency.infection_labs_valid_days"
    ) is None:
        ctx.order(
            "wbc",
            "Possible infection: white-cell count.",
            gate="routine",
            urgent=urgent,
            facts=context,
            evidence=["14", "78"],
        )
    if ctx.get("symptoms.fever") is True or any(
        rf.code == "spinal_infection_suspected" for rf in ctx.out.red_flags
    ):
        ctx.order(
            "blood_cultures",
            "Fever or suspected deep infection: blood cultures (positive in ~60% of epidural abscess).",
            gate="routine",
            urgent=True,
            facts=ctx.true("symptoms.fever"),
            evidence=["78", "102"],
        )
    raised = [m for m in markers.values() if m.state == "raised"]
    if (
        raised
        and not ctx.studies_of(["mri_with_contrast"])
        and ctx.get("patient.mri_contraindicated") is not True
    ):
        ctx.order(
            "mri_with_contrast",
            "Raised inflammatory markers: MRI with gadolinium for discitis, abscess or collection.",
            gate="diagnosis",
            urgent=spinal_red_flag(ctx),
            facts=[m.lab.fact() for m in raised],
            evidence=["78"],
        )


@rule(
    "WU007",
    "Nutrition labs: albumin and transferrin",
    evidence=("seed", "18", "20", "22"),
    params=("nutrition.multiple_surgeries_min", "currency.nutrition_labs_valid_days"),
    requirements=("REQ-015", "REQ-108"),
)
def nutrition_labs(ctx: Ctx) -> None:
    """Revision patients, especially with multiple previous surgeries or infection, are often
    malnourished and should be checked with albumin and transferrin (seed document §1d);
    total lymphocyte count and prealbumin complete the screen [18][20][22]."""
    facts: list[Fact] = []
    if ctx.surgery_count >= ctx.kb.num("nutrition.multiple_surgeries_min"):
        facts.append(Fact(field="derived.prior_surgeries", value=ctx.surgery_count))
    facts += ctx.true("comorbidities.prior_spine_infection")
    if "infection" in ctx.out.causes and any(
        f.strength != "weak" for f in ctx.out.causes["infection"].for_
    ):
        facts.append(Fact(field="differential.infection", value="suspected"))
    if not facts:
        return
    infected = any(f.field != "derived.prior_surgeries" for f in facts)
    why = (
        "Infection: patients are often inadequately nourished; check albumin and transferrin."
        if infected
        else "Multiple prior surgeries: screen for malnutrition before revision."
    )
    for test in ("albumin", "transferrin", "total_lymphocyte_count", "prealbumin"):
        if ctx.current_lab(test, "currency.nutrition_labs_valid_days", post_op=False) is None:
            gate = "routine" if infected else "prep"
            ctx.order(test, why, gate=gate, facts=facts, evidence=["seed", "18"])


@rule(
    "WU008",
    "EMG / nerve conduction studies",
    evidence=("seed", "56b", "57"),
    requirements=("REQ-016",),
)
def emg(ctx: Ctx) -> None:
    """EMG/NCS separates radiculopathy from peripheral (e.g. diabetic) neuropathy and localises
    the root when imaging and the clinical picture disagree (seed document §1e; [56b][57])."""
    if ctx.case.electrodiagnostics or ctx.out.red_flags:
        return  # with red flags it would not help today: denervation takes ~3 weeks to show
    leg = ctx.radicular or ctx.get("symptoms.numbness") or ctx.get("symptoms.tingling")
    neuro = ctx.true(
        "comorbidities.peripheral_neuropathy",
        "symptoms.stocking_distribution",
        "exam.stocking_sensory_loss",
    )
    if leg and ctx.get("comorbidities.diabetes") is True:
        neuro.append(ctx.fact("comorbidities.diabetes"))
    if leg and neuro:
        ctx.order(
            "emg_ncs",
            "Leg symptoms with a possible peripheral neuropathy: separate radiculopathy from neuropathy.",
            gate="diagnosis",
            facts=neuro,
            evidence=["seed"],
        )
        return
    discordant = [
        c
        for c, cb in ctx.out.causes.items()
        if cb.correctable and cb.concordant is False and ctx.radicular
    ]
    if discordant:
        ctx.order(
            "emg_ncs",
            "Imaging and the clinical picture disagree: EMG/NCS to localise the root.",
            gate="routine",
            evidence=["56b", "57"],
        )


@rule(
    "WU009",
    "Selective nerve root block",
    evidence=("seed", "56", "57"),
    requirements=("REQ-012", "REQ-110"),
)
def snrb(ctx: Ctx) -> None:
    """A selective nerve root block confirms which root generates the radicular pain when
    imaging shows several candidate levels or does not match the dermatome (seed document §1c;
    accuracy 87–100% vs surgery in older series [57], pooled specificity only 50% [56])."""
    for cause in (
        "recurrent_disc_herniation",
        "residual_stenosis",
        "adjacent_segment_disease",
        "inadequate_decompression_or_wrong_level",
        "hardware_malposition",
    ):
        cb = ctx.out.causes.get(cause)
        if cb is None or not ctx.radicular:
            continue
        if cb.concordant is False or (
            cb.concordant is None
            and cb.concordance_note
            and "selective nerve root block" in cb.concordance_note
        ):
            if (
                any(b.type == "selective_nerve_root" for b in ctx.case.blocks)
                and cb.concordant is False
            ):
                continue
            ctx.order(
                "selective_nerve_root_block",
                f"Confirm the symptomatic root ({cause.replace('_', ' ')}: {cb.concordance_note}).",
                gate="diagnosis",
                evidence=["56", "57"],
            )


@rule(
    "WU010",
    "Facet / medial branch block",
    evidence=("seed", "118", "120"),
    requirements=("REQ-012",),
)
def facet_block(ctx: Ctx) -> None:
    """Diagnostic facet (medial branch) blocks identify the axial pain generator at the operated
    or adjacent level (seed document §1c); the multisociety consensus prefers medial branch
    blocks [118]."""
    if any(b.type in ("facet", "medial_branch") for b in ctx.case.blocks):
        return
    asd = ctx.out.causes.get("adjacent_segment_disease")
    if (
        asd is not None
        and asd.concordant is None
        and asd.concordance_note
        and "facet" in asd.concordance_note
    ):
        ctx.order(
            "facet_block",
            "Axial pain with an adjacent-level lesion: confirm the generator with a medial branch block.",
            gate="diagnosis",
            evidence=["seed", "118"],
        )
    elif ctx.has("facet_arthropathy") and ctx.axial:
        ctx.order(
            "facet_block",
            "Axial pain with facet arthropathy: a medial branch block tests the facet as generator.",
            gate="routine",
            facts=[h.fact() for h in ctx.has("facet_arthropathy")],
            evidence=["118"],
        )


@rule("WU011", "Pars block", evidence=("seed",), requirements=("REQ-012",))
def pars_block(ctx: Ctx) -> None:
    """A pars defect on imaging may be the pain generator: a diagnostic pars block tests it
    (seed document §1c; positivity threshold unverified)."""
    hits = ctx.has("pars_defect")
    if hits and not any(b.type == "pars" for b in ctx.case.blocks):
        ctx.order(
            "pars_block",
            "Pars defect on imaging: a pars block tests it as the pain generator.",
            gate="diagnosis",
            facts=[h.fact() for h in hits],
            evidence=["seed"],
        )


@rule(
    "WU012",
    "SI-joint block",
    evidence=("52", "53", "54", "55"),
    requirements=("REQ-006", "REQ-012"),
)
def si_block(ctx: Ctx) -> None:
    """When the history or exam points to the SI joint, a fluoroscopic intra-articular block is
    the reference standard (no single exam finding is diagnostic) [54][55]."""
    cb = ctx.out.causes.get("sacroiliac_joint")
    if cb is None or any(b.type == "si_joint" for b in ctx.case.blocks):
        return
    if any(f.strength != "weak" for f in cb.for_):
        ctx.order(
            "si_joint_block",
            "Findings point to the SI joint: confirm with a fluoroscopic SI-joint block.",
            gate="diagnosis",
            facts=[f for x in cb.for_ for f in x.facts],
            evidence=["54", "55"],
        )


@rule("WU013", "Hip evaluation", evidence=(), unverified=True, requirements=("REQ-006",))
def hip_evaluation(ctx: Ctx) -> None:
    """Groin pain, an abnormal hip exam or hip arthritis: hip X-ray and/or intra-articular hip
    injection before attributing the pain to the spine (REFERENCE.md §3.1, unverified)."""
    if "hip_pathology" in ctx.out.causes and ctx.case.evaluations.hip is None:
        ctx.order(
            "hip_evaluation",
            "Hip findings: hip radiograph and/or intra-articular injection to exclude a hip generator.",
            gate="diagnosis",
            facts=[f for x in ctx.out.causes["hip_pathology"].for_ for f in x.facts],
        )


@rule("WU014", "Vascular studies", evidence=(), unverified=True, requirements=("REQ-006",))
def vascular_studies(ctx: Ctx) -> None:
    """Suspected vascular claudication: ankle-brachial index before attributing leg pain on
    walking to the spine (REFERENCE.md §3.1, unverified)."""
    if "vascular_claudication" in ctx.out.causes and ctx.case.evaluations.vascular is None:
        ctx.order(
            "vascular_studies",
            "Possible vascular claudication: ankle-brachial index.",
            gate="diagnosis",
            facts=[f for x in ctx.out.causes["vascular_claudication"].for_ for f in x.facts],
        )


@rule("WU015", "Formal psychological evaluation", evidence=("4", "77"), requirements=("REQ-007",))
def psych_evaluation(ctx: Ctx) -> None:
    """Yellow flags (RULE-Y1) call for a behavioural-health assessment before any revision
    decision (seed document; [4][77])."""
    cb = ctx.out.causes.get("psychosocial_contributors")
    if cb is not None and ctx.case.psychosocial.evaluation is None:
        ctx.order(
            "psychological_evaluation",
            "Yellow flags: behavioural-health assessment before any revision decision.",
            gate="revision",
            facts=[f for x in cb.for_ for f in x.facts],
            evidence=["4", "77"],
        )


@rule(
    "WU016",
    "HbA1c in diabetes",
    evidence=("23", "24", "27"),
    params=("currency.hba1c_valid_days",),
    requirements=("REQ-020", "REQ-108"),
)
def hba1c(ctx: Ctx) -> None:
    """Diabetes raises infection and complication risk; a current HbA1c is needed to decide
    whether an elective revision should wait [23][24][27]."""
    if (
        ctx.get("comorbidities.diabetes") is True
        and ctx.current_lab("hba1c", "currency.hba1c_valid_days", post_op=False) is None
    ):
        ctx.order(
            "hba1c",
            "Diabetes: current HbA1c for peri-operative risk.",
            gate="prep",
            facts=[ctx.fact("comorbidities.diabetes")],
            evidence=["23", "27"],
        )


@rule("WU017", "Vitamin D before fusion", evidence=("28", "29", "30"), requirements=("REQ-020",))
def vitamin_d(ctx: Ctx) -> None:
    """Vitamin D deficiency is common in fusion patients (27% deficient) and linked to hardware
    failure and revision [28][30]; check before a fusion revision (empiric supplementation is an
    alternative [29])."""
    if ctx.fusion and ctx.latest("vitamin_d") is None:
        ctx.order(
            "vitamin_d",
            "Before a fusion revision: 25-OH vitamin D.",
            gate="prep",
            evidence=["28", "30"],
        )


@rule(
    "WU018",
    "Match the lesion to the pain",
    evidence=("seed", "3", "56"),
    requirements=("REQ-010", "REQ-102", "REQ-110"),
)
def concordance(ctx: Ctx) -> None:
    """A lesion is a surgical target only when it matches the pain: level and side against the
    dermatome, axial pain against a non-union, claudication against stenosis (REFERENCE.md §5.1,
    concordance). When a likely correctable lesion cannot yet be matched because the history does
    not say where the pain is, that history is needed before any decision (seed document §1a)."""
    unknown: list[str] = []
    if ctx.radicular is None:
        unknown.append("leg (radicular) pain")
    elif ctx.radicular and not patient_roots(ctx)[0]:
        unknown.append("dermatomes")
    if ctx.radicular and ctx.get("symptoms.radicular_side") is None:
        unknown.append("side")
    if ctx.axial is None:
        unknown.append("axial pain")
    for name, cb in ctx.out.causes.items():
        if (
            not cb.correctable
            or name == "infection"
            or cb.likelihood == "low"
            or cb.concordant is not None
        ):
            continue
        note = cb.concordance_note or ""
        if "block" in note:
            continue  # WU009 / WU010 / WU011 order the block that decides it
        if "not recorded" in note:
            ctx.order(
                "history_and_exam",
                f"Match the {name.replace('_', ' ')} to the pain: {note}.",
                gate="diagnosis",
                evidence=["seed", "3"],
            )
        elif unknown:
            ctx.order(
                "history_and_exam",
                f"Match the {name.replace('_', ' ')} to the pain: record {', '.join(unknown)}.",
                gate="diagnosis",
                evidence=["seed", "3"],
            )
