"""Interpretations that several steps share (infection markers, suspected pseudarthrosis)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from revspine.domain.assessment import Fact
from revspine.rules.context import Ctx, LabValue

MarkerState = Literal["raised", "normal", "nonspecific"]


@dataclass(frozen=True)
class Marker:
    """An inflammatory marker read against the post-operative kinetics (RULE-L1)."""

    test: str
    state: MarkerState
    lab: LabValue


def infection_markers(ctx: Ctx) -> dict[str, Marker]:
    """Current CRP and ESR read per RULE-L1: CRP > 10 mg/L abnormal once past ~14 days; ESR
    above the reference abnormal after ~42 days (raised earlier is non-specific). [11][13][16]"""
    out: dict[str, Marker] = {}
    kb = ctx.kb
    for test, upper_key, window_key in (
        ("crp", "infection.crp_upper_mg_l", "infection.crp_normalisation_days"),
        ("esr", "infection.esr_upper_mm_h", "infection.esr_nonspecific_until_days"),
    ):
        lab = ctx.current_lab(test, "currency.infection_labs_valid_days")
        if lab is None:
            continue
        assert lab.date is not None
        days = (lab.date - ctx.last_surgery_date).days if ctx.last_surgery_date else None
        raised = lab.value > kb.num(upper_key)
        early = days is not None and days <= kb.num(window_key)
        state: MarkerState = "normal" if not raised else ("nonspecific" if early else "raised")
        out[test] = Marker(test, state, lab)
    return out


def raised_uncurrent_markers(
    ctx: Ctx, current: dict[str, Marker] | None = None
) -> list[tuple[LabValue, bool]]:
    """Raised CRP/ESR results that cannot rule infection out because they are undated or stale,
    but still raise suspicion: (result, possibly current). Conservative: an abnormal result is never
    ignored just because its date is missing or old. ``current``: :func:`infection_markers`, when
    the caller already has it."""
    out: list[tuple[LabValue, bool]] = []
    if current is None:
        current = infection_markers(ctx)
    for test, upper_key in (
        ("crp", "infection.crp_upper_mg_l"),
        ("esr", "infection.esr_upper_mm_h"),
    ):
        if test in current:
            continue
        lab = ctx.latest(test)
        if lab is not None and lab.value > ctx.kb.num(upper_key):
            out.append((lab, not _known_stale(ctx, lab)))
    return out


def _known_stale(ctx: Ctx, lab: LabValue) -> bool:
    """True when the result is known to be too old or to predate the last surgery."""
    if lab.date is None:
        return False
    if (ctx.as_of - lab.date).days > ctx.kb.num("currency.infection_labs_valid_days"):
        return True
    return bool(
        ctx.last_surgery_date and lab.date < ctx.last_surgery_date and not ctx.undated_surgery
    )


def pseudarthrosis_suspicion(ctx: Ctx) -> list[Fact]:
    """Facts that make pseudarthrosis suspected (RULE-I1 inputs, or axial mechanical pain months
    after a fusion [6]); empty when there was no fusion or nothing points to it."""
    if not ctx.fusion:
        return []
    facts = [h.fact() for h in ctx.has("pseudarthrosis", "hardware_loosening", "hardware_fracture")]
    threshold = ctx.kb.num("fusion.motion_threshold_deg")
    for i, study in ctx.studies_of(["flexion_extension_xray"]):
        if (
            threshold > 0
            and study.fusion_motion_deg is not None
            and study.fusion_motion_deg > threshold
        ):
            facts.append(
                Fact(field=f"imaging[{i}].fusion_motion_deg", value=study.fusion_motion_deg)
            )
    if not facts and ctx.axial and ctx.window in ("W2", "W3") and not ctx.has("solid_fusion"):
        facts = ctx.true("symptoms.axial_pain", "symptoms.mechanical_pain")
        if not facts:
            facts = [ctx.fact("symptoms.predominant_pain")]
        facts.append(Fact(field="derived.time_window", value=ctx.window))
    return facts


def infection_context(ctx: Ctx) -> list[Fact]:
    """Facts that make a hidden infection possible: fever, chills, wound drainage, prior
    infection, night sweats, a fluid collection, or suspected pseudarthrosis (seed document)."""
    facts = ctx.true(
        "symptoms.fever",
        "symptoms.chills",
        "symptoms.wound_drainage",
        "symptoms.night_sweats",
        "comorbidities.prior_spine_infection",
    )
    if ctx.get("exam.wound") in ("drainage", "dehiscence", "erythema"):
        facts.append(ctx.fact("exam.wound"))
    for i, s in enumerate(ctx.case.surgeries):
        if "infection" in s.complications:
            facts.append(Fact(field=f"surgeries[{i}].complications", value="infection"))
    facts += [
        h.fact() for h in ctx.has("fluid_collection", "discitis_osteomyelitis", "epidural_abscess")
    ]
    return facts


def patient_roots(ctx: Ctx) -> tuple[set[str], list[Fact]]:
    """Dermatomes / roots named by symptoms, exam deficits and EMG (with the facts)."""
    roots: set[str] = set()
    facts: list[Fact] = []
    derm = ctx.get("symptoms.dermatomes")
    if derm:
        roots |= set(derm)
        facts.append(ctx.fact("symptoms.dermatomes"))
    exam = ctx.case.exam
    if exam is not None and exam.deficit_dermatomes:
        roots |= set(exam.deficit_dermatomes)
        facts.append(ctx.fact("exam.deficit_dermatomes"))
    return roots, facts


def block_positive(
    ctx: Ctx, block_type: str, percent: float | None, controlled: bool | None
) -> bool:
    """Whether a block's relief reaches the knowledge threshold for its type (RULE-B1)."""
    if percent is None:
        return False
    kb = ctx.kb
    if block_type == "selective_nerve_root":
        thr = kb.num("blocks.snrb_positive_pct")
    elif block_type in ("facet", "medial_branch"):
        thr = kb.num(
            "blocks.facet_positive_pct_controlled"
            if controlled
            else "blocks.facet_positive_pct_single"
        )
    elif block_type == "si_joint":
        thr = kb.num("blocks.si_joint_positive_pct")
    else:
        thr = kb.num("blocks.pars_positive_pct")
    return percent >= thr


def relief(pre: int | None, post: int | None, percent: float | None) -> float | None:
    """Percent relief, from the recorded percentage or from pre/post NRS (RULE-B1)."""
    if percent is not None:
        return percent
    if pre is not None and post is not None and pre > 0:
        return (pre - post) / pre * 100
    return None


def spinal_red_flag(ctx: Ctx) -> bool:
    """Whether a red flag of spinal origin is open (these make imaging urgent; a positive PHQ-9
    item 9 is urgent too, but for mental-health follow-up, not for imaging)."""
    return any(rf.code != "self_harm_risk" for rf in ctx.out.red_flags)
