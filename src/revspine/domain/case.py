"""The case model: everything revspine may know about one patient, and nothing more.

Every field is optional. **Absent means unknown**: a missing value is never read as a negative
finding; the rules turn it into a workup recommendation or a ``missing_data`` entry. An empty list
(``labs: []``, ``allergies: []``) means "asked, and there are none".

Levels are written as segments (``L4-L5``, ``L5-S1``) and roots/dermatomes as ``L5``, ``S1``;
``L4/5`` and ``L4-5`` are accepted and normalised.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from revspine._memo import remember
from revspine.domain.units import check_unit
from revspine.errors import UnitError

CASE_SCHEMA_VERSION: Literal["1.0"] = "1.0"

Tri = bool | None
"""Three-valued finding: True (present), False (examined and absent), None (unknown)."""

_VERTEBRA = r"(?:C[1-7]|T(?:1[0-2]|[1-9])|L[1-5]|S1)"
_SEGMENT_RE = re.compile(rf"^({_VERTEBRA})-({_VERTEBRA})$")
_ROOT_RE = re.compile(r"^(?:C[1-8]|T(?:1[0-2]|[1-9])|L[1-5]|S[1-5])$")
_ORDER = (
    [f"C{i}" for i in range(1, 8)]
    + [f"T{i}" for i in range(1, 13)]
    + [f"L{i}" for i in range(1, 6)]
    + ["S1"]
)


def vertebra_index(name: str) -> int:
    """Position of a vertebra in the column (C1 = 0 … S1 = 24)."""
    return _ORDER.index(name)


_SHORT_SEGMENT_RE = re.compile(r"^([CTLS])(\d+)-([CTLS]?)(\d+)$")
_segments: dict[str, str] = {}


def _normalise_segment(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    found = _segments.get(value)
    if found is None:
        # _segment_text raises ValueError when it is not a motion segment (not remembered)
        found = remember(_segments, value, _segment_text(value), 1024)
    return found


def _segment_text(value: str) -> str:
    """:func:`_normalise_segment` of a string, worked out (valid results are remembered)."""
    text = value.strip().upper().replace("–", "-").replace("/", "-").replace(" ", "")
    match = _SHORT_SEGMENT_RE.match(text)
    if match:
        upper = f"{match.group(1)}{match.group(2)}"
        lower = f"{match.group(3) or match.group(1)}{match.group(4)}"
        text = f"{upper}-{lower}"
    m = _SEGMENT_RE.match(text)
    if not m:
        raise ValueError(f"'{value}' is not a spinal segment such as 'L4-L5' or 'L5-S1'")
    if vertebra_index(m.group(2)) != vertebra_index(m.group(1)) + 1:
        raise ValueError(f"'{value}' is not a motion segment of two adjacent vertebrae")
    return text


def _normalise_root(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip().upper()
    if not _ROOT_RE.match(text):
        raise ValueError(f"'{value}' is not a nerve root / dermatome such as 'L5' or 'S1'")
    return text


Segment = Annotated[str, BeforeValidator(_normalise_segment)]
Root = Annotated[str, BeforeValidator(_normalise_root)]
Side = Literal["left", "right", "bilateral"]
Nrs = Annotated[int, Field(ge=0, le=10)]


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False
    )


class Quantity(_Model):
    """A measured value with its UCUM unit, e.g. ``{value: 3.1, unit: g/dL}`` or ``"3.1 g/dL"``."""

    value: float
    unit: str = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, str):
            parts = data.strip().split(maxsplit=1)
            if len(parts) != 2:
                raise ValueError(f"'{data}' is not a quantity like '3.1 g/dL'")
            try:
                return {"value": float(parts[0]), "unit": parts[1]}
            except ValueError as exc:
                raise ValueError(f"'{data}' does not start with a number") from exc
        return data


def _check_unit(analyte: str, q: Quantity | None) -> Quantity | None:
    """Refuse a quantity whose unit is unknown or of the wrong dimension for ``analyte``."""
    if q is None:
        return None
    try:
        check_unit(analyte, q.unit)
    except UnitError as exc:
        raise ValueError(str(exc)) from exc
    return q


class Patient(_Model):
    """Demographics and body size (no names or identifiers: revspine needs none)."""

    age: Annotated[int, Field(ge=0, le=120)] | None = None
    birth_date: dt.date | None = Field(None, description="Used for age when age is absent.")
    sex: Literal["female", "male", "other"] | None = None
    weight: Quantity | None = Field(None, description="Body weight, e.g. '82 kg' or '180 [lb_av]'.")
    height: Quantity | None = Field(None, description="Body height, e.g. '172 cm'.")
    mri_contraindicated: Tri = Field(
        None, description="Non-conditional pacemaker or other MRI contraindication."
    )

    @field_validator("weight")
    @classmethod
    def _weight_unit(cls, q: Quantity | None) -> Quantity | None:
        return _check_unit("weight", q)

    @field_validator("height")
    @classmethod
    def _height_unit(cls, q: Quantity | None) -> Quantity | None:
        return _check_unit("height", q)


SurgeryType = Literal["discectomy", "laminectomy", "fusion", "disc_replacement", "other"]


class Surgery(_Model):
    """One prior spine operation."""

    date: dt.date | None = None
    type: SurgeryType
    region: Literal["cervical", "thoracic", "lumbar", "lumbosacral"] | None = None
    levels: list[Segment] = Field(default_factory=list)
    instrumented: Tri = None
    approach: Literal["posterior", "anterior", "lateral", "combined"] | None = None
    interbody: Tri = None
    complications: list[
        Literal["infection", "dural_tear", "wound_dehiscence", "hematoma", "nerve_injury", "other"]
    ] = Field(default_factory=list)


class Symptoms(_Model):
    """Current complaints and their timing relative to the last operation."""

    course: Literal["never_improved", "pain_free_interval", "gradual_worsening"] | None = Field(
        None,
        description="never_improved: no relief after the last surgery; pain_free_interval: "
        "relief, then recurrence; gradual_worsening: partial relief, slowly worse.",
    )
    pain_free_interval_months: Annotated[float, Field(ge=0)] | None = None
    onset_date: dt.date | None = Field(None, description="When the current symptoms began.")
    axial_pain: Tri = None
    radicular_pain: Tri = None
    predominant_pain: Literal["axial", "radicular", "equal"] | None = None
    radicular_side: Side | None = None
    dermatomes: list[Root] | None = None
    numbness: Tri = None
    tingling: Tri = None
    weakness: Tri = None
    weakness_progressive: Tri = None
    bowel_bladder_dysfunction: Tri = None
    saddle_anaesthesia: Tri = None
    fever: Tri = None
    chills: Tri = None
    night_sweats: Tri = None
    weight_loss: Tri = Field(None, description="Unexplained weight loss.")
    night_pain: Tri = Field(None, description="Pain at night or at rest.")
    wound_drainage: Tri = None
    mechanical_pain: Tri = Field(None, description="Worse with motion or loading.")
    neurogenic_claudication: Tri = Field(
        None, description="Leg pain on walking/standing relieved by sitting or flexion."
    )
    vascular_claudication: Tri = Field(
        None, description="Calf pain on walking relieved by standing still."
    )
    widespread_pain: Tri = Field(None, description="Pain in multiple body regions.")
    groin_pain: Tri = Field(None, description="Groin or anterior thigh pain.")
    buttock_pain: Tri = Field(None, description="Pain below L5 / buttock, PSIS region.")
    neuropathic_features: Tri = Field(
        None, description="Burning, continuous, non-dermatomal pain or allodynia."
    )
    stocking_distribution: Tri = Field(
        None, description="Symmetric, length-dependent distal symptoms."
    )
    forward_stoop: Tri = Field(None, description="Cannot stand upright; fatigue-type back pain.")
    recent_trauma: Tri = None
    sudden_severe_pain: Tri = None
    red_flag_screen_negative: Tri = Field(
        None,
        description="True: the clinician screened for red flags (sphincter dysfunction, saddle "
        "anaesthesia, weakness or its progression, fever, chills, wound drainage, weight loss, "
        "night pain, trauma, sudden severe pain) and found none, except those recorded as true "
        "here. Each unrecorded red-flag item then counts as screened absent.",
    )
    pain_nrs: Nrs | None = Field(None, description="Overall pain 0-10.")
    back_pain_nrs: Nrs | None = None
    leg_pain_nrs: Nrs | None = None
    pain_duration_months: Annotated[float, Field(ge=0)] | None = None


class Comorbidities(_Model):
    """Conditions and exposures that change the cause, the risk or the plan."""

    smoking_status: Literal["current", "former", "never"] | None = None
    smoking_quit_date: dt.date | None = None
    cigarettes_per_day: Annotated[int, Field(ge=0, le=200)] | None = None
    nicotine_replacement: Tri = None
    diabetes: Tri = None
    fibromyalgia: Tri = None
    depression: Tri = None
    anxiety: Tri = None
    osteoporosis: Tri = None
    hip_osteoarthritis: Tri = None
    peripheral_neuropathy: Tri = None
    peripheral_vascular_disease: Tri = None
    immunosuppression: Tri = None
    long_term_steroids: Tri = None
    prior_spine_infection: Tri = None
    mrsa_colonisation: Tri = None
    prior_vte: Tri = None
    cancer: Literal["none", "history", "active"] | None = None
    iv_drug_use: Tri = None
    renal_failure: Tri = None
    substance_use: Tri = None
    thrombophilia: Tri = None


class Allergy(_Model):
    """One drug allergy relevant to prophylaxis."""

    substance: Literal[
        "penicillin", "cephalosporin", "beta_lactam", "vancomycin", "clindamycin", "other"
    ]
    reaction: (
        Literal["anaphylaxis", "angioedema", "severe_cutaneous", "urticaria", "rash", "intolerance"]
        | None
    ) = None
    severity: Literal["mild", "moderate", "severe"] | None = None


class PsychEvaluation(_Model):
    """A formal behavioural-health / presurgical psychological evaluation."""

    date: dt.date | None = None
    outcome: Literal["no_contraindication", "treat_first", "not_a_candidate"]


class Psychosocial(_Model):
    """Yellow flags (REFERENCE §3.2)."""

    phq9_total: Annotated[int, Field(ge=0, le=27)] | None = None
    phq9_item9: Annotated[int, Field(ge=0, le=3)] | None = None
    pain_catastrophizing_total: Annotated[int, Field(ge=0, le=52)] | None = None
    start_back_risk: Literal["low", "medium", "high"] | None = None
    litigation_or_compensation: Tri = None
    opioid_mme_per_day: Annotated[float, Field(ge=0)] | None = None
    daily_opioid_use: Tri = None
    evaluation: PsychEvaluation | None = None


class Exam(_Model):
    """Physical examination findings."""

    date: dt.date | None = None
    dermatomal_deficit: Tri = None
    deficit_dermatomes: list[Root] = Field(default_factory=list)
    deficit_side: Side | None = None
    motor_deficit: Tri = None
    straight_leg_raise: Literal["positive", "negative"] | None = None
    straight_leg_raise_side: Side | None = None
    hip_exam: Literal["normal", "painful_internal_rotation", "abnormal"] | None = None
    si_provocation_positive: Annotated[int, Field(ge=0, le=6)] | None = Field(
        None, description="Number of positive SI-joint provocation tests."
    )
    psis_tenderness: Tri = None
    wound: Literal["healed", "erythema", "drainage", "dehiscence"] | None = None
    distal_pulses: Literal["normal", "diminished"] | None = None
    stocking_sensory_loss: Tri = None
    post_void_residual_ml: Annotated[float, Field(ge=0)] | None = None


ImagingModality = Literal[
    "xray",
    "flexion_extension_xray",
    "standing_full_spine_xray",
    "ct",
    "ct_myelogram",
    "mri",
    "mri_with_contrast",
]
ImagingFindingCode = Literal[
    "pseudarthrosis",
    "solid_fusion",
    "hardware_loosening",
    "hardware_fracture",
    "hardware_malposition",
    "adjacent_segment_degeneration",
    "recurrent_herniation",
    "epidural_fibrosis",
    "residual_stenosis",
    "foraminal_stenosis",
    "instability",
    "discitis_osteomyelitis",
    "epidural_abscess",
    "fluid_collection",
    "epidural_hematoma",
    "fracture",
    "pars_defect",
    "facet_arthropathy",
    "arachnoiditis",
    "no_neural_compression",
]


class ImagingFinding(_Model):
    """One radiologist-reported finding, from a fixed vocabulary."""

    finding: ImagingFindingCode
    levels: list[Segment] = Field(default_factory=list)
    side: Literal["left", "right", "bilateral", "central"] | None = None


class Spinopelvic(_Model):
    """Sagittal parameters from standing full-length films (degrees; SVA as a length)."""

    pi: Annotated[float, Field(ge=0, le=120)] | None = Field(None, description="Pelvic incidence.")
    ll: Annotated[float, Field(ge=-60, le=120)] | None = Field(None, description="L1-S1 lordosis.")
    pt: Annotated[float, Field(ge=-30, le=80)] | None = Field(None, description="Pelvic tilt.")
    sva: Quantity | None = Field(None, description="C7 plumb line to S1, e.g. '62 mm'.")

    @field_validator("sva")
    @classmethod
    def _sva_unit(cls, q: Quantity | None) -> Quantity | None:
        return _check_unit("length", q)


class ImagingStudy(_Model):
    """One imaging study. ``findings: []`` means the study was read as showing none of these;
    absent findings mean the report is not recorded (the study counts as done, never as normal)."""

    modality: ImagingModality
    date: dt.date | None = None
    findings: list[ImagingFinding] | None = None
    limited_by_artifact: Tri = None
    fusion_motion_deg: Annotated[float, Field(ge=0, le=45)] | None = Field(
        None, description="Segmental motion on flexion-extension films, degrees."
    )
    spinopelvic: Spinopelvic | None = None


LabTest = Literal[
    "esr",
    "crp",
    "wbc",
    "albumin",
    "transferrin",
    "prealbumin",
    "total_lymphocyte_count",
    "hba1c",
    "vitamin_d",
    "procalcitonin",
]


class LabResult(_Model):
    """A laboratory result as a quantity: value and UCUM unit, with its specimen date."""

    test: LabTest
    value: float
    unit: str = Field(min_length=1)
    date: dt.date | None = None

    @model_validator(mode="after")
    def _unit_known(self) -> LabResult:
        try:
            check_unit(self.test, self.unit)
        except UnitError as exc:
            raise ValueError(str(exc)) from exc
        return self


class DiagnosticBlock(_Model):
    """A diagnostic injection and the relief it gave."""

    type: Literal["selective_nerve_root", "facet", "medial_branch", "pars", "si_joint"]
    date: dt.date | None = None
    level: str | None = Field(None, description="Segment (L4-L5) or root (L5).")
    side: Side | None = None
    percent_relief: Annotated[float, Field(ge=0, le=100)] | None = None
    pre_nrs: Nrs | None = None
    post_nrs: Nrs | None = None
    concordant: Tri = Field(None, description="Relief of the patient's usual pain.")
    controlled: Tri = Field(None, description="Confirmed by a second (comparative) block.")

    @field_validator("level", mode="before")
    @classmethod
    def _level(cls, value: Any) -> Any:
        if value is None:
            return None
        try:
            return _normalise_root(value)
        except ValueError:
            return _normalise_segment(value)


class Electrodiagnostic(_Model):
    """EMG / nerve conduction study result."""

    date: dt.date | None = None
    result: Literal[
        "normal",
        "radiculopathy",
        "peripheral_neuropathy",
        "radiculopathy_and_neuropathy",
        "entrapment_neuropathy",
    ]
    roots: list[Root] = Field(default_factory=list)
    side: Side | None = None


class HipEvaluation(_Model):
    """Hip imaging / intra-articular injection."""

    date: dt.date | None = None
    result: Literal["normal", "hip_pathology"]


class VascularStudy(_Model):
    """Ankle-brachial index or arterial study."""

    date: dt.date | None = None
    ankle_brachial_index: Annotated[float, Field(ge=0, le=2)] | None = None
    result: Literal["normal", "arterial_disease"] | None = None


class Evaluations(_Model):
    """Specialist evaluations other than imaging and blocks."""

    hip: HipEvaluation | None = None
    vascular: VascularStudy | None = None


class PromEntry(_Model):
    """Patient-reported outcome measures at one visit."""

    date: dt.date | None = None
    odi_answers: list[Annotated[int, Field(ge=0, le=5)] | None] | None = Field(
        None, min_length=10, max_length=10, description="The 10 ODI section scores (0-5)."
    )
    nrs_back: Nrs | None = None
    nrs_leg: Nrs | None = None
    phq9_answers: list[Annotated[int, Field(ge=0, le=3)] | None] | None = Field(
        None, min_length=9, max_length=9
    )


class PlannedProcedure(_Model):
    """The revision being considered, when there is one (for planning and VTE risk)."""

    procedure: (
        Literal[
            "revision_decompression",
            "revision_discectomy",
            "revision_fusion",
            "extension_of_fusion",
            "osteotomy",
            "hardware_revision",
            "other",
        ]
        | None
    ) = None
    levels: list[Segment] = Field(default_factory=list)
    expected_duration_min: Annotated[float, Field(gt=0, le=1440)] | None = None


class Case(_Model):
    """One patient evaluated after failed spine surgery."""

    schema_version: Literal["1.0"] = CASE_SCHEMA_VERSION
    case_id: str | None = Field(None, max_length=64, description="Pseudonymous id; no PHI.")
    assessment_date: dt.date | None = Field(None, description="Evaluation date ('as of').")
    site: str | None = Field(None, max_length=64)
    surgeon: str | None = Field(None, max_length=64)
    patient: Patient = Field(default_factory=Patient)
    surgeries: list[Surgery] = Field(default_factory=list)
    symptoms: Symptoms = Field(default_factory=Symptoms)
    comorbidities: Comorbidities = Field(default_factory=Comorbidities)
    allergies: list[Allergy] | None = Field(
        None, description="[] means no known allergies; absent means not recorded."
    )
    psychosocial: Psychosocial = Field(default_factory=Psychosocial)
    exam: Exam | None = Field(None, description="Absent means no documented examination.")
    imaging: list[ImagingStudy] = Field(default_factory=list)
    labs: list[LabResult] = Field(default_factory=list)
    blocks: list[DiagnosticBlock] = Field(default_factory=list)
    electrodiagnostics: list[Electrodiagnostic] = Field(default_factory=list)
    evaluations: Evaluations = Field(default_factory=Evaluations)
    proms: list[PromEntry] = Field(default_factory=list)
    planned_procedure: PlannedProcedure | None = None
