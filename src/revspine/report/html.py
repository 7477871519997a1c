"""The printable HTML report: one self-contained file (inline CSS, no scripts, no external assets).

Summary first (disposition, red flags, top causes, blocking workup), then every section with its
reasons: the rule id, the patient facts that fired it and the REFERENCE.md evidence. A closing
plain-language page for the patient repeats the gist without clinical numbers.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from revspine.domain.assessment import Assessment, Fact, Recommendation

if TYPE_CHECKING:
    import jinja2

    from revspine.domain.case import Case
    from revspine.knowledge import Knowledge

__all__ = ["render_html"]

DISPOSITION_LABELS = {
    "urgent": "URGENT",
    "incomplete_workup": "INCOMPLETE WORKUP",
    "non_surgical": "NON-SURGICAL",
    "surgical_candidate": "SURGICAL CANDIDATE",
}

#: Workup tests in plain words for the patient page.
PLAIN_TESTS = {
    "history_and_exam": "a detailed talk about your symptoms and a physical examination",
    "xray": "X-rays of your back",
    "flexion_extension_xray": "X-rays taken while you bend forwards and backwards",
    "standing_full_spine_xray": "X-rays of your whole spine while standing",
    "ct": "a CT scan",
    "ct_myelogram": "a CT scan with dye around the nerves (myelogram)",
    "mri_with_contrast": "an MRI scan with contrast dye",
    "esr": "blood tests for infection",
    "crp": "blood tests for infection",
    "wbc": "blood tests for infection",
    "blood_cultures": "blood tests to look for germs in the blood",
    "albumin": "blood tests for nutrition",
    "transferrin": "blood tests for nutrition",
    "total_lymphocyte_count": "blood tests for nutrition",
    "prealbumin": "blood tests for nutrition",
    "hba1c": "a blood test for long-term blood sugar",
    "vitamin_d": "a blood test for vitamin D",
    "emg_ncs": "a nerve test (EMG) to see which nerves are affected",
    "selective_nerve_root_block": "a test injection near a nerve root to find the source of the pain",
    "facet_block": "a test injection into the small joints of the spine",
    "pars_block": "a test injection at a small bony defect of the spine",
    "si_joint_block": "a test injection into the joint between the spine and pelvis",
    "hip_evaluation": "a check of your hip",
    "vascular_studies": "a test of the blood flow in your legs",
    "psychological_evaluation": "a talk with a specialist about mood, stress and coping with pain",
}

#: Causes in plain words for the patient page.
PLAIN_CAUSES = {
    "infection": "an infection",
    "pseudarthrosis": "bones of a previous fusion that have not fully joined",
    "hardware_failure": "loose or broken screws or rods",
    "hardware_malposition": "an implant in a position that may irritate a nerve",
    "adjacent_segment_disease": "wear at the level next to a previous operation",
    "recurrent_disc_herniation": "a disc that has bulged out again",
    "residual_stenosis": "narrowing that still presses on the nerves",
    "epidural_fibrosis": "scar tissue around the nerves",
    "sagittal_imbalance": "the overall balance of your spine when you stand",
    "instability": "too much movement between the bones of the spine",
    "inadequate_decompression_or_wrong_level": "a nerve that is still pinched",
    "hip_pathology": "a problem in the hip joint",
    "sacroiliac_joint": "the joint between the spine and the pelvis",
    "peripheral_neuropathy": "nerve damage in the legs that does not come from the spine",
    "vascular_claudication": "reduced blood flow to the legs",
    "widespread_pain_syndrome": "a condition that causes pain in many parts of the body",
    "psychosocial_contributors": "stress, mood and life circumstances that make pain worse",
    "smoking": "smoking",
}

PLAIN_RED_FLAGS = {
    "cauda_equina_syndrome": "changes in bladder or bowel control or numbness between the legs, "
    "which can mean pressure on the nerves at the base of the spine",
    "spinal_infection_suspected": "signs that there may be an infection in the spine",
    "wound_infection_suspected": "signs that the wound may be infected",
    "crp_second_rise": "a blood test result that can be a sign of infection",
    "progressive_neurological_deficit": "weakness or numbness that is getting worse",
    "fracture_suspected": "signs of a possible broken bone in the spine",
    "malignancy_suspected": "signs that need checking to rule out a serious illness",
    "epidural_hematoma": "signs of possible bleeding near the nerves",
    "self_harm_risk": "answers on the mood questionnaire that mean your team wants to check "
    "how you are feeling and keep you safe",
}

PLAIN_ADVICE = {
    "physical_therapy": "exercise and physical therapy",
    "behavioral_health": "support for mood, stress and coping with pain",
    "pain_management": "a review of your pain medicines and other pain treatments",
    "scs_evaluation": "an assessment for spinal cord stimulation (a small implanted device "
    "that can calm nerve pain)",
    "smoking_cessation": "stop smoking (and nicotine)",
    "nutrition": "improve your nutrition, for example with more protein",
    "glucose_control": "get your blood sugar under better control",
    "vitamin_d": "take vitamin D if your level is low",
}

#: Display names where the code's words are not the clinical spelling.
LABELS = {
    "xray": "X-ray",
    "flexion_extension_xray": "Flexion-extension X-ray",
    "standing_full_spine_xray": "Standing full-spine X-ray",
    "ct": "CT",
    "ct_myelogram": "CT myelogram",
    "mri_with_contrast": "MRI with contrast",
    "esr": "ESR",
    "crp": "CRP",
    "wbc": "WBC",
    "hba1c": "HbA1c",
    "vitamin_d": "Vitamin D",
    "emg_ncs": "EMG / NCS",
    "si_joint_block": "SI-joint block",
    "scs_evaluation": "Spinal cord stimulation evaluation",
    "vte_prophylaxis": "VTE prophylaxis",
    "sacroiliac_joint": "Sacroiliac joint",
    "ll_target_pi_plus_9": "PI + 9°",
    "ll_target_age_adjusted": "0.62 × PI + 27.61",
    "cauda_equina_syndrome": "Cauda equina syndrome",
    "crp_second_rise": "CRP second rise",
}

_SAGITTAL_KEYS = {
    "PI−LL": ("sagittal.pi_ll_deg", "°"),
    "SVA (cm)": ("sagittal.sva_cm", " cm"),
    "PT": ("sagittal.pt_deg", "°"),
}


def render_html(
    assessment: Assessment,
    case: Case | None = None,
    *,
    knowledge: Knowledge | None = None,
    interactive: bool = False,
) -> str:
    """Render ``assessment`` (and, when given, the case's surgical history) as one HTML page.

    ``knowledge`` supplies the SRS–Schwab bands for the sagittal chart; without it the default
    knowledge base is used when its id and version match the assessment's. ``interactive``
    (for a page in the web app) folds the facts behind each item into expandable ``<details>``
    and opens only the top three causes of the differential; the printed report shows all.
    """
    template = _template()
    return template.render(**_context(assessment, case, knowledge), interactive=interactive)


@functools.cache
def _template() -> jinja2.Template:
    """The report template, compiled once per process (compiling costs ~50 ms; rendering ~2 ms).
    jinja2 is imported here so that importing this module stays cheap for the CLI."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("revspine.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(human=_human, fact=_fact, cite=_cite, cite_compact=_cite_compact, val=_val)
    env.globals.update(status_class=_status_class, agents_table=_agents_table)
    return env.get_template("report.html.j2")


# -- formatting filters -----------------------------------------------------------------------
def _human(code: str | None) -> str:
    """``"recurrent_disc_herniation"`` → ``"Recurrent disc herniation"``."""
    if not code:
        return ""
    if code in LABELS:
        return LABELS[code]
    text = code.replace("_", " ")
    return text[0].upper() + text[1:]


def _val(value: Any) -> str:
    """A value as a clinician reads it; ``None`` is shown as unknown, never as a negative."""
    if value is None:
        return "unknown (not recorded)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ", ".join(_val(v) for v in value) if value else "none"
    if isinstance(value, dict):
        return "; ".join(f"{_human(str(k))}: {_val(v)}" for k, v in value.items())
    return str(value)


def _fact(fact: Fact) -> str:
    return f"{fact.field} = {_val(fact.value)}"


def _cite(evidence: list[str]) -> list[str]:
    """Evidence ids as citations: ``"58"`` → ``"REFERENCE.md [58]"``."""
    return ["seed document" if e == "seed" else f"REFERENCE.md [{e}]" for e in evidence]


_GOOD = {"met", "ready", "aligned", "complete", "acceptable", "not_required"}
_WARN = {"not_met", "optimise_first", "malaligned", "elevated_risk", "defer", "check"}
_AGENT_COLUMNS = {
    "agent": "Agent",
    "dose": "Dose",
    "mg_per_kg": "mg/kg",
    "start_within_min_before_incision": "Start (min before incision)",
    "redose_interval_h": "Redose every (h)",
    "redose_blood_loss_ml": "Redose after blood loss (mL)",
}


def _status_class(status: str) -> str:
    return "good" if status in _GOOD else ("warn" if status in _WARN else "neutral")


def _agents_table(agents: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Headers and rows for the antibiotic agents; unknown keys get their own column."""
    keys = list(dict.fromkeys(k for agent in agents for k in agent))
    keys.sort(key=lambda k: list(_AGENT_COLUMNS).index(k) if k in _AGENT_COLUMNS else 99)
    rows = [
        [
            "no routine redose"
            if k == "redose_interval_h" and agent.get(k) is None
            else ("—" if agent.get(k) is None else _val(agent.get(k)))
            for k in keys
        ]
        for agent in agents
    ]
    return {"headers": [_AGENT_COLUMNS.get(k, _human(k)) for k in keys], "rows": rows}


def _cite_compact(evidence: list[str]) -> str:
    """``["seed", "6", "31"]`` → ``"seed document; REFERENCE.md [6] [31]"``."""
    refs = " ".join(f"[{e}]" for e in evidence if e != "seed")
    parts = (["seed document"] if "seed" in evidence else []) + (
        [f"REFERENCE.md {refs}"] if refs else []
    )
    return "; ".join(parts)


# -- view model -------------------------------------------------------------------------------
def _context(a: Assessment, case: Case | None, knowledge: Knowledge | None) -> dict[str, Any]:
    from revspine.rules.registry import REGISTRY, ordered_rules

    ordered_rules()  # make sure every rule module is registered
    fired = list(dict.fromkeys(a.rules_fired))
    unverified_rules = {rid for rid, r in REGISTRY.items() if r.unverified}
    rules = [
        {
            "id": rid,
            "title": REGISTRY[rid].title if rid in REGISTRY else "",
            "evidence": list(REGISTRY[rid].evidence) if rid in REGISTRY else [],
            "unverified": rid in unverified_rules,
            "doc": REGISTRY[rid].doc if rid in REGISTRY else "",
        }
        for rid in fired
    ]
    top = [c for c in a.differential if c.likelihood != "low"][:3] or a.differential[:3]
    return {
        "a": a,
        "label": DISPOSITION_LABELS[a.disposition.code],
        "disposition_labels": DISPOSITION_LABELS,
        "sha_short": a.knowledge.sha256[:12],
        "overrides": [_override(o) for o in a.knowledge.overrides],
        "surgeries": _surgeries(case),
        "site": case.site if case is not None else None,
        "reasons": [
            r for r in a.disposition.reasons if r not in {f.rationale for f in a.red_flags}
        ],
        "top_causes": top,
        "blocking": [w for w in a.workup if w.blocks_decision],
        "unverified_rules": unverified_rules,
        "sections": [
            ("optimisation", "Optimisation before revision", a.optimisation),
            ("planning", "Surgical planning", a.surgical_planning),
            ("postop", "Post-operative orders (options to review and sign)", a.postop_orders),
            ("nonsurgical", "Non-surgical plan", a.nonsurgical_plan),
        ],
        "sagittal": _sagittal(a, knowledge),
        "derived": _derived(a),
        "rules": rules,
        "patient": _patient(a),
    }


def _override(o: dict[str, Any]) -> str:
    source = f" ({o['source']})" if o.get("source") else ""
    return f"{o.get('key')}: {_val(o.get('base'))} → {_val(o.get('value'))}{source}"


def _surgeries(case: Case | None) -> list[str]:
    if case is None:
        return []
    rows = []
    for s in case.surgeries:
        bits = [s.date.isoformat() if s.date else "undated", _human(s.type).lower()]
        if s.levels:
            bits.append(", ".join(s.levels))
        extra = [
            x
            for x in (
                s.approach,
                {True: "instrumented", False: "not instrumented", None: None}[s.instrumented],
            )
            if x
        ]
        rows.append(" ".join(bits) + (f" ({', '.join(extra)})" if extra else ""))
    return rows


def _derived(a: Assessment) -> list[tuple[str, str]]:
    d = a.derived
    rows = [
        ("Age (years)", d.age),
        ("BMI (kg/m²)", d.bmi),
        ("Prior spine surgeries", d.prior_surgeries),
        ("Last surgery", d.last_surgery_date.isoformat() if d.last_surgery_date else None),
        ("Days since last surgery", d.days_since_last_surgery),
        ("Time window since surgery", d.time_window),
        ("Fusion in history", d.fusion_in_history),
        ("ODI (%)", d.odi_percent),
        ("PHQ-9 total", d.phq9_total),
        ("Caprini score (minimum)", d.caprini_score),
        ("Odds ratio, no acceptable result vs first operation", d.prior_ops_odds_ratio),
    ]
    return [(k, _val(v)) for k, v in rows]


def _knowledge_values(a: Assessment, knowledge: Knowledge | None) -> dict[str, Any] | None:
    """The sagittal bands of the knowledge that produced ``a``, or None when unsure."""
    keys = [k for k, _ in _SAGITTAL_KEYS.values()]
    if knowledge is None or knowledge.sha256 != a.knowledge.sha256:
        from revspine.errors import RevspineError
        from revspine.knowledge import load_knowledge

        try:
            knowledge = load_knowledge()
        except RevspineError:
            return None
        base_version = a.knowledge.version.removesuffix("+site")
        if knowledge.meta.id != a.knowledge.id or knowledge.meta.version != base_version:
            return None
    values = {k: knowledge.value(k) for k in keys}
    if knowledge.sha256 != a.knowledge.sha256:  # default base + the assessment's site overrides
        for o in a.knowledge.overrides:
            if o.get("key") in values:
                values[o["key"]] = o.get("value")
    return values


def _sagittal(a: Assessment, knowledge: Knowledge | None) -> dict[str, Any] | None:
    """Rows and an SVG layout for the SRS–Schwab modifiers of the ``sagittal_alignment`` item."""
    item = next((r for r in a.surgical_planning if r.code == "sagittal_alignment"), None)
    if item is None:
        return None
    bands = _knowledge_values(a, knowledge) or {}
    rows: list[dict[str, Any]] = []
    for label, (key, unit) in _SAGITTAL_KEYS.items():
        entry = item.details.get(label)
        if not isinstance(entry, dict) or not isinstance(entry.get("value"), int | float):
            continue
        band = bands.get(key)
        lo_hi = (float(band[0]), float(band[1])) if isinstance(band, list | tuple) else None
        rows.append(
            {
                "label": label,
                "value": float(entry["value"]),
                "grade": entry.get("grade"),
                "unit": unit,
                "band": lo_hi,
            }
        )
    if not rows:
        return None
    x0, width, row_h = 150.0, 420.0, 44
    for i, r in enumerate(rows):
        lo_hi = r["band"]
        lo_end = min(0.0, r["value"]) * 1.15
        hi_end = max(r["value"] * 1.15, (lo_hi[1] * 1.5) if lo_hi else r["value"] * 1.5, 1.0)

        def x(v: float, lo_end: float = lo_end, hi_end: float = hi_end) -> float:
            return round(x0 + (v - lo_end) / (hi_end - lo_end) * width, 1)

        r["y"] = 10 + i * row_h
        r["zero_x"], r["value_x"] = x(0.0), x(r["value"])
        cuts = [lo_end, *(min(max(b, lo_end), hi_end) for b in lo_hi or ()), hi_end]
        names = ("0", "+", "++") if lo_hi else ("",)
        classes = ("z0", "z1", "z2") if lo_hi else ("zn",)
        r["ticks"] = [{"x": x(b), "label": _val(b)} for b in cuts[1:-1]]
        r["zones"] = [
            {"x": x(cuts[j]), "w": x(cuts[j + 1]) - x(cuts[j]), "cls": classes[j], "name": names[j]}
            for j in range(len(cuts) - 1)
        ]
    return {
        "rows": rows,
        "height": 20 + len(rows) * row_h,
        "x0": x0,
        "width": width,
        "targets": {k: v for k, v in item.details.items() if k.startswith("ll_target")},
        "has_bands": all(r["band"] for r in rows),
    }


def _patient(a: Assessment) -> dict[str, Any]:
    """Short, non-technical sentences for the patient; no clinical numbers."""
    code = a.disposition.code
    paras: list[str] = []
    items: list[str] = []
    intro = ""
    likely = [PLAIN_CAUSES[c.cause] for c in a.differential if c.likelihood != "low"][:3]
    if code == "urgent":
        paras.append(
            "Some of your symptoms or test results can be signs of a problem that needs to be "
            "checked by a doctor today. Please do not wait for a routine appointment."
        )
        intro = "What your team is concerned about:"
        items = list(
            dict.fromkeys(
                PLAIN_RED_FLAGS.get(f.code, "a warning sign that needs checking today")
                for f in a.red_flags
            )
        )
        tail = "Plans for any further back operation are on hold until this has been checked."
    elif code == "incomplete_workup":
        paras.append(
            "Your team needs a few more tests before deciding what is causing your pain and "
            "which treatment is best."
        )
        intro = "Tests that are still needed:"
        items = list(dict.fromkeys(PLAIN_TESTS.get(w.test, _human(w.test)) for w in a.workup))
        tail = "No decision about another operation should be made until these results are back."
        if likely:
            paras.append("Possible causes your team is looking into: " + "; ".join(likely) + ".")
    elif code == "non_surgical":
        paras.append(
            "Based on the information available, another operation is not expected to help your "
            "pain at this stage."
        )
        intro = "Your team may suggest:"
        items = list(
            dict.fromkeys(PLAIN_ADVICE.get(r.code, _human(r.code)) for r in a.nonsurgical_plan)
        )
        tail = "This can be looked at again if your symptoms change."
    else:
        names = [
            PLAIN_CAUSES[c.cause]
            for c in a.differential
            if c.likelihood == "high" and c.surgically_correctable
        ] or likely
        paras.append(
            "Your tests point to a cause of pain that an operation may be able to correct"
            + (": " + "; ".join(names) + "." if names else ".")
        )
        paras.append(
            "This is not a decision yet. You and your surgeon will talk about the possible "
            "benefits, the risks and what to expect."
        )
        if any(r.code == "prognosis" for r in a.surgical_planning):
            paras.append(
                "Each previous back operation makes a good result a little less likely; your "
                "surgeon will talk with you about realistic goals."
            )
        intro = "Before any operation, your team may ask you to:"
        items = list(
            dict.fromkeys(
                PLAIN_ADVICE[r.code] for r in _active(a.optimisation) if r.code in PLAIN_ADVICE
            )
        )
        tail = (
            "After an operation, your team would plan medicines to prevent infection and "
            "blood clots."
            if a.postop_orders
            else ""
        )
    return {"paras": paras, "intro": intro if items else "", "items": items, "tail": tail}


def _active(recs: list[Recommendation]) -> list[Recommendation]:
    """Recommendations that ask the patient to change something (a gate not met or a risk)."""
    return [r for r in recs if r.status in ("not_met", "elevated_risk")]
