"""Plausible results of a missing test, as hypothetical facts to add to a copy of a case.

Used by :mod:`revspine.engine.sensitivity`. Every result is built with the case model's own
validation, dated ``as_of`` and in canonical units; values come from the knowledge thresholds
(a raised CRP is four times the upper limit, a positive block exceeds the block threshold…) so a
site override moves them with the rules. Levels and sides are taken from the case: the operated
segment that matches the painful roots, the segment above a fusion, the side of the leg pain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from revspine.domain.case import (
    Case,
    DiagnosticBlock,
    Electrodiagnostic,
    HipEvaluation,
    ImagingFinding,
    ImagingStudy,
    LabResult,
    PsychEvaluation,
    Quantity,
    Spinopelvic,
    VascularStudy,
    vertebra_index,
)
from revspine.domain.units import canonical_unit
from revspine.knowledge import Knowledge
from revspine.rules._shared import patient_roots
from revspine.rules.context import Ctx, roots_of

__all__ = ["NOT_SIMULATED", "Scenario", "Setting", "plausible_results"]

_VERTEBRAE = tuple(
    [f"C{i}" for i in range(1, 8)]
    + [f"T{i}" for i in range(1, 13)]
    + [f"L{i}" for i in range(1, 6)]
    + ["S1"]
)

Apply = Callable[[Case], Case]


@dataclass(frozen=True)
class Scenario:
    """One plausible result of a test and how to add it to a case."""

    result: str
    label: str
    apply: Apply


@dataclass(frozen=True)
class Setting:
    """What the scenarios need to know about the case (levels, sides, thresholds)."""

    kb: Knowledge
    as_of: date
    ctx: Ctx
    causes: frozenset[str]

    def num(self, key: str) -> float:
        return self.kb.num(key)


# -- building blocks ---------------------------------------------------------------------------


_LAB_NAMES = {
    "crp": "CRP",
    "esr": "ESR",
    "wbc": "WBC",
    "hba1c": "HbA1c",
    "vitamin_d": "25-OH vitamin D",
    "total_lymphocyte_count": "total lymphocyte count",
}


def _fmt(value: float) -> str:
    return f"{value:g}"


def _lab(test: str, value: float, state: str, s: Setting) -> Scenario:
    unit = canonical_unit(test)
    lab = LabResult.model_validate(
        {"test": test, "value": round(value, 1), "unit": unit, "date": s.as_of}
    )
    label = f"{_LAB_NAMES.get(test, test)} {_fmt(lab.value)} {unit} ({state.replace('_', ' ')})"
    return Scenario(state, label, lambda c: c.model_copy(update={"labs": [*c.labs, lab]}))


def _study(
    modality: str,
    result: str,
    label: str,
    s: Setting,
    findings: Sequence[ImagingFinding] = (),
    **extra: object,
) -> Scenario:
    study = ImagingStudy.model_validate(
        {"modality": modality, "date": s.as_of, "findings": list(findings), **extra}
    )
    return Scenario(result, label, lambda c: c.model_copy(update={"imaging": [*c.imaging, study]}))


def _finding(code: str, level: str | None, side: str | None) -> ImagingFinding:
    return ImagingFinding.model_validate(
        {"finding": code, "levels": [level] if level else [], "side": side}
    )


def _block(result: str, label: str, **fields: object) -> Scenario:
    block = DiagnosticBlock.model_validate(fields)
    return Scenario(result, label, lambda c: c.model_copy(update={"blocks": [*c.blocks, block]}))


def _upper_index(segment: str) -> int:
    return vertebra_index(segment.split("-")[0])


def _segment_name(upper: int) -> str:
    return f"{_VERTEBRAE[upper]}-{_VERTEBRAE[upper + 1]}"


def _side(s: Setting) -> str | None:
    side = s.ctx.get("symptoms.radicular_side")
    return side if side in ("left", "right") else None


def _operated_level(s: Setting) -> str | None:
    """The operated segment that matches the painful roots, else the lowest operated one."""
    ctx = s.ctx
    last = ctx.last_surgery.levels if ctx.last_surgery is not None else []
    segments = sorted(set(last) or ctx.operated_segments, key=_upper_index)
    if not segments:
        return None
    roots, _ = patient_roots(ctx)
    matching = [g for g in segments if roots_of(g) & roots]
    return matching[0] if matching else segments[-1]


def _adjacent_level(s: Setting) -> str | None:
    """The segment just above the fused block (the usual adjacent level), else operated."""
    fused = s.ctx.fused_segments
    if not fused:
        return _operated_level(s)
    top = min(vertebra_index(g.split("-")[0]) for g in fused)
    return _segment_name(top - 1) if top > 0 else _operated_level(s)


def _lesion_levels(s: Setting) -> list[str]:
    """Levels of the current imaging lesions a block could confirm."""
    codes = (
        "recurrent_herniation",
        "residual_stenosis",
        "foraminal_stenosis",
        "adjacent_segment_degeneration",
        "hardware_malposition",
    )
    levels = {lv for h in s.ctx.has(*codes) for lv in h.levels}
    return sorted(levels, key=_upper_index)


# -- plausible results per test ----------------------------------------------------------------


def _infection_labs(test: str, s: Setting) -> list[Scenario]:
    if test == "crp":
        upper = s.num("infection.crp_upper_mg_l")
        return [_lab("crp", upper / 2, "normal", s), _lab("crp", upper * 4, "raised", s)]
    if test == "esr":
        upper = s.num("infection.esr_upper_mm_h")
        return [_lab("esr", upper / 2, "normal", s), _lab("esr", upper * 3, "raised", s)]
    high = s.num("infection.wbc_high_per_ul")
    return [_lab("wbc", 7000, "normal", s), _lab("wbc", high * 1.3, "raised", s)]


def _nutrition_labs(test: str, s: Setting) -> list[Scenario]:
    low_key = {
        "albumin": "nutrition.albumin_low_g_dl",
        "transferrin": "nutrition.transferrin_low_mg_dl",
        "prealbumin": "nutrition.prealbumin_low_mg_dl",
        "total_lymphocyte_count": "nutrition.lymphocytes_low_per_ul",
    }[test]
    low = s.num(low_key)
    normal = low * 1.3
    if test == "prealbumin":
        normal = max(normal, s.num("nutrition.prealbumin_ssi_risk_mg_dl") + 5)
    return [_lab(test, normal, "normal", s), _lab(test, low * 0.75, "low", s)]


def _hba1c(s: Setting) -> list[Scenario]:
    elevated = s.num("glycaemia.hba1c_elevated_pct")
    defer = s.num("glycaemia.hba1c_defer_pct")
    return [
        _lab("hba1c", elevated - 1, "acceptable", s),
        _lab("hba1c", (elevated + defer) / 2, "elevated", s),
        _lab("hba1c", defer + 1, "defer_surgery", s),
    ]


def _vitamin_d(s: Setting) -> list[Scenario]:
    return [
        _lab("vitamin_d", s.num("vitamin_d.insufficient_below_ng_ml") + 10, "sufficient", s),
        _lab("vitamin_d", s.num("vitamin_d.deficient_below_ng_ml") * 0.6, "deficient", s),
    ]


def _xray(s: Setting) -> list[Scenario]:
    out = [_study("xray", "normal", "radiographs: no abnormality", s)]
    if s.ctx.instrumented:
        level = _operated_level(s)
        out.append(
            _study(
                "xray",
                "hardware_loosening",
                f"radiographs: hardware loosening{' at ' + level if level else ''}",
                s,
                [_finding("hardware_loosening", level, None)],
            )
        )
    return out


def _flexion_extension(s: Setting) -> list[Scenario]:
    pars = [lv for h in s.ctx.has("pars_defect") for lv in h.levels]
    level = pars[0] if pars else _operated_level(s)
    out = [
        _study(
            "flexion_extension_xray",
            "stable",
            "dynamic films: no instability",
            s,
            fusion_motion_deg=0.0 if s.ctx.fusion else None,
        )
    ]
    out.append(
        _study(
            "flexion_extension_xray",
            "instability",
            f"dynamic films: instability{' at ' + level if level else ''}",
            s,
            [_finding("instability", level, None)],
        )
    )
    if s.ctx.fusion:
        motion = s.num("fusion.motion_threshold_deg") + 2
        out.append(
            _study(
                "flexion_extension_xray",
                "motion_at_fusion",
                f"dynamic films: {_fmt(motion)}° motion at the fusion",
                s,
                fusion_motion_deg=motion,
            )
        )
    return out


def _full_spine(s: Setting) -> list[Scenario]:
    aligned = Spinopelvic(pi=50, ll=50, pt=15, sva=Quantity(value=20, unit="mm"))
    imbalanced = Spinopelvic(pi=55, ll=25, pt=32, sva=Quantity(value=110, unit="mm"))
    return [
        _study(
            "standing_full_spine_xray",
            "aligned",
            "standing films: PI−LL 0°, SVA 20 mm, PT 15° (aligned)",
            s,
            spinopelvic=aligned,
        ),
        _study(
            "standing_full_spine_xray",
            "imbalanced",
            "standing films: PI−LL 30°, SVA 110 mm, PT 32° (marked imbalance)",
            s,
            spinopelvic=imbalanced,
        ),
    ]


def _ct(s: Setting) -> list[Scenario]:
    ctx = s.ctx
    fused = sorted(ctx.fused_segments, key=_upper_index)
    level = fused[-1] if fused else _operated_level(s)
    out: list[Scenario] = []
    if ctx.fusion:
        out.append(
            _study(
                "ct",
                "solid_fusion",
                "CT: solid fusion, intact hardware",
                s,
                [_finding("solid_fusion", level, None)],
            )
        )
        out.append(
            _study(
                "ct",
                "non_union",
                f"CT: non-union{' at ' + level if level else ''}",
                s,
                [_finding("pseudarthrosis", level, None)],
            )
        )
    else:
        out.append(_study("ct", "normal", "CT: no abnormality", s))
    if ctx.instrumented:
        out.append(
            _study(
                "ct",
                "hardware_loosening",
                "CT: hardware loosening",
                s,
                [_finding("hardware_loosening", level, None)],
            )
        )
        if ctx.window == "W0" or "hardware_malposition" in s.causes:
            out.append(
                _study(
                    "ct",
                    "hardware_malposition",
                    "CT: malpositioned screw",
                    s,
                    [_finding("hardware_malposition", _operated_level(s), _side(s))],
                )
            )
    return out


#: Suspected lesions a cross-sectional study could show, by cause in the differential.
_LESION_BY_CAUSE = {
    "recurrent_disc_herniation": ("recurrent_herniation", "operated"),
    "residual_stenosis": ("residual_stenosis", "operated"),
    "inadequate_decompression_or_wrong_level": ("residual_stenosis", "operated"),
    "adjacent_segment_disease": ("adjacent_segment_degeneration", "adjacent"),
    "epidural_fibrosis": ("epidural_fibrosis", "operated"),
    "infection": ("discitis_osteomyelitis", "operated"),
}


def _cross_sectional(modality: str, s: Setting) -> list[Scenario]:
    ctx = s.ctx
    wanted: list[tuple[str, str]] = [
        spec for cause, spec in _LESION_BY_CAUSE.items() if cause in s.causes
    ]
    if ctx.radicular and ctx.decompression:
        wanted += [("recurrent_herniation", "operated"), ("epidural_fibrosis", "operated")]
    if ctx.get("symptoms.neurogenic_claudication") is True:
        wanted.append(("residual_stenosis", "operated"))
    if modality == "ct_myelogram":
        wanted = [w for w in wanted if w[0] not in ("epidural_fibrosis", "discitis_osteomyelitis")]
    name = modality.replace("_", " ").replace("mri", "MRI").replace("ct", "CT")
    out = [_study(modality, "no_lesion", f"{name}: no compressive lesion or infection", s)]
    seen: set[tuple[str, str | None]] = set()
    for code, where in wanted:
        level = _adjacent_level(s) if where == "adjacent" else _operated_level(s)
        if (code, level) in seen:
            continue
        seen.add((code, level))
        side = None if code in ("discitis_osteomyelitis", "epidural_fibrosis") else _side(s)
        text = f"{name}: {code.replace('_', ' ')}" + (f" at {level}" if level else "")
        text += f", {side}" if side else ""
        out.append(_study(modality, code, text, s, [_finding(code, level, side)]))
    return out


def _emg(s: Setting) -> list[Scenario]:
    roots = sorted(patient_roots(s.ctx)[0], key=lambda r: (r[0] != "L", r))
    side = s.ctx.get("symptoms.radicular_side")

    def study(result: str) -> Apply:
        e = Electrodiagnostic.model_validate(
            {
                "date": s.as_of,
                "result": result,
                "roots": roots if result == "radiculopathy" else [],
                "side": side,
            }
        )
        return lambda c: c.model_copy(update={"electrodiagnostics": [*c.electrodiagnostics, e]})

    where = f" ({', '.join(roots)})" if roots else ""
    return [
        Scenario("normal", "EMG/NCS normal", study("normal")),
        Scenario("radiculopathy", f"EMG/NCS: radiculopathy{where}", study("radiculopathy")),
        Scenario(
            "peripheral_neuropathy",
            "EMG/NCS: peripheral neuropathy",
            study("peripheral_neuropathy"),
        ),
    ]


def _snrb(s: Setting) -> list[Scenario]:
    threshold = s.num("blocks.snrb_positive_pct")
    roots_pain, _ = patient_roots(s.ctx)
    lesion_roots = {r for lv in _lesion_levels(s) for r in roots_of(lv)}
    candidates = (lesion_roots & roots_pain) or lesion_roots or roots_pain
    ordered = sorted(candidates, key=lambda r: vertebra_index(r) if r in _VERTEBRAE else 99)[:3]
    side = s.ctx.get("symptoms.radicular_side")
    positive = min(100.0, threshold + 30)
    negative = threshold / 2
    out = [
        _block(
            f"positive_{root}",
            f"SNRB at {root}: {_fmt(positive)}% relief (positive)",
            type="selective_nerve_root",
            date=s.as_of,
            level=root,
            side=side,
            percent_relief=positive,
            concordant=True,
        )
        for root in ordered
    ]
    if ordered:
        out.append(
            _block(
                "negative",
                f"SNRB at {ordered[0]}: {_fmt(negative)}% relief (negative)",
                type="selective_nerve_root",
                date=s.as_of,
                level=ordered[0],
                side=side,
                percent_relief=negative,
                concordant=False,
            )
        )
    return out


def _facet(s: Setting) -> list[Scenario]:
    ctx = s.ctx
    adj = [
        lv
        for h in ctx.has("adjacent_segment_degeneration", "facet_arthropathy", "residual_stenosis")
        for lv in h.levels
    ]
    level = adj[0] if adj else _adjacent_level(s)
    positive = s.num("blocks.facet_positive_pct_controlled") + 10
    negative = s.num("blocks.facet_positive_pct_single") / 2
    where = f" at {level}" if level else ""
    return [
        _block(
            "positive",
            f"medial branch blocks{where}: {_fmt(positive)}% relief, controlled",
            type="medial_branch",
            date=s.as_of,
            level=level,
            percent_relief=min(positive, 100),
            controlled=True,
            concordant=True,
        ),
        _block(
            "negative",
            f"medial branch block{where}: {_fmt(negative)}% relief",
            type="medial_branch",
            date=s.as_of,
            level=level,
            percent_relief=negative,
        ),
    ]


def _pars(s: Setting) -> list[Scenario]:
    levels = [lv for h in s.ctx.has("pars_defect") for lv in h.levels]
    level = levels[0] if levels else None
    threshold = s.num("blocks.pars_positive_pct")
    where = f" at {level}" if level else ""
    return [
        _block(
            "positive",
            f"pars block{where}: {_fmt(min(100.0, threshold + 30))}% relief",
            type="pars",
            date=s.as_of,
            level=level,
            percent_relief=min(100.0, threshold + 30),
            concordant=True,
        ),
        _block(
            "negative",
            f"pars block{where}: {_fmt(threshold / 2)}% relief",
            type="pars",
            date=s.as_of,
            level=level,
            percent_relief=threshold / 2,
        ),
    ]


def _si_block(s: Setting) -> list[Scenario]:
    threshold = s.num("blocks.si_joint_positive_pct")
    positive = min(100.0, threshold + 15)
    return [
        _block(
            "positive",
            f"SI-joint block: {_fmt(positive)}% relief",
            type="si_joint",
            date=s.as_of,
            percent_relief=positive,
            concordant=True,
        ),
        _block(
            "negative",
            f"SI-joint block: {_fmt(threshold / 3)}% relief",
            type="si_joint",
            date=s.as_of,
            percent_relief=threshold / 3,
        ),
    ]


def _evaluation(kind: str, s: Setting) -> list[Scenario]:
    def hip(result: str) -> Apply:
        ev = HipEvaluation.model_validate({"date": s.as_of, "result": result})
        return lambda c: c.model_copy(
            update={"evaluations": c.evaluations.model_copy(update={"hip": ev})}
        )

    def vascular(result: str, abi: float) -> Apply:
        ev = VascularStudy.model_validate(
            {"date": s.as_of, "result": result, "ankle_brachial_index": abi}
        )
        return lambda c: c.model_copy(
            update={"evaluations": c.evaluations.model_copy(update={"vascular": ev})}
        )

    if kind == "hip":
        return [
            Scenario("normal", "hip evaluation normal", hip("normal")),
            Scenario("hip_pathology", "hip evaluation: hip pathology", hip("hip_pathology")),
        ]
    low = round(s.num("vascular.abi_abnormal_below") - 0.2, 2)
    return [
        Scenario("normal", "ankle-brachial index 1.1 (normal)", vascular("normal", 1.1)),
        Scenario(
            "arterial_disease",
            f"ankle-brachial index {_fmt(low)} (arterial disease)",
            vascular("arterial_disease", low),
        ),
    ]


def _psych(s: Setting) -> list[Scenario]:
    def outcome(result: str) -> Apply:
        ev = PsychEvaluation.model_validate({"date": s.as_of, "outcome": result})
        return lambda c: c.model_copy(
            update={"psychosocial": c.psychosocial.model_copy(update={"evaluation": ev})}
        )

    return [
        Scenario(r, f"psychological evaluation: {r.replace('_', ' ')}", outcome(r))
        for r in ("no_contraindication", "treat_first", "not_a_candidate")
    ]


NOT_SIMULATED = {
    "history_and_exam": "History and examination cover many findings; record them — not simulated.",
    "blood_cultures": "The case model has no field for culture results — not simulated.",
}


def plausible_results(test: str, s: Setting) -> list[Scenario] | None:
    """The plausible results of ``test`` for this case, or None when it cannot be simulated."""
    if test in ("crp", "esr", "wbc"):
        return _infection_labs(test, s)
    if test in ("albumin", "transferrin", "prealbumin", "total_lymphocyte_count"):
        return _nutrition_labs(test, s)
    simple: dict[str, Callable[[Setting], list[Scenario]]] = {
        "hba1c": _hba1c,
        "vitamin_d": _vitamin_d,
        "xray": _xray,
        "flexion_extension_xray": _flexion_extension,
        "standing_full_spine_xray": _full_spine,
        "ct": _ct,
        "emg_ncs": _emg,
        "selective_nerve_root_block": _snrb,
        "facet_block": _facet,
        "pars_block": _pars,
        "si_joint_block": _si_block,
        "psychological_evaluation": _psych,
    }
    if test in simple:
        return simple[test](s)
    if test in ("mri_with_contrast", "ct_myelogram"):
        return _cross_sectional(test, s)
    if test == "hip_evaluation":
        return _evaluation("hip", s)
    if test == "vascular_studies":
        return _evaluation("vascular", s)
    return None
