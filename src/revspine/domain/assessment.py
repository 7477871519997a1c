"""The output contract: an explainable assessment (``schema_version`` 1.0).

Every item carries the id of the rule that produced it, the patient facts that fired it and
the evidence (REFERENCE.md source numbers). The assessment is advice for a clinician, never an
order (FDA CDS guidance criterion 4).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

ASSESSMENT_SCHEMA_VERSION: Literal["1.0"] = "1.0"

INTENDED_USE = (
    "revspine supports spine surgeons and their teams evaluating adults with persistent or "
    "recurrent pain after spine surgery (FBSS / PSPS-T2). It lists possible causes, missing "
    "workup, a suggested disposition and peri-operative options, each with its reasons, the "
    "patient facts used and the evidence, so that the clinician can review the basis "
    "independently. It does not diagnose, analyse images or signals, or replace clinical "
    "judgement; every output is a recommendation for a qualified clinician."
)

Disposition = Literal["urgent", "incomplete_workup", "non_surgical", "surgical_candidate"]
Likelihood = Literal["high", "moderate", "low"]
Cause = Literal[
    "infection",
    "pseudarthrosis",
    "hardware_failure",
    "hardware_malposition",
    "adjacent_segment_disease",
    "recurrent_disc_herniation",
    "residual_stenosis",
    "epidural_fibrosis",
    "sagittal_imbalance",
    "instability",
    "inadequate_decompression_or_wrong_level",
    "hip_pathology",
    "sacroiliac_joint",
    "peripheral_neuropathy",
    "vascular_claudication",
    "widespread_pain_syndrome",
    "psychosocial_contributors",
    "smoking",
]
WorkupTest = Literal[
    "history_and_exam",
    "xray",
    "flexion_extension_xray",
    "standing_full_spine_xray",
    "ct",
    "ct_myelogram",
    "mri_with_contrast",
    "esr",
    "crp",
    "wbc",
    "blood_cultures",
    "albumin",
    "transferrin",
    "total_lymphocyte_count",
    "prealbumin",
    "hba1c",
    "vitamin_d",
    "emg_ncs",
    "selective_nerve_root_block",
    "facet_block",
    "pars_block",
    "si_joint_block",
    "hip_evaluation",
    "vascular_studies",
    "psychological_evaluation",
]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


_M = TypeVar("_M", bound=_Out)
_new = object.__new__
_setattr = object.__setattr__
# The slots pydantic keeps beside ``__dict__``, set through their descriptors.
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__
_ALL_SET: dict[type[_Out], set[str]] = {}


def trusted(cls: type[_M], values: dict[str, Any], fields_set: set[str] | None = None) -> _M:
    """An instance of ``cls`` built without validation, for output items the engine produces
    itself: ``values`` must name every field (by field name, not alias) in declaration order,
    each already of its declared type and not shared with anything that changes later (pass
    copies of lists and dicts). The result equals and serialises exactly like ``cls(**values)``,
    with every field marked as set (or only ``fields_set``, a set of its own, when given).
    Instances of a class with every field set share one fields-set object holding all field
    names (pydantic only ever adds field names to it, so it never changes): one object fewer per
    item for the garbage collector."""
    return _fill(_new(cls), values, _all_set(cls) if fields_set is None else fields_set)


def trusted_maker(cls: type[_M]) -> Callable[[dict[str, Any]], _M]:
    """``trusted`` specialised to ``cls`` with every field set: for the items built most often."""
    fields_set = _all_set(cls)

    def make(values: dict[str, Any]) -> _M:
        return _fill(_new(cls), values, fields_set)

    return make


def _all_set(cls: type[_Out]) -> set[str]:
    """The fields-set shared by the instances of ``cls`` with every field set."""
    found = _ALL_SET.get(cls)
    if found is None:
        found = _ALL_SET[cls] = set(cls.model_fields)
    return found


def _fill(obj: _M, values: dict[str, Any], fields_set: set[str]) -> _M:
    """``obj`` (a bare instance) given ``values`` and ``fields_set`` as validation would."""
    _setattr(obj, "__dict__", values)
    _set_fields_set(obj, fields_set)
    _set_extra(obj, None)
    _set_private(obj, None)
    return obj


class _Shared(_Out):
    """An output item the engine may share between assessments (one instance for every
    identical item): frozen, so that no consumer can change one patient's item through
    another's assessment."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Fact(_Shared):
    """One patient fact a rule used: the case field path and its value (``null`` = unknown)."""

    field: str
    value: Any = None


class Finding(_Out):
    """A finding for or against a cause."""

    text: str
    strength: Literal["confirmatory", "supporting", "weak"] = "supporting"
    rule_id: str
    facts: list[Fact] = Field(default_factory=list)


class RedFlag(_Out):
    """A finding that needs same-day evaluation."""

    code: str
    rationale: str
    action: str
    rule_id: str
    facts: list[Fact] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)


class CauseAssessment(_Out):
    """One cause in the ranked differential."""

    cause: Cause
    likelihood: Likelihood
    rank: int
    for_: list[Finding] = Field(default_factory=list, alias="for")
    against: list[Finding] = Field(default_factory=list)
    surgically_correctable: bool
    rule_ids: list[str] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)


class WorkupItem(_Out):
    """A test or evaluation still missing, and why."""

    test: WorkupTest
    priority: Literal["urgent", "routine"]
    reason: str
    blocks_decision: bool = Field(
        description="True when no disposition beyond 'incomplete_workup' is safe without it."
    )
    rule_id: str
    facts: list[Fact] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)


class Recommendation(_Out):
    """An option for the clinician (optimisation, planning, post-op order, non-surgical care)."""

    code: str
    text: str
    status: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    rule_id: str
    facts: list[Fact] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)
    unverified: bool = Field(False, description="Relies on a fact REFERENCE.md marks unverified.")


class MissingData(_Shared):
    """An input that was unknown and mattered to a rule."""

    field: str
    why: str
    rule_id: str


class Warning(_Out):
    """A problem with the input or its interpretation (implausible, stale, too early)."""

    code: str
    message: str
    field: str | None = None
    rule_id: str | None = None


class DispositionResult(_Out):
    """The suggested next step and why."""

    code: Disposition
    summary: str
    reasons: list[str]
    rule_id: str
    facts: list[Fact] = Field(default_factory=list)


class KnowledgeInfo(_Out):
    """Which knowledge base produced this assessment."""

    id: str
    version: str
    sha256: str
    overrides: list[dict[str, Any]] = Field(default_factory=list)


class Derived(_Out):
    """Values computed from the case (shown so the clinician can check them)."""

    age: int | None = None
    bmi: float | None = None
    prior_surgeries: int = 0
    last_surgery_date: date | None = None
    days_since_last_surgery: int | None = None
    time_window: Literal["W0", "W1", "W2", "W3"] | None = None
    fusion_in_history: bool = False
    odi_percent: float | None = None
    odi_acceptable_state: bool | None = Field(
        None, description="ODI ≤ 22, the patient-acceptable symptom state [48]."
    )
    phq9_total: int | None = None
    caprini_score: int | None = None
    prior_ops_odds_ratio: float | None = None


class HypotheticalResult(_Out):
    """One plausible result of a missing test and the disposition the case would then reach.

    Hypothetical: computed on a copy of the case, never a patient fact."""

    result: str = Field(description="Result code, e.g. 'raised', 'positive_L5', 'normal'.")
    label: str = Field(description="The hypothetical result in words, with value and unit.")
    disposition: Disposition = Field(
        description="Disposition with this result added and nothing else changed."
    )
    still_blocking: list[WorkupTest] = Field(
        default_factory=list, description="Tests that would still block the decision."
    )
    with_rest: list[Disposition] = Field(
        default_factory=list,
        description="Dispositions reachable once the other blocking tests have results too "
        "(every combination of their plausible results); empty when no other test blocks or "
        "there are too many combinations.",
    )


class SensitivityItem(_Out):
    """A missing test: its plausible results and the disposition each would lead to."""

    test: WorkupTest
    blocks_decision: bool
    simulated: bool = Field(
        True, description="False when the case model cannot represent the test's results."
    )
    note: str | None = None
    results: list[HypotheticalResult] = Field(default_factory=list)
    outcomes: int = Field(0, description="Number of distinct dispositions across the results.")
    decisive: bool = Field(
        False, description="True when at least two results lead to different dispositions."
    )
    decisive_with_rest: bool = Field(
        False,
        description="True when, with the other blocking tests completed, the results lead to "
        "different sets of possible dispositions.",
    )


class Assessment(_Out):
    """The full, explainable assessment of one case."""

    schema_version: Literal["1.0"] = ASSESSMENT_SCHEMA_VERSION
    case_id: str | None = None
    as_of: date
    intended_use: str = INTENDED_USE
    knowledge: KnowledgeInfo
    disposition: DispositionResult
    red_flags: list[RedFlag] = Field(default_factory=list)
    differential: list[CauseAssessment] = Field(default_factory=list)
    workup: list[WorkupItem] = Field(default_factory=list)
    optimisation: list[Recommendation] = Field(default_factory=list)
    surgical_planning: list[Recommendation] = Field(default_factory=list)
    postop_orders: list[Recommendation] = Field(default_factory=list)
    nonsurgical_plan: list[Recommendation] = Field(default_factory=list)
    missing_data: list[MissingData] = Field(default_factory=list)
    warnings: list[Warning] = Field(default_factory=list)
    derived: Derived
    rules_fired: list[str] = Field(default_factory=list)
    sensitivity: list[SensitivityItem] = Field(
        default_factory=list,
        description="Decision sensitivity (opt-in; incomplete workup only): each missing test's "
        "plausible results and the disposition each would lead to, most decisive first. "
        "Hypothetical results, not patient data.",
    )
