"""Hypothesis strategies that build realistic, *valid* revspine cases as plain dicts.

The dicts are what a YAML/JSON case file holds (dates as ISO strings), so a falsifying example
can be pasted into a case file as it is; tests pass them to ``Case.model_validate``.

Every field is optional and three-valued where the model says so: a key is absent (unknown),
``True`` or ``False``. All dates lie before :data:`AS_OF`, the fixed assessment date.

Two families:

* :func:`case_dicts` — random cases over the whole vocabulary. Most are ``urgent`` or
  ``incomplete_workup`` (random cases rarely carry a complete workup).
* :func:`perturbed_candidates` — start from :data:`SURGICAL_CANDIDATE`, a complete, concordant
  recurrent L4-L5 herniation after an L4-L5 discectomy, and apply a few random edits (set a
  field, add a record or a finding, delete a fact). This reaches the ``surgical_candidate`` and
  ``non_surgical`` regions that random cases almost never hit.

:func:`single_fact_removals` enumerates every way to remove one fact from a case dict.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator
from typing import Any, NamedTuple

from hypothesis import assume
from hypothesis import strategies as st

from revspine.batch import casegen
from revspine.domain import case as model
from revspine.domain.checks import check_case
from revspine.domain.units import from_canonical, known_units

AS_OF = dt.date(2026, 11, 1)
"""The fixed assessment date of every generated case."""

SEGMENTS = ("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")
ROOTS = ("L2", "L3", "L4", "L5", "S1")
SIDES = ("left", "right", "bilateral")

# Human spellings the model normalises (L4/5, L4-5, lower case); used now and then.
_ALT_SPELLING = {
    "L1-L2": ("L1/2", "L1-2"),
    "L2-L3": ("L2/3", "l2-l3"),
    "L3-L4": ("L3/4", "L3-4"),
    "L4-L5": ("L4/5", "L4-5", "l4-l5"),
    "L5-S1": ("L5/S1", "L5-s1"),
}


# The model-reading helpers are shared with the seeded benchmark/batch generator.
_literal = casegen._literal
_field_literal = casegen._field
_tri_fields = casegen._tri_fields


# Vocabularies come from the model, so a new code is generated as soon as it exists.
SURGERY_TYPES = _literal(model.SurgeryType)
FINDING_CODES = _literal(model.ImagingFindingCode)
MODALITIES = _literal(model.ImagingModality)
LAB_TESTS = _literal(model.LabTest)

# --------------------------------------------------------------------------------------------
# Small building blocks
# --------------------------------------------------------------------------------------------


def rarely(one_in: int) -> st.SearchStrategy[bool]:
    """``True`` about once in ``one_in`` draws; shrinks to ``False``."""
    return st.sampled_from((False,) * (one_in - 1) + (True,))


def days_before(lo: int, hi: int) -> st.SearchStrategy[str]:
    """An ISO date between ``hi`` and ``lo`` days before :data:`AS_OF` (``lo`` ≥ 1)."""
    return st.integers(lo, hi).map(lambda d: (AS_OF - dt.timedelta(days=d)).isoformat())


#: Dates of records: mostly recent (current), sometimes stale, sometimes years old.
RECORD_DATE = st.one_of(days_before(1, 45), days_before(1, 400), days_before(1, 3000))
#: Surgery dates: days to many years before the assessment.
SURGERY_DATE = st.one_of(days_before(1, 30), days_before(1, 900), days_before(1, 7000))


def _spell(segment: str, alt: bool, index: int) -> str:
    options = _ALT_SPELLING[segment]
    return options[index % len(options)] if alt else segment


@st.composite
def segment_lists(draw: st.DrawFn, max_size: int = 2, contiguous: bool = False) -> list[str]:
    """Motion segments such as ``L4-L5``; ``contiguous`` for a fused block."""
    if contiguous:
        start = draw(st.integers(0, len(SEGMENTS) - 1))
        count = draw(st.integers(1, max_size))
        chosen = list(SEGMENTS[start : start + count])
    else:
        chosen = draw(st.lists(st.sampled_from(SEGMENTS), max_size=max_size, unique=True))
    alt = draw(rarely(5))
    return [_spell(s, alt, i) for i, s in enumerate(chosen)]


def roots(max_size: int = 2) -> st.SearchStrategy[list[str]]:
    """Nerve roots / dermatomes such as ``L5``."""
    return st.lists(st.sampled_from(ROOTS), min_size=1, max_size=max_size, unique=True)


def quantity(unit_values: dict[str, tuple[float, float]]) -> st.SearchStrategy[Any]:
    """A Quantity as ``{value, unit}`` or as text (``"82 kg"``)."""

    @st.composite
    def build(draw: st.DrawFn) -> Any:
        unit = draw(st.sampled_from(sorted(unit_values)))
        lo, hi = unit_values[unit]
        value = round(draw(st.floats(lo, hi, allow_nan=False)), 1)
        if draw(rarely(4)):
            return f"{value:g} {unit}"
        return {"value": value, "unit": unit}

    return build()


# --------------------------------------------------------------------------------------------
# Labs: plausible values in any known unit
# --------------------------------------------------------------------------------------------

#: Realistic range (canonical unit) and reporting decimals per test.
LAB_RANGES: dict[str, tuple[float, float, int]] = {
    "esr": (1, 140, 0),
    "crp": (0.2, 300, 1),
    "wbc": (2500, 30000, -2),
    "albumin": (1.5, 5.5, 1),
    "transferrin": (80, 400, 0),
    "prealbumin": (5, 45, 0),
    "total_lymphocyte_count": (300, 4500, -1),
    "hba1c": (4.5, 13.5, 1),
    "vitamin_d": (5, 90, 0),
    "procalcitonin": (0.02, 20, 2),
}
#: Values outside the knowledge file's plausibility band (canonical unit), e.g. albumin 35 g/dL.
IMPLAUSIBLE: dict[str, float] = {
    "esr": 450,
    "crp": 1500,
    "wbc": 20,
    "albumin": 35,
    "transferrin": 3000,
    "prealbumin": 250,
    "total_lymphocyte_count": 1,
    "hba1c": 45,
    "vitamin_d": 900,
    "procalcitonin": 5000,
}


def in_unit(test: str, canonical_value: float, unit: str) -> float:
    """``canonical_value`` expressed in ``unit`` (6 significant digits, as a lab would print)."""
    return float(f"{from_canonical(test, canonical_value, unit):.6g}")


@st.composite
def labs(
    draw: st.DrawFn,
    tests: tuple[str, ...] = LAB_TESTS,
    date: st.SearchStrategy[str] | None = None,
) -> dict[str, Any]:
    """One lab result: a plausible value (rarely an implausible one) in a known unit."""
    test = draw(st.sampled_from(tests))
    unit = draw(st.sampled_from(known_units(test)))
    lo, hi, decimals = LAB_RANGES[test]
    canonical = round(draw(st.floats(lo, hi, allow_nan=False)), decimals)
    if draw(rarely(20)):
        canonical = IMPLAUSIBLE[test]
    lab: dict[str, Any] = {"test": test, "value": in_unit(test, canonical, unit), "unit": unit}
    when = draw(st.one_of(st.none(), RECORD_DATE if date is None else date))
    if when is not None:
        lab["date"] = when
    return lab


# --------------------------------------------------------------------------------------------
# Sections of the case
# --------------------------------------------------------------------------------------------

#: Tri-valued symptoms that are red flags (or feed one): mostly False so cases are not all urgent.
RED_FLAG_SYMPTOMS = frozenset(
    {
        "bowel_bladder_dysfunction",
        "saddle_anaesthesia",
        "fever",
        "chills",
        "weakness_progressive",
        "wound_drainage",
        "recent_trauma",
        "sudden_severe_pain",
        "weight_loss",
        "night_pain",
        "night_sweats",
    }
)


def _tri(name: str) -> st.SearchStrategy[bool]:
    if name in RED_FLAG_SYMPTOMS:
        return st.sampled_from((False, False, False, False, True))
    return st.booleans()


def _nrs() -> st.SearchStrategy[int]:
    return st.integers(0, 10)


SYMPTOM_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    **{name: _tri(name) for name in _tri_fields(model.Symptoms)},
    "course": st.sampled_from(_field_literal(model.Symptoms, "course")),
    "pain_free_interval_months": st.integers(0, 60).map(float),
    "onset_date": RECORD_DATE,
    "predominant_pain": st.sampled_from(_field_literal(model.Symptoms, "predominant_pain")),
    "radicular_side": st.sampled_from(SIDES),
    "dermatomes": roots(),
    "pain_nrs": _nrs(),
    "back_pain_nrs": _nrs(),
    "leg_pain_nrs": _nrs(),
    "pain_duration_months": st.integers(0, 120).map(float),
}

COMORBIDITY_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    **{name: st.booleans() for name in _tri_fields(model.Comorbidities)},
    "smoking_status": st.sampled_from(_field_literal(model.Comorbidities, "smoking_status")),
    "smoking_quit_date": days_before(1, 4000),
    "cigarettes_per_day": st.integers(0, 40),
    "cancer": st.sampled_from(("none", "none", "history", "active")),
}

PSYCHOSOCIAL_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "phq9_total": st.integers(0, 27),
    "phq9_item9": st.sampled_from((0, 0, 0, 0, 1, 2, 3)),
    "pain_catastrophizing_total": st.integers(0, 52),
    "start_back_risk": st.sampled_from(("low", "medium", "high")),
    "litigation_or_compensation": st.booleans(),
    "opioid_mme_per_day": st.sampled_from((0, 0, 10, 30, 60, 90, 150)).map(float),
    "daily_opioid_use": st.booleans(),
    "evaluation": st.fixed_dictionaries(
        {
            "outcome": st.sampled_from(
                _literal(model.PsychEvaluation.model_fields["outcome"].annotation)
            )
        },
        optional={"date": RECORD_DATE},
    ),
}

EXAM_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    **{name: st.booleans() for name in _tri_fields(model.Exam)},
    "date": st.one_of(days_before(1, 60), days_before(1, 400)),
    "deficit_dermatomes": roots(),
    "deficit_side": st.sampled_from(SIDES),
    "straight_leg_raise": st.sampled_from(("positive", "negative")),
    "straight_leg_raise_side": st.sampled_from(SIDES),
    "hip_exam": st.sampled_from(_field_literal(model.Exam, "hip_exam")),
    "si_provocation_positive": st.integers(0, 6),
    "wound": st.sampled_from(("healed", "healed", "healed", "erythema", "drainage", "dehiscence")),
    "distal_pulses": st.sampled_from(("normal", "diminished")),
    "post_void_residual_ml": st.sampled_from((20, 50, 80, 150, 250, 400)).map(float),
}

PATIENT_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "age": st.integers(18, 95),
    "sex": st.sampled_from(("female", "male", "other")),
    "weight": quantity({"kg": (40, 180), "[lb_av]": (90, 400), "lb": (90, 400)}),
    "height": quantity({"cm": (145, 205), "m": (1.45, 2.05), "[in_i]": (57, 80)}),
    "mri_contraindicated": st.sampled_from((False, False, False, True)),
}


def section(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """A section with a random subset of ``fields`` present."""
    return st.fixed_dictionaries({}, optional=fields)


@st.composite
def patients(draw: st.DrawFn) -> dict[str, Any]:
    """Demographics; birth date (consistent with AS_OF) only when age is absent."""
    patient = draw(section(PATIENT_FIELDS))
    if "age" not in patient and draw(st.booleans()):
        years = draw(st.integers(18, 95))
        patient["birth_date"] = dt.date(AS_OF.year - years, 6, 15).isoformat()
    return patient


@st.composite
def surgeries(draw: st.DrawFn, date: st.SearchStrategy[str] | None = None) -> dict[str, Any]:
    """One prior lumbar operation."""
    kind = draw(st.sampled_from(SURGERY_TYPES))
    surgery: dict[str, Any] = {"type": kind}
    if draw(st.sampled_from((True, True, True, True, False))):
        surgery["date"] = draw(SURGERY_DATE if date is None else date)
    optional = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "region": st.sampled_from(("lumbar", "lumbosacral")),
                "levels": segment_lists(max_size=3 if kind == "fusion" else 2, contiguous=True),
                "instrumented": st.booleans() if kind == "fusion" else st.just(False),
                "approach": st.sampled_from(_field_literal(model.Surgery, "approach")),
                "interbody": st.booleans(),
                "complications": st.lists(
                    st.sampled_from(
                        _literal(model.Surgery.model_fields["complications"].annotation)
                    ),
                    max_size=2,
                    unique=True,
                ),
            },
        )
    )
    surgery.update(optional)
    return surgery


@st.composite
def findings(draw: st.DrawFn, codes: tuple[str, ...] = FINDING_CODES) -> dict[str, Any]:
    """One imaging finding from the fixed vocabulary, with levels and side."""
    finding: dict[str, Any] = {"finding": draw(st.sampled_from(codes))}
    levels = draw(segment_lists(max_size=2))
    if levels:
        finding["levels"] = levels
    side = draw(st.one_of(st.none(), st.sampled_from(("left", "right", "bilateral", "central"))))
    if side is not None:
        finding["side"] = side
    return finding


@st.composite
def spinopelvic(draw: st.DrawFn) -> dict[str, Any]:
    """Sagittal parameters from standing films."""
    return draw(
        st.fixed_dictionaries(
            {},
            optional={
                "pi": st.integers(30, 85).map(float),
                "ll": st.integers(-10, 75).map(float),
                "pt": st.integers(5, 45).map(float),
                "sva": quantity({"mm": (-40, 180), "cm": (-4, 18)}),
            },
        )
    )


@st.composite
def imaging_studies(
    draw: st.DrawFn,
    date: st.SearchStrategy[str] | None = None,
    modalities: tuple[str, ...] = MODALITIES,
) -> dict[str, Any]:
    """One imaging study with findings from the vocabulary."""
    modality = draw(st.sampled_from(modalities))
    study: dict[str, Any] = {"modality": modality}
    when = draw(st.one_of(st.none(), RECORD_DATE if date is None else date))
    if when is not None:
        study["date"] = when
    study["findings"] = draw(st.lists(findings(), max_size=3))
    if modality in ("mri", "mri_with_contrast") and draw(st.booleans()):
        study["limited_by_artifact"] = draw(rarely(4))
    if modality == "flexion_extension_xray" and draw(st.booleans()):
        study["fusion_motion_deg"] = float(draw(st.integers(0, 12)))
    if modality == "standing_full_spine_xray" and draw(st.booleans()):
        study["spinopelvic"] = draw(spinopelvic())
    if draw(st.booleans()) and "findings" in study and not study["findings"]:
        del study["findings"]  # findings not listed at all
    return study


@st.composite
def blocks(draw: st.DrawFn) -> dict[str, Any]:
    """A diagnostic injection and its relief."""
    kind = draw(st.sampled_from(_field_literal(model.DiagnosticBlock, "type")))
    block: dict[str, Any] = {"type": kind}
    level = draw(st.sampled_from(ROOTS if kind == "selective_nerve_root" else SEGMENTS))
    extra = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "date": RECORD_DATE,
                "level": st.just(level),
                "side": st.sampled_from(SIDES),
                "percent_relief": st.sampled_from((0, 20, 40, 50, 60, 75, 80, 90, 100)).map(float),
                "pre_nrs": st.integers(3, 10),
                "post_nrs": st.integers(0, 8),
                "concordant": st.booleans(),
                "controlled": st.booleans(),
            },
        )
    )
    block.update(extra)
    return block


@st.composite
def electrodiagnostics(draw: st.DrawFn) -> dict[str, Any]:
    """An EMG/NCS result."""
    result = draw(st.sampled_from(_field_literal(model.Electrodiagnostic, "result")))
    emg: dict[str, Any] = {"result": result}
    emg.update(
        draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "date": RECORD_DATE,
                    "roots": roots(),
                    "side": st.sampled_from(SIDES),
                },
            )
        )
    )
    return emg


def _answers(n: int, top: int) -> st.SearchStrategy[list[int | None]]:
    answer = st.one_of(st.integers(0, top), st.integers(0, top), st.none())
    return st.lists(answer, min_size=n, max_size=n)


PROM_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "date": RECORD_DATE,
    "odi_answers": _answers(10, 5),
    "nrs_back": _nrs(),
    "nrs_leg": _nrs(),
    "phq9_answers": st.lists(
        st.one_of(st.sampled_from((0, 0, 1, 2, 3)), st.none()), min_size=9, max_size=9
    ).map(lambda a: [*a[:8], 0]),  # item 9 kept 0 here; item 9 > 0 is psychosocial.phq9_item9
}

EVALUATION_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "hip": st.fixed_dictionaries(
        {"result": st.sampled_from(("normal", "hip_pathology"))}, optional={"date": RECORD_DATE}
    ),
    "vascular": st.fixed_dictionaries(
        {},
        optional={
            "date": RECORD_DATE,
            "ankle_brachial_index": st.sampled_from((0.5, 0.8, 0.9, 1.0, 1.1)),
            "result": st.sampled_from(("normal", "arterial_disease")),
        },
    ),
}

ALLERGY = st.fixed_dictionaries(
    {"substance": st.sampled_from(_field_literal(model.Allergy, "substance"))},
    optional={
        "reaction": st.sampled_from(_field_literal(model.Allergy, "reaction")),
        "severity": st.sampled_from(("mild", "moderate", "severe")),
    },
)

PLANNED = st.fixed_dictionaries(
    {},
    optional={
        "procedure": st.sampled_from(_field_literal(model.PlannedProcedure, "procedure")),
        "levels": segment_lists(max_size=2, contiguous=True),
        "expected_duration_min": st.sampled_from((40, 90, 180, 300)).map(float),
    },
)


@st.composite
def psychosocials(draw: st.DrawFn) -> dict[str, Any]:
    """Yellow flags, with PHQ-9 item 9 never above the total."""
    psych = draw(section(PSYCHOSOCIAL_FIELDS))
    if "phq9_item9" in psych and "phq9_total" in psych:
        psych["phq9_item9"] = min(psych["phq9_item9"], psych["phq9_total"])
    return psych


@st.composite
def case_dicts(draw: st.DrawFn) -> dict[str, Any]:
    """A random valid case over the whole vocabulary; every section optional."""
    case: dict[str, Any] = {"assessment_date": AS_OF.isoformat()}
    sections = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "case_id": st.just("generated"),
                "patient": patients(),
                "surgeries": st.lists(surgeries(), min_size=1, max_size=3),
                "symptoms": section(SYMPTOM_FIELDS),
                "comorbidities": section(COMORBIDITY_FIELDS),
                "allergies": st.lists(ALLERGY, max_size=2),
                "psychosocial": psychosocials(),
                "exam": section(EXAM_FIELDS),
                "imaging": st.lists(imaging_studies(), max_size=3),
                "labs": st.lists(labs(), max_size=4),
                "blocks": st.lists(blocks(), max_size=2),
                "electrodiagnostics": st.lists(electrodiagnostics(), max_size=1),
                "evaluations": section(EVALUATION_FIELDS),
                "proms": st.lists(section(PROM_FIELDS), max_size=2),
                "planned_procedure": PLANNED,
            },
        )
    )
    case.update(sections)
    assume(consistent(case))
    return case


def consistent(case: dict[str, Any]) -> bool:
    """Valid, and free of the cross-field problems the product refuses (``check_case``: a
    date before birth, progressive weakness recorded with weakness absent, …)."""
    try:
        parsed = model.Case.model_validate(case)
    except ValueError:  # pydantic's ValidationError is a ValueError
        return False
    return not check_case(parsed, AS_OF)


# --------------------------------------------------------------------------------------------
# The surgical-candidate base case and its perturbations
# --------------------------------------------------------------------------------------------

#: A complete, concordant revision candidate built from the rules: an L4-L5 discectomy 2.5 years
#: ago, 14 pain-free months, then left L5 radicular pain; left L5 deficit and positive SLR;
#: current X-ray and gadolinium MRI showing a left recurrent herniation at L4-L5; normal current
#: ESR/CRP; red-flag screen negative; no yellow flags (PHQ-9 4); never smoker; allergies asked.
SURGICAL_CANDIDATE: dict[str, Any] = {
    "case_id": "property-base-candidate",
    "assessment_date": AS_OF.isoformat(),
    "patient": {
        "age": 45,
        "sex": "male",
        "weight": {"value": 80, "unit": "kg"},
        "height": {"value": 178, "unit": "cm"},
        "mri_contraindicated": False,
    },
    "surgeries": [
        {
            "date": "2024-03-10",
            "type": "discectomy",
            "region": "lumbar",
            "levels": ["L4-L5"],
            "instrumented": False,
            "approach": "posterior",
        }
    ],
    "symptoms": {
        "course": "pain_free_interval",
        "pain_free_interval_months": 14,
        "onset_date": "2025-06-01",
        "axial_pain": False,
        "radicular_pain": True,
        "predominant_pain": "radicular",
        "radicular_side": "left",
        "dermatomes": ["L5"],
        "numbness": True,
        "tingling": True,
        "weakness": False,
        "weakness_progressive": False,
        "bowel_bladder_dysfunction": False,
        "saddle_anaesthesia": False,
        "fever": False,
        "chills": False,
        "night_sweats": False,
        "weight_loss": False,
        "night_pain": False,
        "wound_drainage": False,
        "mechanical_pain": False,
        "neurogenic_claudication": False,
        "vascular_claudication": False,
        "widespread_pain": False,
        "groin_pain": False,
        "buttock_pain": False,
        "neuropathic_features": False,
        "stocking_distribution": False,
        "forward_stoop": False,
        "recent_trauma": False,
        "sudden_severe_pain": False,
        "pain_nrs": 7,
        "back_pain_nrs": 3,
        "leg_pain_nrs": 7,
        "pain_duration_months": 5,
    },
    "comorbidities": {
        "smoking_status": "never",
        "diabetes": False,
        "fibromyalgia": False,
        "depression": False,
        "anxiety": False,
        "osteoporosis": False,
        "hip_osteoarthritis": False,
        "peripheral_neuropathy": False,
        "peripheral_vascular_disease": False,
        "immunosuppression": False,
        "long_term_steroids": False,
        "prior_spine_infection": False,
        "mrsa_colonisation": False,
        "prior_vte": False,
        "cancer": "none",
        "iv_drug_use": False,
        "renal_failure": False,
        "substance_use": False,
        "thrombophilia": False,
    },
    "allergies": [],
    "psychosocial": {
        "phq9_total": 4,
        "phq9_item9": 0,
        "pain_catastrophizing_total": 12,
        "start_back_risk": "low",
        "litigation_or_compensation": False,
        "opioid_mme_per_day": 0,
        "daily_opioid_use": False,
    },
    "exam": {
        "date": "2026-10-20",
        "dermatomal_deficit": True,
        "deficit_dermatomes": ["L5"],
        "deficit_side": "left",
        "motor_deficit": False,
        "straight_leg_raise": "positive",
        "straight_leg_raise_side": "left",
        "hip_exam": "normal",
        "si_provocation_positive": 0,
        "psis_tenderness": False,
        "wound": "healed",
        "distal_pulses": "normal",
        "stocking_sensory_loss": False,
        "post_void_residual_ml": 30,
    },
    "imaging": [
        {"modality": "xray", "date": "2026-10-01", "findings": []},
        {
            "modality": "mri_with_contrast",
            "date": "2026-10-05",
            "findings": [{"finding": "recurrent_herniation", "levels": ["L4-L5"], "side": "left"}],
        },
    ],
    "labs": [
        {"test": "esr", "value": 8, "unit": "mm/h", "date": "2026-10-15"},
        {"test": "crp", "value": 3, "unit": "mg/L", "date": "2026-10-15"},
    ],
}


def candidate_base() -> dict[str, Any]:
    """A fresh deep copy of :data:`SURGICAL_CANDIDATE`."""
    return copy.deepcopy(SURGICAL_CANDIDATE)


Path = tuple[str | int, ...]


def format_path(path: Path) -> str:
    """``("labs", 0, "date")`` → ``labs[0].date``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def fact_paths(obj: Any, prefix: Path = ()) -> Iterator[Path]:
    """Every dict key and list element in ``obj``, depth first (parents before children)."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield (*prefix, key)
            yield from fact_paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield (*prefix, i)
            yield from fact_paths(value, (*prefix, i))


def without(case: dict[str, Any], path: Path) -> dict[str, Any]:
    """A deep copy of ``case`` with the key or list element at ``path`` removed."""
    out = copy.deepcopy(case)
    parent: Any = out
    for part in path[:-1]:
        parent = parent[part]
    del parent[path[-1]]
    return out


#: Top-level keys that are bookkeeping, not clinical facts.
NOT_FACTS = frozenset({"schema_version", "case_id", "assessment_date", "site", "surgeon"})


def single_fact_removals(
    case: dict[str, Any], *, elements: bool = False
) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every case obtained by deleting one key, at any depth (and, with ``elements``, one list
    element). The result may be invalid (a required key such as a lab's ``unit``); callers
    validate.

    Deleting a key makes that fact unknown. Deleting a list element usually does not: a study's
    ``findings`` and a ``dermatomes`` list are complete readings (dropping an element asserts a
    different finding), and dropping a record (a study, a lab) leaves a case that simply does
    not mention it, which the engine cannot be asked to notice.
    """
    for path in fact_paths(case):
        if len(path) == 1 and path[0] in NOT_FACTS:
            continue
        if isinstance(path[-1], int) and not elements:
            continue
        yield path, without(case, path)


class Perturbed(NamedTuple):
    """A case derived from the base candidate, and the edits that made it (for reports)."""

    edits: tuple[str, ...]
    case: dict[str, Any]


_SECTIONS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "symptoms": SYMPTOM_FIELDS,
    "comorbidities": COMORBIDITY_FIELDS,
    "psychosocial": PSYCHOSOCIAL_FIELDS,
    "exam": EXAM_FIELDS,
    "patient": PATIENT_FIELDS,
    "evaluations": EVALUATION_FIELDS,
}
#: Records added by a perturbation are dated recently so that they count as current.
_RECENT = days_before(1, 40)
_RECORDS: dict[str, st.SearchStrategy[Any]] = {
    "imaging": imaging_studies(date=_RECENT),
    "labs": labs(date=_RECENT),
    "surgeries": surgeries(),
    "blocks": blocks(),
    "electrodiagnostics": electrodiagnostics(),
    "proms": section(PROM_FIELDS),
    "allergies": ALLERGY,
}


@st.composite
def _edit(draw: st.DrawFn, case: dict[str, Any]) -> str:
    """Apply one random edit to ``case`` in place; return its description."""
    kind = draw(st.sampled_from(("set", "set", "add_record", "add_finding", "delete")))
    if kind == "set":
        name = draw(st.sampled_from(sorted(_SECTIONS)))
        key = draw(st.sampled_from(sorted(_SECTIONS[name])))
        value = draw(_SECTIONS[name][key])
        case.setdefault(name, {})[key] = value
        return f"set {name}.{key} = {value!r}"
    if kind == "add_record":
        name = draw(st.sampled_from(sorted(_RECORDS)))
        record = draw(_RECORDS[name])
        if case.get(name) is None:
            case[name] = []
        case[name].append(record)
        return f"add {name}[{len(case[name]) - 1}] = {record!r}"
    if kind == "add_finding":
        studies = case.get("imaging") or []
        if not studies:
            return "no-op"
        i = draw(st.integers(0, len(studies) - 1))
        finding = draw(findings())
        studies[i].setdefault("findings", []).append(finding)
        return f"add imaging[{i}].findings += {finding!r}"
    paths = [p for p in fact_paths(case) if not (len(p) == 1 and p[0] in NOT_FACTS)]
    if not paths:
        return "no-op"
    path = draw(st.sampled_from(paths))
    candidate = without(case, path)
    if not consistent(candidate):  # e.g. a required key such as a lab's unit
        return "no-op"
    case.clear()
    case.update(candidate)
    return f"delete {format_path(path)}"


@st.composite
def perturbed_candidates(draw: st.DrawFn, max_edits: int = 3) -> Perturbed:
    """The base candidate after 0..``max_edits`` random edits; an edit that would make the case
    invalid or contradictory (see :func:`consistent`) is dropped."""
    case = candidate_base()
    edits: list[str] = []
    for _ in range(draw(st.integers(0, max_edits))):
        before = copy.deepcopy(case)
        edit = draw(_edit(case))
        if consistent(case):
            edits.append(edit)
        else:
            case.clear()
            case.update(before)
            edits.append(f"dropped (contradictory): {edit}")
    return Perturbed(tuple(edits), case)


def any_case() -> st.SearchStrategy[dict[str, Any]]:
    """Random cases and perturbed candidates, half and half."""
    return st.one_of(case_dicts(), perturbed_candidates().map(lambda p: p.case))
