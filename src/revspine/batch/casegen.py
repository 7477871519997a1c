"""A small, seeded generator of realistic, valid revspine cases (benchmarks, ``revspine synth``).

Deterministic for a given seed (``random.Random``), no Hypothesis: the benchmark must measure
the engine, not a test framework. Cases are plain dicts, as a YAML/JSON case file holds them,
with every date before :data:`AS_OF`. Vocabularies are read from the case model so that a new
code is generated as soon as it exists.
"""

from __future__ import annotations

import datetime as dt
import random
import typing
from typing import Any

from revspine.domain import case as model
from revspine.domain.units import from_canonical, known_units

AS_OF = dt.date(2026, 11, 1)
SEGMENTS = ("L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")
ROOTS = ("L2", "L3", "L4", "L5", "S1")
SIDES = ("left", "right", "bilateral")

#: Realistic range (canonical unit) and reporting decimals per lab test.
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
#: Symptoms that are (or feed) red flags: rarely present, so most cases are not urgent.
RARE_SYMPTOMS = frozenset(
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


def _literal(alias: Any) -> tuple[str, ...]:
    args = typing.get_args(alias)
    if args and all(isinstance(a, str) for a in args):
        return args
    for arg in args:
        values = _literal(arg)
        if values:
            return values
    return ()


def _field(model_cls: type[Any], name: str) -> tuple[str, ...]:
    return _literal(model_cls.model_fields[name].annotation)


def _tri_fields(model_cls: type[Any]) -> tuple[str, ...]:
    return tuple(n for n, f in model_cls.model_fields.items() if f.annotation == (bool | None))


SURGERY_TYPES = _literal(model.SurgeryType)
FINDINGS = _literal(model.ImagingFindingCode)
#: Findings that are red flags on their own: mostly replaced by a common finding.
URGENT_FINDINGS = frozenset(
    {"discitis_osteomyelitis", "epidural_abscess", "epidural_hematoma", "fracture"}
)
COMMON_FINDINGS = tuple(f for f in FINDINGS if f not in URGENT_FINDINGS)
MODALITIES = _literal(model.ImagingModality)
LAB_TESTS = _literal(model.LabTest)


class CaseGenerator:
    """Seeded generator; :meth:`case` returns one case dict."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    # -- helpers ------------------------------------------------------------------------------
    def _p(self, probability: float) -> bool:
        return self.rng.random() < probability

    def _days_ago(self, lo: int, hi: int) -> str:
        return (AS_OF - dt.timedelta(days=self.rng.randint(lo, hi))).isoformat()

    def _record_date(self) -> str:
        return self._days_ago(1, self.rng.choice((45, 45, 400, 3000)))

    def _tri(self, present: float = 0.85, true: float = 0.4) -> bool | None:
        if not self._p(present):
            return None
        return self._p(true)

    def _levels(self, contiguous: int = 1) -> list[str]:
        start = self.rng.randrange(len(SEGMENTS))
        return list(SEGMENTS[start : start + contiguous])

    def _maybe(self, target: dict[str, Any], key: str, value: Any, present: float = 0.8) -> None:
        if value is not None and self._p(present):
            target[key] = value

    # -- sections -----------------------------------------------------------------------------
    def patient(self) -> dict[str, Any]:
        p: dict[str, Any] = {}
        self._maybe(p, "age", self.rng.randint(25, 88), 0.95)
        self._maybe(p, "sex", self.rng.choice(("female", "male")))
        self._maybe(p, "weight", f"{self.rng.uniform(50, 140):.1f} kg")
        self._maybe(p, "height", {"value": round(self.rng.uniform(150, 198)), "unit": "cm"})
        self._maybe(p, "mri_contraindicated", self._p(0.08))
        return p

    def surgery(self) -> dict[str, Any]:
        kind = self.rng.choice(SURGERY_TYPES)
        s: dict[str, Any] = {"type": kind}
        self._maybe(s, "date", self._days_ago(10, self.rng.choice((120, 900, 6000))), 0.95)
        self._maybe(s, "region", "lumbar")
        self._maybe(s, "levels", self._levels(self.rng.randint(1, 3) if kind == "fusion" else 1))
        self._maybe(s, "instrumented", kind == "fusion" and self._p(0.8))
        self._maybe(s, "approach", self.rng.choice(_field(model.Surgery, "approach")), 0.6)
        if self._p(0.1):
            s["complications"] = [self.rng.choice(("infection", "dural_tear", "hematoma"))]
        return s

    def symptoms(self) -> dict[str, Any]:
        s: dict[str, Any] = {}
        for name in _tri_fields(model.Symptoms):
            value = self._tri(0.85, 0.015 if name in RARE_SYMPTOMS else 0.35)
            if value is not None:
                s[name] = value
        self._maybe(s, "course", self.rng.choice(_field(model.Symptoms, "course")), 0.9)
        if s.get("course") == "pain_free_interval":
            self._maybe(s, "pain_free_interval_months", float(self.rng.randint(1, 36)))
        self._maybe(s, "predominant_pain", self.rng.choice(("axial", "radicular", "equal")))
        self._maybe(s, "radicular_side", self.rng.choice(SIDES))
        self._maybe(s, "dermatomes", self.rng.sample(ROOTS, self.rng.randint(1, 2)))
        for key in ("pain_nrs", "back_pain_nrs", "leg_pain_nrs"):
            self._maybe(s, key, self.rng.randint(2, 10))
        self._maybe(s, "pain_duration_months", float(self.rng.randint(1, 60)))
        return s

    def comorbidities(self) -> dict[str, Any]:
        c: dict[str, Any] = {}
        for name in _tri_fields(model.Comorbidities):
            value = self._tri(0.8, 0.12)
            if value is not None:
                c[name] = value
        status = self.rng.choice(("current", "former", "never", "never"))
        self._maybe(c, "smoking_status", status, 0.9)
        if c.get("smoking_status") == "current":
            c["cigarettes_per_day"] = self.rng.randint(5, 30)
        if c.get("smoking_status") == "former":
            self._maybe(c, "smoking_quit_date", self._days_ago(10, 3000))
        self._maybe(c, "cancer", self.rng.choice(("none", "none", "none", "history", "active")))
        return c

    def psychosocial(self) -> dict[str, Any]:
        p: dict[str, Any] = {}
        total = self.rng.randint(0, 24)
        self._maybe(p, "phq9_total", total)
        self._maybe(p, "phq9_item9", 0 if total < 5 or self._p(0.9) else 1)
        self._maybe(p, "pain_catastrophizing_total", self.rng.randint(0, 50), 0.6)
        self._maybe(p, "start_back_risk", self.rng.choice(("low", "medium", "high")), 0.5)
        self._maybe(p, "litigation_or_compensation", self._p(0.15))
        self._maybe(p, "opioid_mme_per_day", float(self.rng.choice((0, 0, 0, 20, 60, 120))), 0.6)
        if self._p(0.1):
            p["evaluation"] = {
                "date": self._record_date(),
                "outcome": self.rng.choice(("no_contraindication", "treat_first")),
            }
        return p

    def exam(self) -> dict[str, Any]:
        e: dict[str, Any] = {"date": self._days_ago(1, self.rng.choice((60, 60, 400)))}
        for name in _tri_fields(model.Exam):
            value = self._tri(0.7, 0.2)
            if value is not None:
                e[name] = value
        self._maybe(e, "deficit_dermatomes", self.rng.sample(ROOTS, 1), 0.5)
        self._maybe(e, "deficit_side", self.rng.choice(SIDES), 0.5)
        self._maybe(e, "straight_leg_raise", self.rng.choice(("positive", "negative")))
        self._maybe(
            e, "hip_exam", self.rng.choice(("normal", "normal", "painful_internal_rotation"))
        )
        self._maybe(e, "si_provocation_positive", self.rng.randint(0, 4), 0.5)
        self._maybe(e, "wound", "healed" if self._p(0.95) else "erythema")
        self._maybe(e, "distal_pulses", "normal" if self._p(0.9) else "diminished", 0.6)
        return e

    def finding(self) -> dict[str, Any]:
        code = self.rng.choice(FINDINGS)
        if code in URGENT_FINDINGS and self._p(0.8):
            code = self.rng.choice(COMMON_FINDINGS)
        f: dict[str, Any] = {"finding": code}
        self._maybe(f, "levels", self._levels(self.rng.choice((1, 1, 2))), 0.9)
        self._maybe(f, "side", self.rng.choice(("left", "right", "bilateral", "central")), 0.6)
        return f

    def study(self) -> dict[str, Any]:
        modality = self.rng.choice(MODALITIES)
        s: dict[str, Any] = {"modality": modality, "date": self._record_date()}
        s["findings"] = [self.finding() for _ in range(self.rng.choice((0, 1, 1, 2, 3)))]
        if modality == "flexion_extension_xray" and self._p(0.5):
            s["fusion_motion_deg"] = float(self.rng.randint(0, 8))
        if modality == "standing_full_spine_xray" and self._p(0.7):
            s["spinopelvic"] = {
                "pi": float(self.rng.randint(35, 80)),
                "ll": float(self.rng.randint(10, 70)),
                "pt": float(self.rng.randint(8, 40)),
                "sva": f"{self.rng.randint(-20, 150)} mm",
            }
        return s

    def lab(self) -> dict[str, Any]:
        test = self.rng.choice(LAB_TESTS)
        unit = self.rng.choice(known_units(test))
        lo, hi, decimals = LAB_RANGES[test]
        value = round(self.rng.uniform(lo, hi), decimals)
        lab: dict[str, Any] = {
            "test": test,
            "value": float(f"{from_canonical(test, value, unit):.6g}"),
            "unit": unit,
        }
        self._maybe(lab, "date", self._record_date(), 0.95)
        return lab

    def block(self) -> dict[str, Any]:
        kind = self.rng.choice(_field(model.DiagnosticBlock, "type"))
        level = self.rng.choice(ROOTS if kind == "selective_nerve_root" else SEGMENTS)
        b: dict[str, Any] = {"type": kind, "level": level, "date": self._record_date()}
        self._maybe(b, "side", self.rng.choice(SIDES))
        self._maybe(b, "percent_relief", float(self.rng.choice((10, 30, 50, 70, 80, 90))))
        self._maybe(b, "concordant", self._p(0.7), 0.5)
        return b

    # -- a whole case -------------------------------------------------------------------------
    def case(self, index: int = 0) -> dict[str, Any]:
        """One realistic case: a third are complete, concordant recurrent herniations (the
        surgical-candidate path, which runs the planning and post-op rules), the rest random
        with most sections present and lists of 0-3 records."""
        return self.candidate_like(index) if self._p(1 / 3) else self.random_case(index)

    def candidate_like(self, index: int) -> dict[str, Any]:
        """A complete work-up of a recurrent herniation after a discectomy at the same level,
        with random demographics, comorbidities and allergies."""
        level = self.rng.choice(("L4-L5", "L5-S1"))
        root = level.split("-")[1]
        side = self.rng.choice(("left", "right"))
        surgery_day = self.rng.randint(200, 1500)
        symptoms: dict[str, Any] = {name: False for name in _tri_fields(model.Symptoms)}
        symptoms |= {
            "course": "pain_free_interval",
            "pain_free_interval_months": float(self.rng.randint(6, 30)),
            "radicular_pain": True,
            "axial_pain": self._p(0.5),
            "predominant_pain": "radicular",
            "radicular_side": side,
            "dermatomes": [root],
            "numbness": self._p(0.6),
            "leg_pain_nrs": self.rng.randint(5, 10),
            "back_pain_nrs": self.rng.randint(0, 5),
        }
        comorbidities: dict[str, Any] = {name: False for name in _tri_fields(model.Comorbidities)}
        comorbidities |= {
            "smoking_status": self.rng.choice(("never", "former", "current")),
            "smoking_quit_date": self._days_ago(60, 3000),
            "diabetes": self._p(0.2),
            "mrsa_colonisation": self._p(0.1),
            "cancer": "none",
        }
        if comorbidities["smoking_status"] != "former":
            del comorbidities["smoking_quit_date"]
        recent = self._days_ago(2, 25)
        labs = [
            {
                "test": "esr",
                "value": float(self.rng.randint(2, 18)),
                "unit": "mm/h",
                "date": recent,
            },
            {
                "test": "crp",
                "value": round(self.rng.uniform(0.5, 8), 1),
                "unit": "mg/L",
                "date": recent,
            },
        ]
        if comorbidities["diabetes"]:
            labs.append(
                {
                    "test": "hba1c",
                    "value": round(self.rng.uniform(5.8, 9), 1),
                    "unit": "%",
                    "date": recent,
                }
            )
        return {
            "case_id": f"BENCH{index:05d}",
            "assessment_date": AS_OF.isoformat(),
            "patient": self.patient() | {"mri_contraindicated": False},
            "surgeries": [
                {
                    "type": "discectomy",
                    "date": self._days_ago(surgery_day, surgery_day),
                    "levels": [level],
                    "instrumented": False,
                    "approach": "posterior",
                }
            ],
            "symptoms": symptoms,
            "comorbidities": comorbidities,
            "allergies": [{"substance": "penicillin", "reaction": "anaphylaxis"}]
            if self._p(0.1)
            else [],
            "psychosocial": {"phq9_total": self.rng.randint(0, 9), "phq9_item9": 0},
            "exam": {
                "date": self._days_ago(1, 30),
                "deficit_dermatomes": [root],
                "deficit_side": side,
                "straight_leg_raise": "positive",
                "hip_exam": "normal",
                "wound": "healed",
            },
            "imaging": [
                {"modality": "xray", "date": self._days_ago(5, 60), "findings": []},
                {
                    "modality": "mri_with_contrast",
                    "date": self._days_ago(5, 60),
                    "findings": [
                        {"finding": "recurrent_herniation", "levels": [level], "side": side}
                    ],
                },
            ],
            "labs": labs,
        }

    def random_case(self, index: int) -> dict[str, Any]:
        """A random case over the whole vocabulary."""
        c: dict[str, Any] = {"case_id": f"BENCH{index:05d}", "assessment_date": AS_OF.isoformat()}
        c["patient"] = self.patient()
        c["surgeries"] = [self.surgery() for _ in range(self.rng.choice((1, 1, 1, 2, 3)))]
        c["symptoms"] = self.symptoms()
        c["comorbidities"] = self.comorbidities()
        if self._p(0.8):
            c["allergies"] = (
                [{"substance": "penicillin", "reaction": self.rng.choice(("rash", "anaphylaxis"))}]
                if self._p(0.15)
                else []
            )
        c["psychosocial"] = self.psychosocial()
        if self._p(0.9):
            c["exam"] = self.exam()
        c["imaging"] = [self.study() for _ in range(self.rng.choice((0, 1, 2, 2, 3)))]
        c["labs"] = [self.lab() for _ in range(self.rng.choice((0, 2, 2, 4, 6)))]
        if self._p(0.25):
            c["blocks"] = [self.block()]
        if self._p(0.15):
            c["electrodiagnostics"] = [
                {"result": self.rng.choice(_field(model.Electrodiagnostic, "result"))}
            ]
        if self._p(0.3):
            c["proms"] = [
                {
                    "date": self._record_date(),
                    "odi_answers": [self.rng.randint(0, 5) for _ in range(10)],
                    "nrs_back": self.rng.randint(0, 10),
                }
            ]
        return c


def generate(n: int, seed: int = 20261101) -> list[dict[str, Any]]:
    """``n`` case dicts, the same for the same seed."""
    gen = CaseGenerator(seed)
    return [gen.case(i) for i in range(n)]
