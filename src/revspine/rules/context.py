"""Derived facts about one case, computed once per assessment, and the result being built.

Rules read the case only through this context so that "unknown" stays unknown: helpers return
``None`` when a fact is not recorded, and the engine turns what mattered into ``missing_data``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from operator import attrgetter
from typing import Any

from revspine._memo import remember
from revspine.domain.assessment import (
    Fact,
    Finding,
    MissingData,
    Recommendation,
    RedFlag,
    Warning,
    trusted_maker,
)
from revspine.domain.case import (
    Case,
    Comorbidities,
    Exam,
    ImagingStudy,
    LabResult,
    Patient,
    Psychosocial,
    Surgery,
    Symptoms,
    vertebra_index,
)
from revspine.domain.units import to_canonical
from revspine.knowledge import Knowledge

DAYS_PER_MONTH = 365.25 / 12

_fact = trusted_maker(Fact)
_warning = trusted_maker(Warning)
_missing_data = trusted_maker(MissingData)
_red_flag = trusted_maker(RedFlag)
_recommendation = trusted_maker(Recommendation)
_new_finding = trusted_maker(Finding)

#: Output items that are the same in every assessment that emits them, made once and shared
#: between assessments (bounded memos): a fact recorded as unknown, a fact recorded as True, a
#: missing-data entry (field, why, rule id). Sharing is safe because ``Fact`` and ``MissingData``
#: are frozen models (an assignment raises; rules and the engine make new items instead); it
#: saves building ~20 identical objects per assessment (and the garbage collector tracking them).
_UNKNOWN_FACTS: dict[str, Fact] = {}
_TRUE_FACTS: dict[str, Fact] = {}
_MISSING_DATA: dict[tuple[str, str, str], MissingData] = {}


def _shared_fact(path: str, value: bool | None) -> Fact:
    """The shared ``Fact(field=path, value=value)`` for a value of None or True (one memo per
    value, never keyed by the value itself: ``True == 1``)."""
    memo = _UNKNOWN_FACTS if value is None else _TRUE_FACTS
    found = memo.get(path)
    if found is None:
        found = remember(memo, path, _fact({"field": path, "value": value}))
    return found


#: Red-flag symptoms that a recorded negative red-flag screen covers.
SCREENED_RED_FLAGS = frozenset(
    {
        "symptoms.bowel_bladder_dysfunction",
        "symptoms.saddle_anaesthesia",
        "symptoms.weakness",
        "symptoms.weakness_progressive",
        "symptoms.fever",
        "symptoms.chills",
        "symptoms.wound_drainage",
        "symptoms.weight_loss",
        "symptoms.night_pain",
        "symptoms.recent_trauma",
        "symptoms.sudden_severe_pain",
    }
)
#: Imaging findings that mean infection.
INFECTION_FINDINGS = frozenset({"discitis_osteomyelitis", "epidural_abscess"})
#: Cross-sectional modalities that show neural compression and soft tissue.
CROSS_SECTIONAL = frozenset({"mri", "mri_with_contrast", "ct_myelogram"})
MRI = frozenset({"mri", "mri_with_contrast"})

#: Case paths read by :meth:`Ctx.get` outside ``_SECTIONS``, split once: (first part, the
#: other parts).
_PATHS: dict[str, tuple[str, tuple[str, ...]]] = {}


def _split(path: str) -> tuple[str, tuple[str, ...]]:
    head, *rest = path.split(".")
    return head, tuple(rest)


def _section(
    head: str, model: type[Any]
) -> tuple[str, tuple[str, ...], Callable[[Any], tuple[Any, ...]]]:
    names = tuple(model.model_fields)
    if len(names) < 2:  # attrgetter of one name returns the value itself, not a 1-tuple
        raise ValueError(f"section {head} needs at least two fields")
    return head, tuple(f"{head}.{n}" for n in names), attrgetter(*names)


#: The case sections whose fields rules read one by one (``ctx.get("symptoms.fever")``): each as
#: its name, the case paths of its fields and a reader of all their values at once. Every case
#: has most of these fields read, so :class:`_CaseReads` reads whole sections up front: one
#: attrgetter call per section instead of one memo miss per path (about 50 per case).
_SECTIONS = tuple(
    _section(head, model)
    for head, model in [
        ("patient", Patient),
        ("symptoms", Symptoms),
        ("comorbidities", Comorbidities),
        ("psychosocial", Psychosocial),
        ("exam", Exam),
    ]
)
#: Every path of ``_SECTIONS`` as unknown.
_UNKNOWN_SECTIONS: dict[str, Any] = dict.fromkeys(p for _, paths, _ in _SECTIONS for p in paths)
# A negative red-flag screen is applied where the sections are read (``_CaseReads``), the only
# place the screened symptoms are read.
if not SCREENED_RED_FLAGS <= _UNKNOWN_SECTIONS.keys():
    raise ValueError("every screened red-flag symptom must be in a section of _SECTIONS")


_LAB_PLAUSIBILITY = {
    "crp": "plausibility.crp_mg_l",
    "esr": "plausibility.esr_mm_h",
    "wbc": "plausibility.wbc_per_ul",
    "albumin": "plausibility.albumin_g_dl",
    "transferrin": "plausibility.transferrin_mg_dl",
    "prealbumin": "plausibility.prealbumin_mg_dl",
    "total_lymphocyte_count": "plausibility.total_lymphocyte_count_per_ul",
    "hba1c": "plausibility.hba1c_pct",
    "vitamin_d": "plausibility.vitamin_d_ng_ml",
    "procalcitonin": "plausibility.procalcitonin_ng_ml",
}


@dataclass(frozen=True)
class LabValue:
    """One plausible lab result in its canonical unit."""

    test: str
    value: float
    date: date | None
    index: int
    raw: LabResult

    @property
    def field(self) -> str:
        """The case path of the result."""
        return f"labs[{self.index}]"

    def fact(self) -> Fact:
        """The fact as shown in explanations."""
        when = self.date.isoformat() if self.date else "undated"
        return _fact(
            {
                "field": self.field,
                "value": f"{self.raw.test} {self.raw.value} {self.raw.unit} ({when})",
            },
        )


@dataclass(frozen=True)
class FindingHit:
    """An imaging finding on a current study."""

    code: str
    levels: tuple[str, ...]
    side: str | None
    modality: str
    study_date: date | None
    path: str

    def fact(self) -> Fact:
        """The fact as shown in explanations."""
        lv = ",".join(self.levels) or "level unspecified"
        return _fact({"field": self.path, "value": f"{self.code} {lv} on {self.modality}"})


@dataclass
class CauseBuilder:
    """Findings collected for one cause during the DX step."""

    cause: str
    correctable: bool
    for_: list[Finding] = field(default_factory=list)
    against: list[Finding] = field(default_factory=list)
    rule_ids: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    concordant: bool | None = None
    concordance_note: str | None = None
    likelihood: str = "low"


@dataclass(slots=True)
class Order:
    """A test recommended so far; the engine turns it into a ``WorkupItem`` at the end, once
    it knows whether the test blocks the decision."""

    test: str
    priority: str
    reason: str
    rule_id: str
    facts: list[Fact]
    evidence: list[str]


@dataclass
class Result:
    """Everything the rules emit."""

    red_flags: list[RedFlag] = field(default_factory=list)
    causes: dict[str, CauseBuilder] = field(default_factory=dict)
    workup: dict[str, Order] = field(default_factory=dict)
    workup_gate: dict[str, str] = field(default_factory=dict)
    optimisation: list[Recommendation] = field(default_factory=list)
    planning: list[Recommendation] = field(default_factory=list)
    postop: list[Recommendation] = field(default_factory=list)
    nonsurgical: list[Recommendation] = field(default_factory=list)
    missing: dict[tuple[str, str], MissingData] = field(default_factory=dict)
    warnings: list[Warning] = field(default_factory=list)
    fired: list[str] = field(default_factory=list)
    disposition: str | None = None
    disposition_summary: str = ""
    disposition_reasons: list[str] = field(default_factory=list)
    disposition_rule: str = ""
    disposition_facts: list[Fact] = field(default_factory=list)
    caprini: int | None = None


def _lab_order(v: LabValue) -> tuple[bool, date]:
    """Undated results first, then by date (the latest last)."""
    return v.date is not None, v.date or date.min


class _CaseReads(dict[str, Any]):
    """Case fields by path (a memo: rules never change the case), starting with every field of
    the sections in ``_SECTIONS``; any other path is read from the case when first asked for
    (see :meth:`Ctx.get`). Both ways give the same value for a path."""

    __slots__ = ("case",)

    def __init__(self, case: Case) -> None:
        super().__init__(_UNKNOWN_SECTIONS)  # a copy of a dict is cheaper than its inserts
        self.case = case
        for head, paths, read in _SECTIONS:
            section = getattr(case, head)
            if section is not None:  # else (e.g. no exam) its fields stay unknown
                self.update(zip(paths, read(section), strict=True))
        if case.symptoms.red_flag_screen_negative:
            for path in SCREENED_RED_FLAGS:
                if self[path] is None:
                    self[path] = False

    def __missing__(self, path: str) -> Any:
        spec = _PATHS.get(path)
        if spec is None:
            spec = _PATHS[path] = _split(path)
        head, rest = spec
        obj: Any = getattr(self.case, head, None)
        for part in rest:
            if obj is None:  # an unrecorded part (e.g. no exam): unknown
                break
            obj = getattr(obj, part, None)
        self[path] = obj
        return obj


class Ctx:
    """The case, the knowledge and ``as_of``, with derived facts and the result being built."""

    def __init__(self, case: Case, kb: Knowledge, as_of: date) -> None:
        self.case = case
        self.kb = kb
        self.as_of = as_of
        self.out = Result()
        self.rule_id = ""
        self._got = _CaseReads(case)  # get() memo: rules never change the case
        self._derive()

    # -- derivation -------------------------------------------------------------------------
    def _derive(self) -> None:
        case, kb = self.case, self.kb
        self.age: int | None = case.patient.age
        if self.age is None and case.patient.birth_date is not None:
            b = case.patient.birth_date
            self.age = (
                self.as_of.year - b.year - ((self.as_of.month, self.as_of.day) < (b.month, b.day))
            )
        self.weight_kg = self._body("weight", "kg", "plausibility.weight_kg", "patient.weight")
        self.height_cm = self._body("height", "cm", "plausibility.height_cm", "patient.height")
        self.bmi: float | None = None
        if self.weight_kg is not None and self.height_cm is not None:
            self.bmi = round(self.weight_kg / (self.height_cm / 100) ** 2, 1)

        surgeries = case.surgeries
        as_of = self.as_of
        dated: list[Surgery] = []
        undated: list[int] = []
        for i, s in enumerate(surgeries):
            if s.date is None:
                undated.append(i)
            elif s.date > as_of:
                self.warn(
                    "future_date",
                    "Surgery dated after the assessment date; not used.",
                    f"surgeries[{i}].date",
                )
            else:
                dated.append(s)
        self.surgery_count = len(surgeries)
        self.last_surgery: Surgery | None = (
            max(dated, key=lambda s: s.date or date.min) if dated else None
        )
        for i in undated:
            self.warn(
                "undated_surgery",
                "A prior surgery has no date: time since surgery, and whether studies and results are post-operative, may be wrong.",
                f"surgeries[{i}].date",
            )
        self.undated_surgery = bool(undated)
        self.last_surgery_date = self.last_surgery.date if self.last_surgery else None
        self.days_since: int | None = (
            (self.as_of - self.last_surgery_date).days if self.last_surgery_date else None
        )
        self.window: str | None = None
        if self.days_since is not None:
            months = self.days_since / DAYS_PER_MONTH
            if self.days_since < kb.num("windows.w0_max_days"):
                self.window = "W0"
            elif months < kb.num("windows.w1_max_months"):
                self.window = "W1"
            elif months <= kb.num("windows.w2_max_months"):
                self.window = "W2"
            else:
                self.window = "W3"
        # One pass over the surgeries for what the history implies.
        fusion = decompression = discectomy = any_instrumented = False
        all_uninstrumented = True
        last_fusion_date: date | None = None
        fused: set[str] = set()
        operated: set[str] = set()
        for s in surgeries:
            kind = s.type
            if kind == "fusion":
                fusion = True
                fused.update(s.levels)
                if s.date is not None and (last_fusion_date is None or s.date > last_fusion_date):
                    last_fusion_date = s.date
            elif kind == "discectomy":
                decompression = discectomy = True
            elif kind == "laminectomy":
                decompression = True
            operated.update(s.levels)
            if s.instrumented:
                any_instrumented = True
            if s.instrumented is not False:
                all_uninstrumented = False
        self.fusion = fusion
        self.last_fusion_date = last_fusion_date
        self.months_since_fusion: float | None = (
            (as_of - last_fusion_date).days / DAYS_PER_MONTH if last_fusion_date else None
        )
        self.fused_segments: set[str] = fused
        self.operated_segments: set[str] = operated
        self.instrumented: bool | None = (
            True if any_instrumented else (False if surgeries and all_uninstrumented else None)
        )
        self.decompression = decompression
        self.discectomy = discectomy
        self.fused_to_sacrum = any(lv.endswith("S1") for lv in self.fused_segments)

        self._labs()
        self._imaging()
        if case.exam is not None and case.exam.date is None:
            self.warn(
                "undated_result", "The examination has no date; it is assumed current.", "exam.date"
            )

    def _body(self, name: str, unit: str, bounds: str, path: str) -> float | None:
        q = getattr(self.case.patient, name)
        if q is None:
            return None
        value = to_canonical(name, q.value, q.unit)
        lo, hi = self.kb.pair(bounds)
        if not lo <= value <= hi:
            self.warn(
                "implausible_value",
                f"{name} {q.value} {q.unit} is implausible and was not used.",
                path,
            )
            return None
        return value

    def _labs(self) -> None:
        self.lab_series: dict[str, list[LabValue]] = {}
        lab_series, as_of, pair = self.lab_series, self.as_of, self.kb.pair
        for i, lab in enumerate(self.case.labs):
            value = to_canonical(lab.test, lab.value, lab.unit)
            lo, hi = pair(_LAB_PLAUSIBILITY[lab.test])
            if not lo <= value <= hi:
                self.warn(
                    "implausible_value",
                    f"{lab.test} {lab.value} {lab.unit} is outside the plausible range and was not "
                    "used; check the value and its unit.",
                    f"labs[{i}]",
                )
                continue
            if lab.date is not None and lab.date > as_of:
                self.warn(
                    "future_date",
                    f"{lab.test} is dated after the assessment date; not used.",
                    f"labs[{i}]",
                )
                continue
            if lab.date is None:
                self.warn(
                    "undated_result",
                    f"{lab.test} has no date; it is not treated as current.",
                    f"labs[{i}]",
                )
            series = lab_series.get(lab.test)
            if series is None:
                series = lab_series[lab.test] = []
            series.append(LabValue(lab.test, value, lab.date, i, lab))
        for series in lab_series.values():
            if len(series) > 1:
                series.sort(key=_lab_order)

    def _imaging(self) -> None:
        """Current studies: after the last surgery and within the currency window."""
        self.studies: list[tuple[int, ImagingStudy]] = []
        max_age = self.kb.num("currency.imaging_valid_days")
        for i, study in enumerate(self.case.imaging):
            path = f"imaging[{i}]"
            if study.date is not None:
                if study.date > self.as_of:
                    self.warn(
                        "future_date", "Imaging dated after the assessment date; not used.", path
                    )
                    continue
                if self.last_surgery_date and study.date < self.last_surgery_date:
                    self.warn(
                        "preoperative_imaging",
                        f"{study.modality} predates the last surgery; it does not show the current anatomy.",
                        path,
                    )
                    continue
                if (self.as_of - study.date).days > max_age:
                    self.warn(
                        "stale_result",
                        f"{study.modality} is older than {max_age:.0f} days; repeat if needed.",
                        path,
                    )
                    continue
            else:
                self.warn(
                    "undated_result", f"{study.modality} has no date; assumed post-operative.", path
                )
            self.studies.append((i, study))
        self.modalities = {s.modality for _, s in self.studies}
        self.hits: dict[str, list[FindingHit]] = {}
        for i, study in self.studies:
            if study.findings is None:
                self.warn(
                    "findings_not_recorded",
                    f"{study.modality}: findings not recorded; the study cannot show that anything is absent.",
                    f"imaging[{i}].findings",
                )
            for j, f in enumerate(study.findings or ()):
                hit = FindingHit(
                    f.finding,
                    tuple(f.levels),
                    f.side,
                    study.modality,
                    study.date,
                    f"imaging[{i}].findings[{j}]",
                )
                self.hits.setdefault(f.finding, []).append(hit)

    # -- reading helpers --------------------------------------------------------------------
    def fact(self, path: str) -> Fact:
        """A case field as a Fact, its value as :meth:`get` reads it."""
        value = self._got[path]
        if value is None or value is True:
            return _shared_fact(path, value)
        return _fact({"field": path, "value": value})

    def get(self, path: str) -> Any:
        """A case field's value (None when unknown). A red-flag symptom left unrecorded reads as
        absent only when the case records a negative red-flag screen."""
        return self._got[path]

    def true(self, *paths: str) -> list[Fact]:
        """Facts among ``paths`` that are recorded as True."""
        got = self._got
        facts: list[Fact] = []
        for p in paths:
            if got[p] is True:
                facts.append(_shared_fact(p, True))
        return facts

    def latest(self, test: str) -> LabValue | None:
        """Most recent plausible result of ``test`` (dated results win over undated)."""
        series = self.lab_series.get(test)
        return series[-1] if series else None

    def current_lab(self, test: str, max_age_key: str, *, post_op: bool = True) -> LabValue | None:
        """The latest result if it is dated, recent enough and (optionally) after the last surgery."""
        series = self.lab_series.get(test)
        if not series:
            return None
        lab = series[-1]
        if lab.date is None:
            return None
        if (self.as_of - lab.date).days > self.kb.num(max_age_key):
            return None
        if post_op and self.last_surgery_date and lab.date < self.last_surgery_date:
            return None
        if post_op and self.undated_surgery:
            return None  # an undated surgery may be later than the result
        return lab

    def has(self, *codes: str) -> list[FindingHit]:
        """Hits of any of the imaging findings ``codes`` on current studies."""
        hits = self.hits
        found: list[FindingHit] = []
        if hits:
            for c in codes:
                if c in hits:
                    found += hits[c]
        return found

    def studies_of(
        self, modalities: Iterable[str], *, reported: bool = False
    ) -> list[tuple[int, ImagingStudy]]:
        """Current studies of the given modalities (``reported``: only those whose findings
        were recorded, the only ones that can show something is absent)."""
        if not self.studies:
            return []
        wanted = set(modalities)
        return [
            (i, s)
            for i, s in self.studies
            if s.modality in wanted and (not reported or s.findings is not None)
        ]

    @property
    def course(self) -> str | None:
        """Course since the last surgery; a recorded pain-free interval implies one."""
        c = self.case.symptoms.course
        if c is None and (self.case.symptoms.pain_free_interval_months or 0) > 0:
            return "pain_free_interval"
        return c

    @property
    def radicular(self) -> bool | None:
        """Radicular (leg) pain present / absent / unknown."""
        s = self.case.symptoms
        if s.radicular_pain is not None:
            return s.radicular_pain
        if s.predominant_pain is not None:
            return s.predominant_pain in ("radicular", "equal")
        return None

    @property
    def axial(self) -> bool | None:
        """Axial (back or neck) pain present / absent / unknown."""
        s = self.case.symptoms
        if s.axial_pain is not None:
            return s.axial_pain
        if s.predominant_pain is not None:
            return s.predominant_pain in ("axial", "equal")
        return None

    # -- emitting ---------------------------------------------------------------------------
    def fire(self) -> None:
        """Record that the current rule produced output."""
        fired, rule_id = self.out.fired, self.rule_id
        if (not fired or fired[-1] != rule_id) and rule_id not in fired:
            fired.append(rule_id)

    def warn(self, code: str, message: str, path: str | None = None) -> None:
        """Add a warning about the input."""
        self.out.warnings.append(
            _warning(
                {"code": code, "message": message, "field": path, "rule_id": self.rule_id or None},
            )
        )

    def missing(self, path: str, why: str) -> None:
        """Record that an unknown field mattered."""
        rule_id, missing = self.rule_id, self.out.missing
        key = (path, rule_id)
        if key not in missing:
            shared = (path, why, rule_id)
            item = _MISSING_DATA.get(shared)
            if item is None:
                item = remember(
                    _MISSING_DATA,
                    shared,
                    _missing_data({"field": path, "why": why, "rule_id": rule_id}),
                )
            missing[key] = item

    def unknown(self, *paths: str, why: str) -> list[str]:
        """Record every path among ``paths`` that is unknown; return them."""
        got = self._got
        gaps: list[str] = []
        for p in paths:
            if got[p] is None:
                gaps.append(p)
                self.missing(p, why)
        return gaps

    def red_flag(
        self, code: str, rationale: str, action: str, facts: list[Fact], evidence: list[str]
    ) -> None:
        """Emit a red flag."""
        self.fire()
        self.out.red_flags.append(
            _red_flag(
                {
                    "code": code,
                    "rationale": rationale,
                    "action": action,
                    "rule_id": self.rule_id,
                    "facts": list(facts),
                    "evidence": list(evidence),
                },
            )
        )

    def cause(self, cause: str, correctable: bool, evidence: Iterable[str] = ()) -> CauseBuilder:
        """The builder for ``cause`` (created on first use)."""
        cb = self.out.causes.get(cause)
        if cb is None:
            cb = self.out.causes[cause] = CauseBuilder(cause, correctable)
        for e in evidence:
            if e not in cb.evidence:
                cb.evidence.append(e)
        return cb

    def support(
        self,
        cause: str,
        correctable: bool,
        text: str,
        strength: str,
        facts: list[Fact],
        evidence: Iterable[str] = (),
    ) -> None:
        """Add a finding for ``cause``."""
        self.fire()
        cb = self.cause(cause, correctable, evidence)
        cb.for_.append(_finding(text, strength, self.rule_id, facts))
        if self.rule_id not in cb.rule_ids:
            cb.rule_ids.append(self.rule_id)

    def oppose(
        self, cause: str, correctable: bool, text: str, strength: str, facts: list[Fact]
    ) -> None:
        """Add a finding against ``cause`` (only listed if the cause has findings for it)."""
        self.fire()
        cb = self.cause(cause, correctable)
        cb.against.append(_finding(text, strength, self.rule_id, facts))
        if self.rule_id not in cb.rule_ids:
            cb.rule_ids.append(self.rule_id)

    def order(
        self,
        test: str,
        reason: str,
        *,
        gate: str,
        urgent: bool = False,
        facts: list[Fact] | None = None,
        evidence: list[str] | None = None,
    ) -> None:
        """Recommend a test. ``gate``: 'diagnosis' (needed for any decision), 'revision' (needed
        before surgery is considered), 'prep' (preparing a revision) or 'routine' (useful)."""
        self.fire()
        prior = self.out.workup.get(test)
        if prior is not None:
            if _GATE_RANK[gate] > _GATE_RANK[self.out.workup_gate[test]]:
                self.out.workup_gate[test] = gate
            if urgent and prior.priority != "urgent":
                prior.priority = "urgent"
            if reason not in prior.reason:
                prior.reason = f"{prior.reason} {reason}"
            return
        self.out.workup_gate[test] = gate
        self.out.workup[test] = Order(
            test,
            "urgent" if urgent else "routine",
            reason,
            self.rule_id,
            list(facts) if facts else [],
            list(evidence) if evidence else [],
        )

    def recommend(
        self,
        target: list[Recommendation],
        code: str,
        text: str,
        *,
        facts: list[Fact] | None = None,
        evidence: list[str] | None = None,
        status: str | None = None,
        details: dict[str, Any] | None = None,
        unverified: bool = False,
    ) -> None:
        """Append a recommendation to one of the plan lists."""
        self.fire()
        target.append(
            _recommendation(
                {
                    "code": code,
                    "text": text,
                    "status": status,
                    "details": dict(details) if details else {},
                    "rule_id": self.rule_id,
                    "facts": list(facts) if facts else [],
                    "evidence": list(evidence) if evidence else [],
                    "unverified": unverified,
                },
            )
        )


_GATE_RANK = {"diagnosis": 3, "revision": 2, "prep": 1, "routine": 0}


def _finding(text: str, strength: str, rule_id: str, facts: list[Fact]) -> Finding:
    return _new_finding(
        {"text": text, "strength": strength, "rule_id": rule_id, "facts": list(facts)}
    )


def make_fact(path: str, value: Any) -> Fact:
    """``Fact(field=path, value=value)`` (``None``: unknown), built without re-validation like
    every fact the context emits (a shared one for None, see ``_shared_fact``)."""
    if value is None:
        return _shared_fact(path, None)
    return _fact({"field": path, "value": value})


def adjacent_to(segment: str, fused: set[str]) -> bool:
    """True when ``segment`` is the motion segment just above or below a fused block."""
    if not fused or segment in fused:
        return False
    top = min(vertebra_index(s.split("-")[0]) for s in fused)
    bottom = max(vertebra_index(s.split("-")[1]) for s in fused)
    upper, lower = (vertebra_index(v) for v in segment.split("-"))
    return lower == top or upper == bottom


def roots_of(segment: str) -> set[str]:
    """Roots that a lesion at a lumbar motion segment can compress (traversing and exiting).

    L4-L5 → {L4, L5}; L5-S1 → {L5, S1}. The pairing of segment with traversing/exiting roots is
    standard anatomy (REFERENCE.md does not tabulate it).
    """
    upper, lower = segment.split("-")
    return {upper, lower}
