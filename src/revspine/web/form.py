"""The pathway-structured case form: form controls ↔ case document. Pure functions, no I/O.

One declarative description (:data:`SECTIONS`) drives everything: the page renders it, posted
form data becomes a case document with :func:`to_case`, a stored case becomes form values with
:func:`from_case`, and :func:`place_problems` puts each validation problem (``labs[2].unit``)
next to the control that has that name — control names *are* case paths.

**Absent means unknown.** An empty control is left out of the case, never turned into ``False``,
``0`` or ``[]``: every finding has three states (yes / no / unknown, default unknown), and a list
that may be "not recorded" (allergies, imaging findings, dermatomes) has an explicit choice
between "not recorded" and "none". Values are passed on as typed text when they cannot be read
(``"4x"`` for an age) so that the case model reports them where they were typed.

No clinical logic lives here: the case model validates, the engine assesses, and the
questionnaire scores come from :mod:`revspine.domain.scores`.
"""

from __future__ import annotations

import datetime
import re
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel

from revspine.domain import case as cm
from revspine.domain.scores import ODI_SECTIONS, odi, phq9
from revspine.domain.units import known_units

__all__ = [
    "SECTIONS",
    "Field",
    "FormValues",
    "PathMap",
    "Section",
    "control_names",
    "control_path",
    "FormView",
    "control_id",
    "from_case",
    "lab_units_map",
    "posted_values",
    "label",
    "normalise",
    "place_problems",
    "prom_scores",
    "row_indices",
    "to_case",
    "unit_label",
    "unit_options",
]

FormValues = dict[str, str]
"""Posted form data: control name → text (``""`` = empty)."""

Kind = Literal[
    "text", "int", "float", "date", "tri", "choice", "levels", "roots", "level", "quantity",
    "multi", "answers",
]  # fmt: skip

NONE_WORD = "none"
"""Typed into a list that may be "not recorded" (dermatomes): recorded, and there are none."""
LIST_STATES = {"": "not recorded", "none": "none", "listed": "as listed below"}
PRESENCE_STATES = {"": "only if filled in below", "documented": "documented"}

PHQ9_ITEMS: tuple[str, ...] = (
    "Little interest or pleasure in doing things",
    "Feeling down, depressed or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself, or that you are a failure",
    "Trouble concentrating on things",
    "Moving or speaking slowly, or being fidgety or restless",
    "Thoughts that you would be better off dead or of hurting yourself",
)
PHQ9_ANSWERS = ("not at all", "several days", "more than half the days", "nearly every day")

_LABELS = {
    "xray": "X-ray",
    "flexion_extension_xray": "Flexion-extension X-ray",
    "standing_full_spine_xray": "Standing full-spine X-ray",
    "ct": "CT",
    "ct_myelogram": "CT myelogram",
    "mri": "MRI",
    "mri_with_contrast": "MRI with contrast",
    "esr": "ESR",
    "crp": "CRP",
    "wbc": "WBC",
    "hba1c": "HbA1c",
    "vitamin_d": "25-OH vitamin D",
    "total_lymphocyte_count": "Total lymphocyte count",
    "si_joint": "SI joint",
    "mrsa_colonisation": "MRSA colonisation",
    "prior_vte": "Prior VTE",
    "iv_drug_use": "IV drug use",
    "selective_nerve_root": "Selective nerve root",
    "emg": "EMG",
    "bowel_bladder_dysfunction": "Bowel or bladder dysfunction",
    "red_flag_screen_negative": "Red-flag screen negative",
    "weakness_progressive": "Weakness progressing",
    "long_term_steroids": "Long-term steroids",
    "limited_by_artifact": "Limited by artefact",
    "neurogenic_claudication": "Neurogenic claudication",
    "nicotine_replacement": "Nicotine replacement",
    "pars": "Pars",
    "medial_branch": "Medial branch",
}
_UNIT_LABELS = {
    "/uL": "/µL",
    "10*3/uL": "10³/µL",
    "10*9/L": "10⁹/L",
    "/mm3": "/mm³",
    "ug/L": "µg/L",
    "[lb_av]": "lb",
    "[in_i]": "in",
    "mm/[hr]": "mm/hr",
}


def label(code: str) -> str:
    """A vocabulary code as words: ``"recurrent_herniation"`` → ``"Recurrent herniation"``."""
    if code in _LABELS:
        return _LABELS[code]
    text = code.replace("_", " ")
    return text[:1].upper() + text[1:]


def unit_label(unit: str) -> str:
    """A UCUM unit as people write it (``10*3/uL`` → ``10³/µL``)."""
    return _UNIT_LABELS.get(unit, unit)


# -- the description of the form ----------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    """One control (or a small group of controls) bound to a case path below its section."""

    key: str
    """Path below the section or row, dots for nested objects (``spinopelvic.pi``)."""
    label: str
    kind: Kind
    choices: tuple[str, ...] = ()
    help: str = ""
    group: str = ""
    """Sub-heading within the section (fields of one group are shown together)."""
    unit: str = ""
    """Unit shown after a number."""
    analyte: str = ""
    """For quantities: the analyte whose units the unit menu offers."""
    count: int = 0
    """For answers: the number of items."""
    top: int = 0
    """For answers: the highest answer."""
    item_labels: tuple[str, ...] = ()
    nullable: bool = False
    """For lists: ``none`` means "recorded, there are none" (else empty = not recorded)."""
    wide: bool = False
    required: bool = False
    """The case model needs it whenever its row or object is there."""

    @property
    def options(self) -> list[tuple[str, str]]:
        """(code, words) of each choice."""
        return [(c, label(c)) for c in self.choices]


@dataclass(frozen=True)
class Section:
    """A part of the case: an object (``patient``), a list of rows (``labs``) or the top level."""

    key: str
    title: str
    fields: tuple[Field, ...]
    repeat: bool = False
    item: str = ""
    """What one row is called (``lab result``)."""
    nullable: bool = False
    """A list whose absence means "not recorded" and ``[]`` means "none" (``allergies``)."""
    presence: bool = False
    """An object whose absence means "not documented", even with no field filled (``exam``)."""
    sub: Section | None = None
    """A list inside each row (the findings of an imaging study)."""
    help: str = ""
    anchor: str = ""

    @property
    def groups(self) -> list[tuple[str, list[Field]]]:
        """The fields by sub-heading, in order of first appearance."""
        out: dict[str, list[Field]] = {}
        for f in self.fields:
            out.setdefault(f.group, []).append(f)
        return list(out.items())


def _literals(tp: Any) -> list[str]:
    if get_origin(tp) is Literal:
        return [str(a) for a in get_args(tp)]
    if get_origin(tp) is typing.Annotated:
        return _literals(get_args(tp)[0])
    found: list[str] = []
    for arg in get_args(tp):
        found += _literals(arg)
    return found


def _model_field(model: type[BaseModel], name: str) -> Any:
    return model.model_fields[name]


def _auto_kind(tp: Any) -> Kind:
    args = [a for a in get_args(tp) if a is not type(None)] if _is_union(tp) else [tp]
    inner = args[0]
    if get_origin(inner) is typing.Annotated:
        inner = get_args(inner)[0]
    if inner is bool:
        return "tri"
    if get_origin(inner) is Literal:
        return "choice"
    if inner is int:
        return "int"
    if inner is float:
        return "float"
    if inner is datetime.date:
        return "date"
    if inner is cm.Quantity:
        return "quantity"
    return "text"


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (typing.Union, types.UnionType)


def _f(model: type[BaseModel], key: str, text: str = "", **kw: Any) -> Field:
    """A field of ``model``: kind, choices and help come from the case model."""
    name = key.rsplit(".", 1)[-1]
    info = _model_field(model, name)
    kind = kw.pop("kind", None) or _auto_kind(info.annotation)
    choices = tuple(dict.fromkeys(_literals(info.annotation)))
    help_text = kw.pop("help", None) or info.description or ""
    required = bool(info.is_required())
    return Field(key, text or label(name), kind, choices, help_text, required=required, **kw)


def _tris(model: type[BaseModel], group: str, *names: str) -> list[Field]:
    return [_f(model, n, group=group) for n in names]


_CASE = Section(
    "",
    "Case",
    (
        _f(
            cm.Case,
            "case_id",
            "Case id",
            help="Pseudonymous: letters, digits, '.', '_' or '-'; never a name or record number.",
        ),
        _f(cm.Case, "assessment_date", "Assessment date"),
        _f(cm.Case, "site", "Site"),
        _f(cm.Case, "surgeon", "Surgeon"),
    ),
    anchor="case",
)
_PATIENT = Section(
    "patient",
    "Patient",
    (
        _f(cm.Patient, "age", "Age", unit="years"),
        _f(cm.Patient, "birth_date", "Birth date"),
        _f(cm.Patient, "sex", "Sex"),
        _f(cm.Patient, "weight", "Weight", analyte="weight"),
        _f(cm.Patient, "height", "Height", analyte="height"),
        _f(cm.Patient, "mri_contraindicated", "MRI contraindicated"),
    ),
)
_SURGERIES = Section(
    "surgeries",
    "Prior spine surgeries",
    (
        _f(cm.Surgery, "date"),
        _f(cm.Surgery, "type"),
        _f(cm.Surgery, "region"),
        _f(cm.Surgery, "levels", kind="levels", help="Segments, e.g. L4-L5, L5-S1."),
        _f(cm.Surgery, "instrumented"),
        _f(cm.Surgery, "approach"),
        _f(cm.Surgery, "interbody", "Interbody cage"),
        _f(cm.Surgery, "complications", kind="multi", wide=True),
    ),
    repeat=True,
    item="surgery",
)
_SYMPTOMS = Section(
    "symptoms",
    "Symptoms",
    (
        _f(cm.Symptoms, "course", "Course since the last surgery", group="Course and pain"),
        _f(
            cm.Symptoms,
            "pain_free_interval_months",
            "Pain-free interval",
            unit="months",
            group="Course and pain",
        ),
        _f(cm.Symptoms, "onset_date", "Onset of current symptoms", group="Course and pain"),
        _f(
            cm.Symptoms,
            "pain_duration_months",
            "Pain duration",
            unit="months",
            group="Course and pain",
        ),
        _f(cm.Symptoms, "predominant_pain", group="Course and pain"),
        _f(cm.Symptoms, "radicular_side", "Side of leg pain", group="Course and pain"),
        _f(
            cm.Symptoms,
            "dermatomes",
            kind="roots",
            nullable=True,
            help="Roots, e.g. L5, S1; 'none' when there are none; empty when not recorded.",
            group="Course and pain",
        ),
        _f(cm.Symptoms, "pain_nrs", "Pain NRS (overall)", unit="0-10", group="Course and pain"),
        _f(cm.Symptoms, "back_pain_nrs", "Back pain NRS", unit="0-10", group="Course and pain"),
        _f(cm.Symptoms, "leg_pain_nrs", "Leg pain NRS", unit="0-10", group="Course and pain"),
        *_tris(
            cm.Symptoms,
            "Pain pattern",
            "axial_pain",
            "radicular_pain",
            "mechanical_pain",
            "neurogenic_claudication",
            "vascular_claudication",
            "buttock_pain",
            "groin_pain",
            "widespread_pain",
            "neuropathic_features",
            "stocking_distribution",
            "forward_stoop",
        ),
        *_tris(
            cm.Symptoms, "Neurology", "numbness", "tingling", "weakness", "weakness_progressive"
        ),
        *_tris(
            cm.Symptoms,
            "Red flags",
            "bowel_bladder_dysfunction",
            "saddle_anaesthesia",
            "fever",
            "chills",
            "night_sweats",
            "weight_loss",
            "night_pain",
            "wound_drainage",
            "recent_trauma",
            "sudden_severe_pain",
            "red_flag_screen_negative",
        ),
    ),
)
_COMORBIDITIES = Section(
    "comorbidities",
    "Comorbidities",
    (
        _f(cm.Comorbidities, "smoking_status", group="Smoking"),
        _f(cm.Comorbidities, "smoking_quit_date", "Quit date", group="Smoking"),
        _f(cm.Comorbidities, "cigarettes_per_day", group="Smoking"),
        _f(cm.Comorbidities, "nicotine_replacement", group="Smoking"),
        _f(cm.Comorbidities, "cancer", group="Smoking"),
        *_tris(
            cm.Comorbidities,
            "Conditions",
            "diabetes",
            "osteoporosis",
            "depression",
            "anxiety",
            "fibromyalgia",
            "hip_osteoarthritis",
            "peripheral_neuropathy",
            "peripheral_vascular_disease",
            "immunosuppression",
            "long_term_steroids",
            "renal_failure",
            "prior_spine_infection",
            "mrsa_colonisation",
            "prior_vte",
            "thrombophilia",
            "iv_drug_use",
            "substance_use",
        ),
    ),
)
_ALLERGIES = Section(
    "allergies",
    "Drug allergies",
    (_f(cm.Allergy, "substance"), _f(cm.Allergy, "reaction"), _f(cm.Allergy, "severity")),
    repeat=True,
    item="allergy",
    nullable=True,
    help="'None' records no known drug allergies; 'not recorded' leaves them unknown.",
)
_PSYCHOSOCIAL = Section(
    "psychosocial",
    "Psychosocial",
    (
        _f(cm.Psychosocial, "phq9_total", "PHQ-9 total", unit="0-27"),
        _f(cm.Psychosocial, "phq9_item9", "PHQ-9 item 9", unit="0-3"),
        _f(cm.Psychosocial, "pain_catastrophizing_total", "PCS total", unit="0-52"),
        _f(cm.Psychosocial, "start_back_risk", "STarT Back risk"),
        _f(cm.Psychosocial, "opioid_mme_per_day", "Opioids", unit="MME/day"),
        _f(cm.Psychosocial, "daily_opioid_use"),
        _f(cm.Psychosocial, "litigation_or_compensation"),
        _f(cm.PsychEvaluation, "evaluation.date", "Psychological evaluation: date"),
        _f(cm.PsychEvaluation, "evaluation.outcome", "Psychological evaluation: outcome"),
    ),
)
_EXAM = Section(
    "exam",
    "Examination",
    (
        _f(cm.Exam, "date"),
        _f(cm.Exam, "wound"),
        _f(cm.Exam, "dermatomal_deficit"),
        _f(cm.Exam, "deficit_dermatomes", kind="roots", help="Roots, e.g. L5."),
        _f(cm.Exam, "deficit_side"),
        _f(cm.Exam, "motor_deficit"),
        _f(cm.Exam, "straight_leg_raise"),
        _f(cm.Exam, "straight_leg_raise_side", "Straight leg raise side"),
        _f(cm.Exam, "hip_exam", "Hip examination"),
        _f(cm.Exam, "si_provocation_positive", "Positive SI provocation tests", unit="of 6"),
        _f(cm.Exam, "psis_tenderness", "PSIS tenderness"),
        _f(cm.Exam, "distal_pulses"),
        _f(cm.Exam, "stocking_sensory_loss"),
        _f(cm.Exam, "post_void_residual_ml", "Post-void residual", unit="mL"),
    ),
    presence=True,
    help="'Not documented' with every field empty means no documented examination.",
)
_FINDINGS = Section(
    "findings",
    "Findings",
    (
        _f(cm.ImagingFinding, "finding"),
        _f(cm.ImagingFinding, "levels", kind="levels"),
        _f(cm.ImagingFinding, "side"),
    ),
    repeat=True,
    item="finding",
    nullable=True,
    help="'None' when the report shows none of these; 'not recorded' when the report is not at hand.",
)
_IMAGING = Section(
    "imaging",
    "Imaging",
    (
        _f(cm.ImagingStudy, "modality"),
        _f(cm.ImagingStudy, "date"),
        _f(cm.ImagingStudy, "limited_by_artifact"),
        _f(cm.ImagingStudy, "fusion_motion_deg", "Motion on flexion-extension", unit="°"),
        _f(cm.Spinopelvic, "spinopelvic.pi", "PI", unit="°", group="Spinopelvic parameters"),
        _f(
            cm.Spinopelvic, "spinopelvic.ll", "LL (L1-S1)", unit="°", group="Spinopelvic parameters"
        ),
        _f(cm.Spinopelvic, "spinopelvic.pt", "PT", unit="°", group="Spinopelvic parameters"),
        _f(
            cm.Spinopelvic,
            "spinopelvic.sva",
            "SVA",
            analyte="length",
            group="Spinopelvic parameters",
        ),
    ),
    repeat=True,
    item="study",
    sub=_FINDINGS,
)
_LABS = Section(
    "labs",
    "Laboratory",
    (
        _f(cm.LabResult, "test"),
        _f(cm.LabResult, "value"),
        _f(cm.LabResult, "unit", kind="choice"),
        _f(cm.LabResult, "date", "Specimen date"),
    ),
    repeat=True,
    item="lab result",
)
_BLOCKS = Section(
    "blocks",
    "Diagnostic blocks",
    (
        _f(cm.DiagnosticBlock, "type"),
        _f(cm.DiagnosticBlock, "date"),
        _f(cm.DiagnosticBlock, "level", kind="level"),
        _f(cm.DiagnosticBlock, "side"),
        _f(cm.DiagnosticBlock, "pre_nrs", "NRS before", unit="0-10"),
        _f(cm.DiagnosticBlock, "post_nrs", "NRS after", unit="0-10"),
        _f(cm.DiagnosticBlock, "percent_relief", "Relief", unit="%"),
        _f(cm.DiagnosticBlock, "concordant"),
        _f(cm.DiagnosticBlock, "controlled"),
    ),
    repeat=True,
    item="block",
)
_EDX = Section(
    "electrodiagnostics",
    "Electrodiagnostics (EMG / NCS)",
    (
        _f(cm.Electrodiagnostic, "date"),
        _f(cm.Electrodiagnostic, "result"),
        _f(cm.Electrodiagnostic, "roots", kind="roots", help="Roots, e.g. L5, S1."),
        _f(cm.Electrodiagnostic, "side"),
    ),
    repeat=True,
    item="study",
)
_EVALUATIONS = Section(
    "evaluations",
    "Hip and vascular evaluation",
    (
        _f(cm.HipEvaluation, "hip.date", "Hip evaluation: date", group="Hip"),
        _f(cm.HipEvaluation, "hip.result", "Hip evaluation: result", group="Hip"),
        _f(cm.VascularStudy, "vascular.date", "Vascular study: date", group="Vascular"),
        _f(
            cm.VascularStudy,
            "vascular.ankle_brachial_index",
            "Ankle-brachial index",
            group="Vascular",
        ),
        _f(cm.VascularStudy, "vascular.result", "Vascular study: result", group="Vascular"),
    ),
)
_PROMS = Section(
    "proms",
    "Questionnaires (PROMs)",
    (
        _f(cm.PromEntry, "date", "Visit date"),
        _f(cm.PromEntry, "nrs_back", "NRS back", unit="0-10"),
        _f(cm.PromEntry, "nrs_leg", "NRS leg", unit="0-10"),
        _f(
            cm.PromEntry,
            "odi_answers",
            "Oswestry Disability Index",
            kind="answers",
            count=10,
            top=5,
            item_labels=tuple(s[:1].upper() + s[1:] for s in ODI_SECTIONS),
            help="Each section 0 (no problem) to 5 (worst statement).",
            wide=True,
        ),
        _f(
            cm.PromEntry,
            "phq9_answers",
            "PHQ-9",
            kind="answers",
            count=9,
            top=3,
            item_labels=PHQ9_ITEMS,
            help="Over the last 2 weeks: 0 not at all, 1 several days, 2 more than half the days, "
            "3 nearly every day. The assessment reads the PHQ-9 total and item 9 under "
            "Psychosocial: copy them there.",
            wide=True,
        ),
    ),
    repeat=True,
    item="visit",
    help="One row per visit; the ODI and PHQ-9 are scored as you answer.",
)
_PLANNED = Section(
    "planned_procedure",
    "Planned revision",
    (
        _f(cm.PlannedProcedure, "procedure"),
        _f(cm.PlannedProcedure, "levels", kind="levels", help="Segments, e.g. L4-L5."),
        _f(cm.PlannedProcedure, "expected_duration_min", "Expected duration", unit="min"),
    ),
)

SECTIONS: tuple[Section, ...] = (
    _CASE,
    _PATIENT,
    _SURGERIES,
    _SYMPTOMS,
    _COMORBIDITIES,
    _ALLERGIES,
    _PSYCHOSOCIAL,
    _EXAM,
    _IMAGING,
    _LABS,
    _BLOCKS,
    _EDX,
    _EVALUATIONS,
    _PROMS,
    _PLANNED,
)
"""The form, in the order of the pathway."""

LAB_TESTS: tuple[str, ...] = _LABS.fields[0].choices


def unit_options(test: str, current: str = "") -> list[str]:
    """Units offered for a lab test or body measurement (``known_units``), canonical first; the
    current unit is kept even when it is not in the table (pint accepts more)."""
    units = list(known_units(test)) if test in LAB_TESTS or test in _QUANTITY_ANALYTES else []
    if current and current not in units:
        units.append(current)
    return units


_QUANTITY_ANALYTES = ("weight", "height", "length")


# -- names --------------------------------------------------------------------------------------
def field_name(prefix: str, f: Field) -> str:
    """The control name of ``f`` under ``prefix`` (``labs[2]`` + ``unit`` → ``labs[2].unit``)."""
    return f"{prefix}.{f.key}" if prefix else f.key


def state_name(prefix: str) -> str:
    """The name of the "not recorded / none / as listed" choice of a list (``allergies#state``)."""
    return f"{prefix}#state"


def _row_re(prefix: str) -> re.Pattern[str]:
    return re.compile(re.escape(prefix) + r"\[(\d+)\]")


def row_indices(values: Mapping[str, str], prefix: str) -> list[int]:
    """The row numbers present under a list ``prefix`` (``labs``), ascending."""
    pattern = _row_re(prefix)
    found = {int(m.group(1)) for k in values if (m := pattern.match(k))}
    return sorted(found)


def normalise(values: Mapping[str, str]) -> FormValues:
    """Trimmed text values (rows keep the numbers they have on the page)."""
    return {k: v.strip() for k, v in values.items() if isinstance(v, str)}


def control_names(values: Mapping[str, str]) -> list[str]:
    """Every control name the form shows for ``values``, in page order (with ``as_of``)."""
    names = ["as_of"]
    for section in SECTIONS:
        names += _section_names(section, section.key, values)
    return names


def _section_names(section: Section, prefix: str, values: Mapping[str, str]) -> list[str]:
    if not section.repeat:
        names = [state_name(prefix)] if section.presence else []
        for f in section.fields:
            names += _field_names(field_name(prefix, f), f)
        return names
    names = [state_name(prefix)] if section.nullable else []
    for i in row_indices(values, prefix):
        row = f"{prefix}[{i}]"
        for f in section.fields:
            names += _field_names(field_name(row, f), f)
        if section.sub is not None:
            names += _section_names(section.sub, f"{row}.{section.sub.key}", values)
    return names


def _field_names(name: str, f: Field) -> list[str]:
    if f.kind == "quantity":
        return [f"{name}.value", f"{name}.unit"]
    if f.kind == "answers":
        return [f"{name}[{k}]" for k in range(f.count)]
    if f.kind == "multi":
        return [f"{name}#{c}" for c in f.choices]
    return [name]


# -- form values → case document ----------------------------------------------------------------
_INT = re.compile(r"^[+-]?\d+$")
_LIST_SPLIT = re.compile(r"[,;\s]+")
_DASH = re.compile(r"\s*[-–/]\s*")


def _number(text: str, kind: Kind) -> Any:
    if kind == "int":
        return int(text) if _INT.match(text) else text
    candidate = text.replace(",", ".") if text.count(",") == 1 and "." not in text else text
    try:
        return float(candidate)
    except ValueError:
        return text


def _items(text: str) -> list[str]:
    return [t for t in _LIST_SPLIT.split(_DASH.sub("-", text)) if t]


def _value(values: Mapping[str, str], name: str, f: Field) -> Any:
    """The case value of one field, or None when it is empty (unknown)."""
    if f.kind == "quantity":
        number = values.get(f"{name}.value", "")
        if not number:
            return None
        return {"value": _number(number, "float"), "unit": values.get(f"{name}.unit", "")}
    if f.kind == "answers":
        answers = [values.get(f"{name}[{k}]", "") for k in range(f.count)]
        if not any(answers):
            return None
        return [_number(a, "int") if a else None for a in answers]
    if f.kind == "multi":
        chosen = [c for c in f.choices if values.get(f"{name}#{c}")]
        return chosen or None
    text = values.get(name, "")
    if not text:
        return None
    if f.kind == "tri":
        return {"yes": True, "no": False}.get(text, text)
    if f.kind in ("int", "float"):
        return _number(text, f.kind)
    if f.kind in ("levels", "roots"):
        if f.nullable and text.lower() == NONE_WORD:
            return []
        return _items(text)
    return text


def _put(target: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value


PathMap = dict[str, str]
"""Row prefixes of the case document → row prefixes of the form (``labs[1]`` → ``labs[3]``)."""


def _object(
    section: Section, prefix: str, values: Mapping[str, str], paths: PathMap, at: str
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in section.fields:
        value = _value(values, field_name(prefix, f), f)
        if value is not None:
            _put(out, f.key, value)
    if section.sub is not None:
        key = section.sub.key
        rows = _rows(section.sub, f"{prefix}.{key}", values, paths, f"{at}.{key}")
        if rows is not None:
            out[key] = rows
    return out


def _blank(values: Mapping[str, str], row: str) -> bool:
    """A row with nothing typed or chosen (a unit menu or a list state alone does not count)."""
    return not any(
        v
        for k, v in values.items()
        if k.startswith(row)
        and k[len(row) : len(row) + 1] in (".", "#")
        and not k.endswith((".unit", "#state"))
    )


def _rows(
    section: Section, prefix: str, values: Mapping[str, str], paths: PathMap, at: str
) -> list[Any] | None:
    rows: list[Any] = []
    for i in row_indices(values, prefix):
        if _blank(values, f"{prefix}[{i}]"):
            continue
        case_row = f"{at}[{len(rows)}]"
        row = _object(section, f"{prefix}[{i}]", values, paths, case_row)
        if row:
            paths[case_row] = f"{prefix}[{i}]"
            rows.append(row)
    if rows:
        return rows
    if section.nullable:
        return [] if values.get(state_name(prefix)) == "none" else None
    return None


def to_case(values: Mapping[str, str], paths: PathMap | None = None) -> dict[str, Any]:
    """The case document of form values; empty controls and blank rows are left out.

    ``paths``, when given, receives where each row of the document came from, for
    :func:`control_path`."""
    paths = {} if paths is None else paths
    doc: dict[str, Any] = {}
    for section in SECTIONS:
        if section.repeat:
            rows = _rows(section, section.key, values, paths, section.key)
            if rows is not None:
                doc[section.key] = rows
            continue
        obj = _object(section, section.key, values, paths, section.key)
        if not section.key:
            doc.update(obj)
        elif obj or (section.presence and values.get(state_name(section.key))):
            doc[section.key] = obj
    return doc


def control_path(path: str, paths: Mapping[str, str]) -> str:
    """A case-document path as the form names it (blank rows are not in the document, so
    ``labs[1].unit`` may be the control ``labs[3].unit``)."""
    best = max(
        (k for k in paths if path == k or path.startswith((f"{k}.", f"{k}["))),
        key=len,
        default=None,
    )
    return path if best is None else paths[best] + path[len(best) :]


# -- case document → form values ----------------------------------------------------------------
def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def _get(source: Mapping[str, Any], dotted: str) -> Any:
    value: Any = source
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _emit(out: FormValues, name: str, f: Field, value: Any) -> None:
    if value is None:
        return
    if f.kind == "quantity" and isinstance(value, Mapping):
        out[f"{name}.value"] = _text(value.get("value"))
        out[f"{name}.unit"] = str(value.get("unit", ""))
    elif f.kind == "answers" and isinstance(value, Sequence):
        for k, answer in enumerate(value):
            if answer is not None:
                out[f"{name}[{k}]"] = _text(answer)
    elif f.kind == "multi" and isinstance(value, Sequence):
        for choice in value:
            out[f"{name}#{choice}"] = "on"
    elif f.kind in ("levels", "roots") and isinstance(value, Sequence):
        if value:
            out[name] = ", ".join(str(v) for v in value)
        elif f.nullable:
            out[name] = NONE_WORD
    else:
        out[name] = _text(value)


def _emit_object(out: FormValues, section: Section, prefix: str, obj: Mapping[str, Any]) -> None:
    for f in section.fields:
        _emit(out, field_name(prefix, f), f, _get(obj, f.key))
    if section.sub is not None:
        _emit_rows(out, section.sub, f"{prefix}.{section.sub.key}", obj.get(section.sub.key))


def _emit_rows(out: FormValues, section: Section, prefix: str, rows: Any) -> None:
    if rows is None:
        return
    if section.nullable:
        out[state_name(prefix)] = "listed" if rows else "none"
    for i, row in enumerate(rows):
        if isinstance(row, Mapping):
            _emit_object(out, section, f"{prefix}[{i}]", row)


def from_case(doc: Mapping[str, Any]) -> FormValues:
    """The form values of a case document (the JSON form of a case, as stored)."""
    out: FormValues = {}
    for section in SECTIONS:
        if section.repeat:
            _emit_rows(out, section, section.key, doc.get(section.key))
            continue
        obj = doc if not section.key else doc.get(section.key)
        if not isinstance(obj, Mapping):
            continue
        if section.presence:
            out[state_name(section.key)] = "documented"
        _emit_object(out, section, section.key, obj)
    return out


# -- problems next to their controls ------------------------------------------------------------
_LAST_PART = re.compile(r"(\.[^.\[\]]+|\[\d+\]|#[^.]*)$")


def _control_for(path: str, names: Sequence[str], known: set[str]) -> str | None:
    while path:
        if path in known:
            return path
        child = next((n for n in names if n.startswith((f"{path}.", f"{path}[", f"{path}#"))), None)
        if child is not None:
            return child
        shorter = _LAST_PART.sub("", path)
        if shorter == path:
            return None
        path = shorter
    return None


@dataclass
class Placed:
    """Validation problems by control name, and those that belong to no control."""

    by_control: dict[str, list[str]] = field(default_factory=dict)
    general: list[dict[str, str]] = field(default_factory=list)
    summary: list[dict[str, str]] = field(default_factory=list)
    """Every problem with the control it was placed at (``control`` is ``""`` when none)."""


def place_problems(problems: Sequence[Mapping[str, str]], names: Sequence[str]) -> Placed:
    """Put each ``{"path", "message"}`` next to the control with that name, else its nearest
    enclosing control (``patient.weight`` → ``patient.weight.value``), else in ``general``."""
    known = set(names)
    placed = Placed()
    for problem in problems:
        path, message = problem.get("path", ""), problem.get("message", "")
        control = _control_for(path, names, known)
        if control is None:
            placed.general.append({"path": path, "message": message})
        else:
            placed.by_control.setdefault(control, []).append(message)
        placed.summary.append({"path": path, "message": message, "control": control or ""})
    return placed


# -- questionnaire scores -----------------------------------------------------------------------
def _answers(values: Mapping[str, str], name: str, count: int) -> list[int | None] | None:
    out: list[int | None] = []
    for k in range(count):
        text = values.get(f"{name}[{k}]", "").strip()
        if not text:
            out.append(None)
        elif _INT.match(text):
            out.append(int(text))
        else:
            return None
    return out


def _odi_text(answers: list[int | None], max_missing: int) -> str:
    try:
        result = odi(answers, max_missing)
    except ValueError as exc:
        return str(exc)
    if not result.valid or result.percent is None:
        return f"ODI not valid: {result.answered} of 10 sections answered"
    band = (result.band or "").replace("_", " ")
    missing = "" if result.answered == 10 else f", {result.answered} of 10 answered"
    return f"ODI {result.percent:.0f} % ({band}{missing})"


def _phq9_text(answers: list[int | None]) -> str:
    try:
        result = phq9(answers)
    except ValueError as exc:
        return str(exc)
    item9 = " · item 9 positive: ask about safety today" if result.item9_positive else ""
    if result.total is None:
        answered = sum(a is not None for a in answers)
        return f"PHQ-9 incomplete ({answered} of 9 answered){item9}"
    return f"PHQ-9 {result.total} ({(result.band or '').replace('_', ' ')}){item9}"


def _phq9_total(answers: list[int | None]) -> int | None:
    try:
        return phq9(answers).total
    except ValueError:
        return None


def prom_scores(values: Mapping[str, str], odi_max_missing: int = 2) -> dict[str, dict[str, str]]:
    """The ODI and PHQ-9 scores of each questionnaire row, as text (``{"proms[0]": {"odi": …}}``);
    a row's score is left out when none of its items is answered. ``phq9_total`` and
    ``phq9_item9`` (numbers as text) are what the form may copy to Psychosocial, which is where
    the assessment reads the PHQ-9. ``odi_max_missing`` is the
    knowledge base's ``proms.odi_max_missing_sections`` (what the engine uses)."""
    out: dict[str, dict[str, str]] = {}
    for i in row_indices(values, _PROMS.key):
        row = f"{_PROMS.key}[{i}]"
        scores: dict[str, str] = {}
        odi_answers = _answers(values, f"{row}.odi_answers", 10)
        if odi_answers is not None and any(a is not None for a in odi_answers):
            scores["odi"] = _odi_text(odi_answers, odi_max_missing)
        phq = _answers(values, f"{row}.phq9_answers", 9)
        if phq is not None and any(a is not None for a in phq):
            scores["phq9"] = _phq9_text(phq)
            total = _phq9_total(phq)
            if total is not None:  # what "copy to Psychosocial" puts there
                scores["phq9_total"] = str(total)
            if phq[8] is not None:
                scores["phq9_item9"] = str(phq[8])
        out[row] = scores
    return out


# -- what the page template needs ---------------------------------------------------------------
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def control_id(name: str) -> str:
    """The HTML id of the control named ``name`` (``labs[2].unit`` → ``f-labs-2-unit``)."""
    return "f-" + _ID_UNSAFE.sub("-", name).strip("-")


@dataclass
class FormView:
    """Values, problems, scores and extra blank rows of one rendering of the form."""

    values: FormValues = field(default_factory=dict)
    placed: Placed = field(default_factory=Placed)
    scores: dict[str, dict[str, str]] = field(default_factory=dict)
    extra_rows: dict[str, int] = field(default_factory=dict)

    def value(self, name: str) -> str:
        """The text of a control (``""`` when empty)."""
        return self.values.get(name, "")

    def errors(self, name: str) -> list[str]:
        """The problems placed at a control."""
        return self.placed.by_control.get(name, [])

    def rows(self, prefix: str) -> list[int]:
        """Row numbers to show under a list: the filled ones and any blank ones asked for."""
        present = row_indices(self.values, prefix)
        start = present[-1] + 1 if present else 0
        return present + list(range(start, start + self.extra_rows.get(prefix, 0)))

    def next_index(self, prefix: str) -> int:
        """The number a new row (added in the browser) starts from."""
        shown = self.rows(prefix)
        return shown[-1] + 1 if shown else 0

    def score(self, row: str, key: str) -> str:
        """A questionnaire score of a row (``""`` when nothing is answered)."""
        return self.scores.get(row, {}).get(key, "")

    def unit_choices(self, test: str, current: str) -> list[tuple[str, str]]:
        """(UCUM unit, label) for a lab test or quantity; every lab unit when no test is set."""
        if test:
            units = unit_options(test, current)
        else:
            units = list(dict.fromkeys(u for t in LAB_TESTS for u in known_units(t)))
            if current and current not in units:
                units.append(current)
        return [(u, unit_label(u)) for u in units]


def lab_units_map() -> dict[str, list[list[str]]]:
    """Every lab test's units as ``[[ucum, label], …]`` (the page's script switches the unit
    menu when the test changes)."""
    return {t: [[u, unit_label(u)] for u in known_units(t)] for t in LAB_TESTS}


def posted_values(items: Iterable[tuple[str, Any]]) -> FormValues:
    """Form values from posted (name, value) pairs; files and page controls are dropped."""
    return {
        k: v
        for k, v in items
        if isinstance(v, str)
        and not k.startswith("_")
        and k not in ("csrf_token", "expected_version")
    }
