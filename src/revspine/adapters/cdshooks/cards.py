"""What every revspine card shares (the hook-specific cards are in :mod:`.patient_cards` and
:mod:`.order_cards`).

Every card names the rules behind it (in ``detail`` and in the ``revspine.ruleIds`` extension),
the knowledge version (``source.label``, ``revspine.knowledge``) and the evidence (REFERENCE.md
source numbers). Summaries are cut to fewer than 140 characters; :func:`strip_empty` removes
every null or empty member (the CDS Hooks JSON rule). Card and suggestion uuids are derived from
the ``hookInstance`` so that feedback can be tied back to the card.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from revspine import __version__
from revspine.adapters.fhir import assessment_to_fhir
from revspine.domain.assessment import Assessment, Recommendation, WorkupItem

__all__ = [
    "GATES",
    "OVERRIDE_REASONS",
    "SHORT",
    "CardContext",
    "card",
    "card_uuid",
    "listing",
    "md",
    "open_gates",
    "rule_line",
    "strip_empty",
    "summary_text",
    "workup_detail",
    "workup_suggestions",
]

MAX_SUMMARY = 139
TOPIC_SYSTEM = "http://revspine.example/fhir/CodeSystem/cds-card-topic"
OVERRIDE_SYSTEM = "http://revspine.example/fhir/CodeSystem/cds-override-reason"
OVERRIDE_REASONS = (
    ("results-elsewhere", "Results exist outside this record"),
    ("will-complete-before-surgery", "Will be completed before the surgery date"),
    ("urgent-surgery", "Urgent surgery: benefit outweighs the gap"),
    ("risk-discussed", "Risk discussed; the patient accepts it"),
    ("not-applicable", "Not applicable to this patient"),
)
SHORT = {
    "history_and_exam": "history/exam",
    "xray": "X-ray",
    "flexion_extension_xray": "flexion-extension films",
    "standing_full_spine_xray": "standing films",
    "ct": "CT",
    "ct_myelogram": "CT myelogram",
    "mri_with_contrast": "contrast MRI",
    "esr": "ESR",
    "crp": "CRP",
    "wbc": "WBC",
    "blood_cultures": "blood cultures",
    "albumin": "albumin",
    "transferrin": "transferrin",
    "total_lymphocyte_count": "lymphocyte count",
    "prealbumin": "prealbumin",
    "hba1c": "HbA1c",
    "vitamin_d": "vitamin D",
    "emg_ncs": "EMG/NCS",
    "selective_nerve_root_block": "nerve root block",
    "facet_block": "facet block",
    "pars_block": "pars block",
    "si_joint_block": "SI joint block",
    "hip_evaluation": "hip evaluation",
    "vascular_studies": "vascular studies",
    "psychological_evaluation": "psychological evaluation",
}
GATES = {  # optimisation codes that are planning gates, and their short names
    "smoking_cessation": "smoking",
    "glucose_control": "HbA1c",
    "nutrition": "nutrition",
    "vitamin_d": "vitamin D",
}


FHIR_ONLY = (
    "read from the record: labs, vital signs, smoking status, pain and PHQ-9 scores, "
    "conditions, procedures, allergies and medications. Imaging reports and examination "
    "findings are not read from FHIR: add them in revspine."
)


@dataclass(frozen=True)
class CardContext:
    """What every card of one response shares."""

    hook_instance: str
    service_id: str
    patient_ref: str
    notes: tuple[str, ...] = ()
    data_note: str = FHIR_ONLY
    cards: list[dict[str, Any]] = field(default_factory=list)


def summary_text(text: str) -> str:
    """One line of fewer than 140 characters, cut at a word boundary with an ellipsis."""
    line = " ".join(text.split())
    if len(line) <= MAX_SUMMARY:
        return line
    cut = line[: MAX_SUMMARY - 1].rsplit(" ", 1)[0].rstrip(" ,;:-")
    return (cut or line[: MAX_SUMMARY - 1]) + "…"


def strip_empty(value: Any) -> Any:
    """``value`` without null, empty-string, empty-array or empty-object members (recursively)."""
    if isinstance(value, dict):
        out = {k: strip_empty(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if not _empty(v)}
    if isinstance(value, list | tuple):
        items = [strip_empty(v) for v in value]
        return [v for v in items if not _empty(v)]
    return value


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and len(value) == 0)


def md(text: object) -> str:
    """Text safe inside GitHub-flavoured Markdown (no HTML, no emphasis from record data)."""
    out = str(text)
    for ch in "\\`*_[]<>|":
        out = out.replace(ch, "\\" + ch)
    return out


def card(
    a: Assessment,
    ctx: CardContext,
    key: str,
    summary: str,
    indicator: str,
    detail: list[str],
    *,
    topic: tuple[str, str],
    rules: Iterable[str],
    evidence: Iterable[str],
    suggestions: list[dict[str, Any]] | None = None,
    override: bool = False,
) -> dict[str, Any]:
    rule_ids = list(dict.fromkeys(r for r in rules if r))
    knowledge = f"{a.knowledge.id} {a.knowledge.version}"
    footer = (
        f"revspine {__version__} · knowledge {knowledge} · as of {a.as_of.isoformat()}. "
        "Advice for a qualified clinician to review, not an order."
    )
    card: dict[str, Any] = {
        "uuid": card_uuid(ctx, key),
        "summary": summary_text(summary),
        "indicator": indicator,
        "detail": "\n".join([*detail, "", "---", footer]).strip(),
        "source": {
            "label": f"revspine (knowledge {a.knowledge.version})",
            "topic": {"system": TOPIC_SYSTEM, "code": topic[0], "display": topic[1]},
        },
        "extension": {
            "revspine.ruleIds": rule_ids,
            "revspine.knowledge": knowledge,
            "revspine.knowledgeSha256": a.knowledge.sha256,
            "revspine.evidence": list(dict.fromkeys(evidence)),
            "revspine.asOf": a.as_of.isoformat(),
        },
    }
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = "any"
    if override:
        card["overrideReasons"] = [
            {"system": OVERRIDE_SYSTEM, "code": code, "display": display}
            for code, display in OVERRIDE_REASONS
        ]
    return card


def card_uuid(ctx: CardContext, key: str) -> str:
    return str(
        uuid.uuid5(uuid.NAMESPACE_URL, f"revspine-cds/{ctx.service_id}/{ctx.hook_instance}/{key}")
    )


def listing(prefix: str, items: list[WorkupItem]) -> str:
    """``prefix`` + the tests' short names, as many as fit a summary, then "+N more"."""
    names = [SHORT.get(w.test, w.test) for w in items]
    for shown in range(len(names), 0, -1):
        rest = len(names) - shown
        text = prefix + ", ".join(names[:shown]) + (f" +{rest} more" if rest else "")
        if len(text) <= MAX_SUMMARY:
            return text
    return prefix + f"{len(names)} tests"


def workup_detail(items: list[WorkupItem]) -> list[str]:
    lines: list[str] = []
    for blocking, head in ((True, "Blocks the revision decision"), (False, "Also recommended")):
        chosen = [w for w in items if w.blocks_decision is blocking]
        if chosen:
            lines += ["", f"**{head}:**"]
            lines += [
                f"- **{md(SHORT.get(w.test, w.test))}**{' (urgent)' if w.priority == 'urgent' else ''}: "
                f"{md(w.reason)} ({w.rule_id}{evidence_text(w.evidence)})"
                for w in chosen
            ]
    lines.append(rule_line([w.rule_id for w in items], [e for w in items for e in w.evidence]))
    return lines


def workup_suggestions(
    a: Assessment, ctx: CardContext, items: list[WorkupItem]
) -> list[dict[str, Any]]:
    requests = service_requests(a, ctx)
    out = []
    for w in items:
        resource = requests.get(w.test)
        if resource is None:
            continue
        label = SHORT.get(w.test, w.test)
        out.append(
            {
                "label": summary_text(f"Order {label}"),
                "uuid": card_uuid(ctx, f"suggest/{w.test}"),
                "isRecommended": w.blocks_decision,
                "actions": [
                    {
                        "type": "create",
                        "description": f"Propose {label} ({w.rule_id}): {w.reason}",
                        "resource": resource,
                    }
                ],
            }
        )
    return out


def service_requests(a: Assessment, ctx: CardContext) -> dict[str, dict[str, Any]]:
    """The ServiceRequest ``assessment_to_fhir`` writes for each workup test (id left out: the
    client assigns it on create)."""
    bundle = assessment_to_fhir(a, case_ref=ctx.patient_ref)
    out: dict[str, dict[str, Any]] = {}
    for entry in bundle["entry"]:
        r = entry["resource"]
        if r["resourceType"] != "ServiceRequest":
            continue
        for coding in r.get("code", {}).get("coding", []):
            if coding.get("system", "").endswith("/CodeSystem/workup"):
                out[coding["code"]] = {k: v for k, v in r.items() if k != "id"}
    return out


def open_gates(a: Assessment) -> list[Recommendation]:
    return [r for r in a.optimisation if r.code in GATES and r.status in ("not_met", "unknown")]


def evidence_text(evidence: Iterable[str]) -> str:
    refs = list(dict.fromkeys(evidence))
    return "; evidence " + ", ".join(f"[{e}]" for e in refs) if refs else ""


def rule_line(rules: Iterable[str], evidence: Iterable[str]) -> str:
    ids = list(dict.fromkeys(r for r in rules if r))
    refs = list(dict.fromkeys(evidence))
    text = f"Rules: {', '.join(ids)}." if ids else ""
    if refs:
        text += " Evidence (REFERENCE.md): " + ", ".join(f"[{e}]" for e in refs) + "."
    return text.strip()
