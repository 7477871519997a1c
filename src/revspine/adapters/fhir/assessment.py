"""Assessment → FHIR R4 Bundle: advice as proposals, never orders.

* one **RequestGroup** (status ``draft``, intent ``proposal``) whose code is the disposition and
  whose actions reference everything below;
* a **ServiceRequest** per missing workup item (code, reason, priority; intent ``proposal``);
* a **MedicationRequest** per prophylaxis option (antibiotic agents, LMWH when indicated; intent
  ``proposal``, never ``order``) and a ServiceRequest for mechanical VTE prophylaxis;
* a **DetectedIssue** per red flag (severity ``high``) and one for an incomplete workup.

Every resource carries the id of the rule that produced it in the extension
``http://revspine.example/fhir/StructureDefinition/rule-id``, its evidence (REFERENCE.md source
numbers) in ``.../evidence`` extensions, and its reason in ``reasonCode.text``/``note``/``detail``.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from revspine.adapters.fhir import _json as j
from revspine.adapters.fhir._maps import load_maps
from revspine.domain.assessment import (
    Assessment,
    Fact,
    Recommendation,
    RedFlag,
    WorkupItem,
)

__all__ = ["assessment_to_fhir"]

WORKUP_TEXT = {
    "history_and_exam": "History and physical examination",
    "xray": "Spine radiographs",
    "flexion_extension_xray": "Flexion-extension radiographs",
    "standing_full_spine_xray": "Standing full-length spine radiographs",
    "ct": "CT of the spine",
    "ct_myelogram": "CT myelogram",
    "mri_with_contrast": "MRI of the spine with gadolinium contrast",
    "esr": "Erythrocyte sedimentation rate (ESR)",
    "crp": "C-reactive protein (CRP)",
    "wbc": "White blood cell count",
    "blood_cultures": "Blood cultures",
    "albumin": "Serum albumin",
    "transferrin": "Serum transferrin",
    "total_lymphocyte_count": "Total lymphocyte count",
    "prealbumin": "Prealbumin",
    "hba1c": "Haemoglobin A1c",
    "vitamin_d": "25-hydroxyvitamin D",
    "emg_ncs": "EMG / nerve conduction studies",
    "selective_nerve_root_block": "Selective nerve root block",
    "facet_block": "Facet joint / medial branch block",
    "pars_block": "Pars interarticularis block",
    "si_joint_block": "Sacroiliac joint block",
    "hip_evaluation": "Hip evaluation (imaging or intra-articular injection)",
    "vascular_studies": "Ankle-brachial index / arterial studies",
    "psychological_evaluation": "Presurgical psychological evaluation",
}
_MAX_FACTS = 6


class _Out:
    def __init__(self, seed: str, subject: dict[str, Any]) -> None:
        self.seed = seed
        self.subject = subject
        self.entries: list[dict[str, Any]] = []
        self.count = 0

    def add(self, resource: dict[str, Any]) -> dict[str, str]:
        self.count += 1
        rid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{j.REVSPINE}/{self.seed}/{self.count}"))
        resource = {"resourceType": resource.pop("resourceType"), "id": rid, **resource}
        full = f"urn:uuid:{rid}"
        self.entries.append({"fullUrl": full, "resource": resource})
        return {"reference": full}


def _provenance(rule_id: str, evidence: list[str]) -> list[dict[str, Any]]:
    ext: list[dict[str, Any]] = [{"url": j.EXT_RULE_ID, "valueString": rule_id}] if rule_id else []
    ext += [{"url": j.EXT_EVIDENCE, "valueString": f"REFERENCE.md [{e}]"} for e in evidence]
    return ext


def _facts(facts: list[Fact]) -> str:
    shown = [f"{f.field} = {f.value if f.value is not None else 'unknown'}" for f in facts]
    more = f" (+{len(shown) - _MAX_FACTS} more)" if len(shown) > _MAX_FACTS else ""
    return "; ".join(shown[:_MAX_FACTS]) + more


def _note(
    rule_id: str, evidence: list[str], facts: list[Fact], *extra: str
) -> list[dict[str, str]]:
    parts = [*extra, f"Rule {rule_id}." if rule_id else ""]
    if evidence:
        parts.append("Evidence: " + ", ".join(f"[{e}]" for e in evidence) + ".")
    if facts:
        parts.append(f"Patient facts: {_facts(facts)}.")
    return [{"text": " ".join(p for p in parts if p)}]


def assessment_to_fhir(assessment: Assessment, case_ref: str | None = None) -> dict[str, Any]:
    """The assessment as a FHIR R4 ``collection`` Bundle (see the module docstring).

    ``case_ref`` (e.g. ``Patient/123``) is the subject of every resource; without it the
    subject is the case id as an identifier (or a display text), since revspine holds no PHI.
    """
    a = assessment
    if case_ref:
        subject: dict[str, Any] = {"reference": case_ref}
    elif a.case_id:
        subject = {
            "identifier": {"system": j.CASE_ID_SYSTEM, "value": a.case_id},
            "display": f"revspine case {a.case_id}",
        }
    else:
        subject = {"display": "assessed patient (no identifier)"}
    seed = hashlib.sha256(a.model_dump_json().encode()).hexdigest()[:16]
    out = _Out(seed, subject)
    authored = a.as_of.isoformat()
    actions: list[dict[str, Any]] = []
    for flag in a.red_flags:
        ref = out.add(_red_flag(flag, subject, authored))
        actions.append(
            {
                "extension": _provenance(flag.rule_id, []),
                "title": f"Red flag: {flag.code.replace('_', ' ')}",
                "description": flag.action,
                "priority": "stat",
                "resource": ref,
            }
        )
    blocking: list[dict[str, str]] = []
    for item in a.workup:
        ref = out.add(_workup(item, subject, authored))
        if item.blocks_decision:
            blocking.append(ref)
        actions.append(
            {
                "extension": _provenance(item.rule_id, []),
                "title": f"Workup: {WORKUP_TEXT.get(item.test, item.test)}",
                "description": item.reason,
                "priority": item.priority,
                "resource": ref,
            }
        )
    if a.disposition.code == "incomplete_workup":
        ref = out.add(_incomplete(a, subject, authored, blocking))
        actions.insert(
            0,
            {
                "extension": _provenance(a.disposition.rule_id, []),
                "title": "Incomplete workup: no revision decision yet",
                "description": a.disposition.summary,
                "priority": "urgent" if a.red_flags else "routine",
                "resource": ref,
            },
        )
    for rec in a.postop_orders:
        for resource in _prophylaxis(rec, subject, authored):
            ref = out.add(resource)
            actions.append(
                {
                    "extension": _provenance(rec.rule_id, []),
                    "title": f"Proposed peri-operative option: {rec.code.replace('_', ' ')}",
                    "description": rec.text,
                    "resource": ref,
                }
            )
    for group in (a.optimisation, a.surgical_planning, a.nonsurgical_plan, a.postop_orders):
        for rec in group:
            if rec.code in ("antibiotic_prophylaxis", "vte_prophylaxis"):
                continue
            actions.append(
                {
                    "extension": _provenance(rec.rule_id, rec.evidence),
                    "title": rec.code.replace("_", " ").capitalize(),
                    "description": rec.text,
                }
            )
    request_group: dict[str, Any] = {
        "resourceType": "RequestGroup",
        "extension": [
            *_provenance(a.disposition.rule_id, []),
            {"url": j.EXT_KNOWLEDGE, "valueString": f"{a.knowledge.id} {a.knowledge.version}"},
        ],
        "status": "draft",
        "intent": "proposal",
        "code": {
            "coding": [{"system": j.CS_DISPOSITION, "code": a.disposition.code}],
            "text": a.disposition.summary,
        },
        "subject": subject,
        "authoredOn": authored,
        "reasonCode": [{"text": r} for r in a.disposition.reasons]
        or [{"text": a.disposition.summary}],
        "note": [{"text": a.disposition.summary}, {"text": a.intended_use}],
    }
    if actions:
        request_group["action"] = actions
    entries = out.entries
    out.entries = []
    out.add(request_group)
    bundle_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{j.REVSPINE}/{seed}/assessment"))
    return {
        "resourceType": "Bundle",
        "id": bundle_id,
        "type": "collection",
        "timestamp": f"{authored}T00:00:00Z",
        "entry": out.entries + entries,
    }


def _red_flag(flag: RedFlag, subject: dict[str, Any], authored: str) -> dict[str, Any]:
    return {
        "resourceType": "DetectedIssue",
        "extension": _provenance(flag.rule_id, flag.evidence),
        "status": "preliminary",
        "code": {
            "coding": [{"system": j.CS_RED_FLAG, "code": flag.code}],
            "text": f"Red flag: {flag.code.replace('_', ' ')}",
        },
        "severity": "high",
        "patient": subject,
        "identifiedDateTime": authored,
        "detail": _note(flag.rule_id, flag.evidence, flag.facts, flag.rationale)[0]["text"],
        "mitigation": [{"action": {"text": flag.action}}],
    }


def _workup(item: WorkupItem, subject: dict[str, Any], authored: str) -> dict[str, Any]:
    label = WORKUP_TEXT.get(item.test, item.test)
    coding = [{"system": j.CS_WORKUP, "code": item.test, "display": label}]
    row = load_maps().export_row("Observation", f"lab:{item.test}")
    if row is not None:
        coding.append({"system": row.system, "code": row.code, "display": row.display})
    blocks = "yes" if item.blocks_decision else "no"
    return {
        "resourceType": "ServiceRequest",
        "extension": [
            *_provenance(item.rule_id, item.evidence),
            {"url": j.EXT_BLOCKS_DECISION, "valueBoolean": item.blocks_decision},
        ],
        "status": "draft",
        "intent": "proposal",
        "priority": item.priority,
        "code": {"coding": coding, "text": label},
        "subject": subject,
        "authoredOn": authored,
        "reasonCode": [{"text": item.reason}],
        "note": _note(
            item.rule_id, item.evidence, item.facts, f"Blocks the revision decision: {blocks}."
        ),
    }


def _incomplete(
    a: Assessment, subject: dict[str, Any], authored: str, blocking: list[dict[str, str]]
) -> dict[str, Any]:
    d = a.disposition
    resource: dict[str, Any] = {
        "resourceType": "DetectedIssue",
        "extension": _provenance(d.rule_id, []),
        "status": "preliminary",
        "code": {
            "coding": [{"system": j.CS_DISPOSITION, "code": d.code}],
            "text": "Incomplete workup before revision surgery",
        },
        "severity": "moderate",
        "patient": subject,
        "identifiedDateTime": authored,
        "detail": _note(d.rule_id, [], d.facts, d.summary, *d.reasons)[0]["text"],
        "mitigation": [
            {"action": {"text": "Complete the missing workup before deciding on revision surgery"}}
        ],
    }
    if blocking:
        resource["implicated"] = blocking
    return resource


def _prophylaxis(
    rec: Recommendation, subject: dict[str, Any], authored: str
) -> list[dict[str, Any]]:
    """MedicationRequest proposals (and a mechanical-prophylaxis ServiceRequest) for one option."""
    common = {
        "extension": _provenance(rec.rule_id, rec.evidence),
        "status": "draft",
        "intent": "proposal",
        "subject": subject,
        "authoredOn": authored,
    }
    out: list[dict[str, Any]] = []
    if rec.code == "antibiotic_prophylaxis":
        stop = rec.details.get("stop_within_h")
        for agent in rec.details.get("agents", []):
            redose = agent.get("redose_interval_h")
            dosing = (
                f"{agent['dose']}, starting within {agent['start_within_min_before_incision']:g} "
                f"min before incision; "
                + (f"redose every {redose:g} h" if redose else "no routine redose")
                + (f"; stop within {stop:g} h after the end of surgery" if stop else "")
            )
            out.append(
                {
                    "resourceType": "MedicationRequest",
                    **common,
                    "medicationCodeableConcept": {"text": str(agent["agent"]).capitalize()},
                    "reasonCode": [{"text": "Surgical antibiotic prophylaxis for spine surgery"}],
                    "note": _note(rec.rule_id, rec.evidence, rec.facts, rec.text),
                    "dosageInstruction": [{"text": dosing}],
                }
            )
    elif rec.code == "vte_prophylaxis":
        out.append(
            {
                "resourceType": "ServiceRequest",
                **common,
                "code": {"text": "Intermittent pneumatic compression (mechanical VTE prophylaxis)"},
                "reasonCode": [{"text": "VTE prophylaxis for spine surgery"}],
                "note": _note(rec.rule_id, rec.evidence, rec.facts, rec.text),
            }
        )
        if rec.details.get("pharmacologic"):
            out.append(
                {
                    "resourceType": "MedicationRequest",
                    **common,
                    "medicationCodeableConcept": {"text": "Low molecular weight heparin (LMWH)"},
                    "reasonCode": [{"text": "Pharmacological VTE prophylaxis for spine surgery"}],
                    "note": _note(rec.rule_id, rec.evidence, rec.facts, rec.text),
                    "dosageInstruction": [{"text": rec.text}],
                }
            )
    return out
