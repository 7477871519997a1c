"""Step 1 — red flags: findings that need same-day evaluation before anything elective.

Any red flag makes the disposition ``urgent`` and suspends the elective-revision workflow until
it is cleared (REFERENCE.md RULE-R1, §3.3).
"""

from __future__ import annotations

from revspine.domain.assessment import Fact
from revspine.rules.context import Ctx
from revspine.rules.registry import rule


@rule(
    "RF001",
    "Cauda equina syndrome",
    evidence=("79",),
    params=("red_flags.post_void_residual_ml",),
    requirements=("REQ-001", "REQ-101"),
)
def cauda_equina(ctx: Ctx) -> None:
    """Bladder or bowel dysfunction, saddle anaesthesia, or a post-void residual above the
    retention threshold suggests cauda equina compression: emergency MRI and a spine surgery
    consult. Evidence: [79] (PVR > 200 mL, weak source)."""
    facts = ctx.true("symptoms.bowel_bladder_dysfunction", "symptoms.saddle_anaesthesia")
    pvr = ctx.get("exam.post_void_residual_ml")
    if pvr is not None and pvr > ctx.kb.num("red_flags.post_void_residual_ml"):
        facts.append(ctx.fact("exam.post_void_residual_ml"))
    if facts:
        if ctx.get("symptoms.radicular_side") == "bilateral":
            facts.append(ctx.fact("symptoms.radicular_side"))
        ctx.red_flag(
            "cauda_equina_syndrome",
            "Sphincter dysfunction, saddle anaesthesia or urinary retention can mean cauda equina compression.",
            "Emergency MRI (CT myelogram if MRI impossible), spine surgery consult the same day.",
            facts,
            ["79"],
        )


@rule(
    "RF002",
    "Progressive or new neurological deficit",
    evidence=("78",),
    unverified=True,
    requirements=("REQ-001", "REQ-101"),
)
def progressive_deficit(ctx: Ctx) -> None:
    """New or worsening weakness needs urgent imaging: a compressive lesion (hematoma, abscess,
    fragment, misplaced screw) may be evolving. Weakness that is progressive, or any weakness in
    the first window after surgery (W0, new deficit on waking), fires this rule. Evidence: [78];
    the generic deficit rule is unverified common practice."""
    facts = ctx.true("symptoms.weakness_progressive")
    if not facts and ctx.window == "W0":
        facts = ctx.true("symptoms.weakness", "exam.motor_deficit")
        if facts:
            facts.append(Fact(field="derived.days_since_last_surgery", value=ctx.days_since))
    if facts:
        ctx.red_flag(
            "progressive_neurological_deficit",
            "New or progressive weakness can signal an evolving compressive lesion.",
            "Urgent MRI (or CT myelogram if MRI impossible) and surgical review.",
            facts,
            ["78"],
        )


@rule(
    "RF003",
    "Spinal infection or epidural abscess",
    evidence=("78", "seed"),
    requirements=("REQ-001", "REQ-014", "REQ-101"),
)
def spinal_infection(ctx: Ctx) -> None:
    """Fever or chills after spine surgery, or imaging showing discitis, osteomyelitis or an
    epidural abscess, may mean a deep infection; once weakness appears paralysis may follow within
    about 24 h. Action: emergency MRI with contrast, blood cultures, ESR/CRP, surgical consult.
    Evidence: seed document ('fever and chills should be assessed for infection'); [78]."""
    facts = ctx.true("symptoms.fever", "symptoms.chills")
    facts += [h.fact() for h in ctx.has("epidural_abscess", "discitis_osteomyelitis")]
    if facts:
        deficit = ctx.true("symptoms.weakness", "exam.motor_deficit")
        ctx.red_flag(
            "spinal_infection_suspected",
            "Constitutional symptoms or imaging signs of infection after spine surgery"
            + ("; with a neurological deficit (possible epidural abscess)." if deficit else "."),
            "Same-day evaluation: MRI with contrast, ESR, CRP, WBC, blood cultures, surgical consult.",
            facts + deficit,
            ["78", "seed"],
        )


@rule(
    "RF004",
    "Deep surgical-site infection or wound breakdown",
    evidence=("seed", "12"),
    requirements=("REQ-001", "REQ-014", "REQ-101"),
)
def wound(ctx: Ctx) -> None:
    """Wound drainage, erythema or dehiscence is a sign of surgical-site infection and needs labs,
    imaging and surgical review the same day. Evidence: seed document; [12]."""
    facts = ctx.true("symptoms.wound_drainage")
    w = ctx.get("exam.wound")
    if w in ("drainage", "dehiscence", "erythema"):
        facts.append(ctx.fact("exam.wound"))
    if facts:
        ctx.red_flag(
            "wound_infection_suspected",
            "Wound drainage, erythema or dehiscence after spine surgery suggests surgical-site infection.",
            "Same-day surgical review, ESR/CRP/WBC, imaging; cultures to identify the organism.",
            facts,
            ["seed", "12"],
        )


@rule(
    "RF005",
    "Abnormal CRP kinetics after surgery",
    evidence=("11", "12"),
    params=("infection.crp_kinetics_peak_day", "infection.crp_normalisation_days"),
    requirements=("REQ-001", "REQ-002", "REQ-101"),
)
def crp_kinetics(ctx: Ctx) -> None:
    """In the first two weeks absolute CRP cut-offs are unreliable; a second rise after the
    day-2–3 peak is the infection signal (7 of 8 deep infections deviated from expected
    kinetics). Fires when a later post-operative CRP is higher than an earlier one after day 3.
    Evidence: [11][12] (RULE-L1)."""
    if ctx.last_surgery_date is None:
        return
    peak_day = ctx.kb.num("infection.crp_kinetics_peak_day")
    window = ctx.kb.num("infection.crp_normalisation_days")
    series = [
        v
        for v in ctx.lab_series.get("crp", [])
        if v.date is not None and peak_day <= (v.date - ctx.last_surgery_date).days <= window
    ]
    for earlier, later in zip(series, series[1:], strict=False):
        if later.value > earlier.value:
            ctx.red_flag(
                "crp_second_rise",
                "CRP rose again after its expected post-operative peak.",
                "Same-day evaluation for deep infection: wound review, MRI with contrast, cultures.",
                [earlier.fact(), later.fact()],
                ["11", "12"],
            )
            return


@rule(
    "RF006",
    "Compressive hematoma",
    evidence=("116",),
    requirements=("REQ-001", "REQ-101"),
)
def hematoma(ctx: Ctx) -> None:
    """An epidural hematoma on post-operative imaging is a compressive lesion that can cause
    cauda equina syndrome or a progressive deficit. Evidence: [116] (pain-clinic cause list)."""
    hits = ctx.has("epidural_hematoma")
    if hits:
        ctx.red_flag(
            "epidural_hematoma",
            "Imaging shows an epidural hematoma.",
            "Same-day surgical review of the neurological status.",
            [h.fact() for h in hits],
            ["116"],
        )


@rule(
    "RF007",
    "Fracture",
    evidence=(),
    unverified=True,
    requirements=("REQ-001", "REQ-101"),
)
def fracture(ctx: Ctx) -> None:
    """A fracture on current imaging, recent trauma, or sudden severe pain with osteoporosis or
    long-term steroids needs imaging before any other step. REFERENCE.md §3.3 marks the triggers
    as unverified common practice."""
    facts = [h.fact() for h in ctx.has("fracture")]
    facts += ctx.true("symptoms.recent_trauma")
    risk = ctx.true("comorbidities.osteoporosis", "comorbidities.long_term_steroids")
    if risk and ctx.get("symptoms.sudden_severe_pain") is True:
        facts += risk + ctx.true("symptoms.sudden_severe_pain")
    if facts:
        ctx.red_flag(
            "fracture_suspected",
            "Possible vertebral or peri-implant fracture.",
            "Imaging (radiographs / CT) and surgical review.",
            facts,
            [],
        )


@rule(
    "RF008",
    "Possible malignancy",
    evidence=("1",),
    params=("red_flags.malignancy_age_years",),
    unverified=True,
    requirements=("REQ-001", "REQ-101"),
)
def malignancy(ctx: Ctx) -> None:
    """Active cancer, or a history of cancer with unexplained weight loss or night pain, or
    unexplained weight loss with night pain over the age threshold, raises concern for spinal
    metastasis. Evidence: [1] mentions red-flag screening; the combination is unverified common
    practice (REFERENCE.md §3.3)."""
    cancer = ctx.get("comorbidities.cancer")
    systemic = ctx.true("symptoms.weight_loss", "symptoms.night_pain")
    facts: list[Fact] = []
    if cancer == "active":
        facts = [ctx.fact("comorbidities.cancer"), *systemic]
    elif cancer == "history" and systemic:
        facts = [ctx.fact("comorbidities.cancer"), *systemic]
    elif (
        len(systemic) == 2
        and ctx.age is not None
        and ctx.age > ctx.kb.num("red_flags.malignancy_age_years")
    ):
        facts = [*systemic, Fact(field="derived.age", value=ctx.age)]
    if facts:
        ctx.red_flag(
            "malignancy_suspected",
            "Cancer history or systemic features (weight loss, night pain) with spinal pain.",
            "MRI with contrast and laboratory work-up before any elective plan.",
            facts,
            ["1"],
        )


@rule(
    "RF009",
    "PHQ-9 item 9: thoughts of self-harm",
    evidence=("73b",),
    requirements=("REQ-001", "REQ-026", "REQ-101"),
)
def self_harm(ctx: Ctx) -> None:
    """Any answer above 0 to PHQ-9 item 9 (thoughts of being better off dead or of self-harm)
    needs immediate clinical follow-up regardless of the total. Evidence: [73b]."""
    item9 = ctx.get("psychosocial.phq9_item9")
    fact = ctx.fact("psychosocial.phq9_item9")
    if item9 is None:
        for i, prom in enumerate(ctx.case.proms):
            if prom.phq9_answers is not None and prom.phq9_answers[8] is not None:
                item9, fact = (
                    prom.phq9_answers[8],
                    Fact(field=f"proms[{i}].phq9_answers[8]", value=prom.phq9_answers[8]),
                )
    if item9 is not None and item9 > 0:
        ctx.red_flag(
            "self_harm_risk",
            "PHQ-9 item 9 is positive (thoughts of self-harm).",
            "Immediate clinical follow-up and mental-health assessment today.",
            [fact],
            ["73b"],
        )
