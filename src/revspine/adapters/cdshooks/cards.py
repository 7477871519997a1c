"""Cards from an assessment: ``patient-view`` (pathway summary, red flags, missing workup) and the
order gate of ``order-select``/``order-sign`` (what is missing before the ordered surgery).

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
from revspine.adapters.cdshooks.orders import SpineOrder
from revspine.adapters.fhir import assessment_to_fhir
from revspine.domain.assessment import Assessment, Recommendation, RedFlag, WorkupItem

__all__ = [
    "OVERRIDE_REASONS",
    "CardContext",
    "order_cards",
    "patient_view_cards",
    "strip_empty",
    "summary_text",
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
_GATES = {
    "smoking_cessation": "smoking",
    "glucose_control": "HbA1c",
    "nutrition": "nutrition",
    "vitamin_d": "vitamin D",
}
_DISPOSITION = {
    "urgent": ("warning", "FBSS pathway: urgent - red flag(s) need same-day evaluation"),
    "incomplete_workup": ("warning", "FBSS pathway: workup incomplete - no revision decision yet"),
    "non_surgical": ("info", "FBSS pathway: non-surgical management suggested"),
    "surgical_candidate": ("info", "FBSS pathway: revision may be considered (surgeon review)"),
}


@dataclass(frozen=True)
class CardContext:
    """What every card of one response shares."""

    hook_instance: str
    service_id: str
    patient_ref: str
    notes: tuple[str, ...] = ()
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


# -- patient-view ------------------------------------------------------------------------------


def patient_view_cards(a: Assessment, ctx: CardContext) -> list[dict[str, Any]]:
    """Red flags (critical), the pathway summary, and the missing workup as suggestions."""
    for flag in a.red_flags:
        ctx.cards.append(_red_flag_card(a, ctx, flag))
    ctx.cards.append(_disposition_card(a, ctx))
    if a.workup:
        blocking = [w for w in a.workup if w.blocks_decision]
        head = "Missing before a revision decision" if blocking else "Suggested workup"
        ctx.cards.append(
            _card(
                a,
                ctx,
                "workup",
                _listing(f"{head}: ", blocking or a.workup),
                "warning" if blocking else "info",
                _workup_detail(a.workup),
                topic=("workup", "Missing workup"),
                rules=[w.rule_id for w in a.workup],
                evidence=[e for w in a.workup for e in w.evidence],
                suggestions=_workup_suggestions(a, ctx, a.workup),
            )
        )
    return ctx.cards


def _red_flag_card(a: Assessment, ctx: CardContext, flag: RedFlag) -> dict[str, Any]:
    name = flag.code.replace("_", " ")
    detail = [
        f"**Red flag: {md(name)}.** {md(flag.rationale)}",
        f"**Action:** {md(flag.action)}",
        _facts_line(flag),
        _rule_line([flag.rule_id], flag.evidence),
    ]
    return _card(
        a,
        ctx,
        f"red-flag/{flag.code}",
        f"Red flag: {name} - {flag.action}",
        "critical",
        detail,
        topic=("red-flag", "Red flag"),
        rules=[flag.rule_id],
        evidence=flag.evidence,
    )


def _disposition_card(a: Assessment, ctx: CardContext) -> dict[str, Any]:
    d = a.disposition
    indicator, summary = _DISPOSITION[d.code]
    lines = [f"**{md(d.summary)}**"]
    lines += [f"- {md(r)}" for r in d.reasons[:8]]
    causes = [
        f"- {md(c.cause.replace('_', ' '))}: {c.likelihood} ({', '.join(c.rule_ids)})"
        for c in a.differential[:4]
    ]
    if causes:
        lines += ["", "**Leading causes considered:**", *causes]
    gates = _open_gates(a)
    if gates:
        lines += ["", "**Optimisation:**"]
        lines += [f"- {md(r.text)} ({r.rule_id})" for r in gates]
    lines += _data_lines(a, ctx)
    rules = [d.rule_id, *(r for c in a.differential[:4] for r in c.rule_ids)]
    rules += [r.rule_id for r in gates]
    lines.append(_rule_line(rules, [e for c in a.differential[:4] for e in c.evidence]))
    return _card(
        a,
        ctx,
        "disposition",
        summary,
        indicator,
        lines,
        topic=("disposition", "FBSS pathway disposition"),
        rules=rules,
        evidence=[e for c in a.differential[:4] for e in c.evidence],
    )


# -- order-select / order-sign -----------------------------------------------------------------


def order_cards(a: Assessment, orders: list[SpineOrder], ctx: CardContext) -> list[dict[str, Any]]:
    """Cards for spine surgery being ordered: open red flags (critical), missing workup and open
    optimisation gates, a non-surgical disposition (warning). None when all is complete."""
    order = orders[0]
    what = order.label
    lines_order = [
        f"Order: {md(order.text)} ({md(order.reference)}; matched by {md(order.matched_by)}"
        f"{', code not verified' if order.verified == 'unverified' else ''})."
    ]
    if a.red_flags:
        names = ", ".join(f.code.replace("_", " ") for f in a.red_flags)
        detail = [*lines_order, ""]
        for f in a.red_flags:
            detail += [
                f"- **{md(f.code.replace('_', ' '))}**: {md(f.rationale)} "
                f"Action: {md(f.action)} ({f.rule_id})"
            ]
        detail.append(
            _rule_line(
                [f.rule_id for f in a.red_flags], [e for f in a.red_flags for e in f.evidence]
            )
        )
        ctx.cards.append(
            _card(
                a,
                ctx,
                "order/red-flags",
                f"Hold {what}: open red flag - {names}",
                "critical",
                detail,
                topic=("order-red-flag", "Red flag before surgery"),
                rules=[f.rule_id for f in a.red_flags],
                evidence=[e for f in a.red_flags for e in f.evidence],
                override=True,
            )
        )
    if a.workup:
        suggestions = _workup_suggestions(a, ctx, a.workup)
        if order.resource_id is not None:
            suggestions.append(_withdraw(ctx, order))
        ctx.cards.append(
            _card(
                a,
                ctx,
                "order/workup",
                _listing(f"{what} ordered, workup incomplete: ", a.workup),
                "warning",
                [*lines_order, "", *_workup_detail(a.workup)],
                topic=("order-workup", "Incomplete workup before surgery"),
                rules=[w.rule_id for w in a.workup],
                evidence=[e for w in a.workup for e in w.evidence],
                suggestions=suggestions,
                override=True,
            )
        )
    gates = _open_gates(a)
    timing = [r for r in a.surgical_planning if r.code == "timing" and r.status != "ready"]
    if gates or timing:
        labels = [f"{_GATES[r.code]} ({(r.status or '').replace('_', ' ')})" for r in gates]
        detail = [*lines_order, ""]
        detail += [f"- **{_GATES[r.code]}**: {md(r.text)} ({r.rule_id})" for r in gates]
        detail += [f"- {md(r.text)} ({r.rule_id})" for r in timing]
        rules = [r.rule_id for r in gates + timing]
        evidence = [e for r in gates + timing for e in r.evidence]
        detail.append(_rule_line(rules, evidence))
        head = ", ".join(labels) if labels else "optimisation gates open"
        ctx.cards.append(
            _card(
                a,
                ctx,
                "order/optimisation",
                f"Patient not optimised for {what.lower()}: {head}",
                "warning",
                detail,
                topic=("order-optimisation", "Not optimised before surgery"),
                rules=rules,
                evidence=evidence,
                override=True,
            )
        )
    if a.disposition.code == "non_surgical":
        detail = [
            *lines_order,
            "",
            f"**{md(a.disposition.summary)}**",
            *(f"- {md(r)}" for r in a.disposition.reasons[:8]),
            "",
            "Tests that apply only before a revision (e.g. ESR and CRP) are not listed while the "
            "pathway advises against one: check them if the revision goes ahead.",
            _rule_line([a.disposition.rule_id], []),
        ]
        ctx.cards.append(
            _card(
                a,
                ctx,
                "order/non-surgical",
                f"{what} ordered although the FBSS pathway suggests non-surgical care",
                "warning",
                detail,
                topic=("order-disposition", "Pathway disposition"),
                rules=[a.disposition.rule_id],
                evidence=[],
                override=True,
            )
        )
    return ctx.cards


# -- shared pieces -----------------------------------------------------------------------------


def _card(
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
        "uuid": _uuid(ctx, key),
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


def _uuid(ctx: CardContext, key: str) -> str:
    return str(
        uuid.uuid5(uuid.NAMESPACE_URL, f"revspine-cds/{ctx.service_id}/{ctx.hook_instance}/{key}")
    )


def _listing(prefix: str, items: list[WorkupItem]) -> str:
    """``prefix`` + the tests' short names, as many as fit a summary, then "+N more"."""
    names = [SHORT.get(w.test, w.test) for w in items]
    for shown in range(len(names), 0, -1):
        rest = len(names) - shown
        text = prefix + ", ".join(names[:shown]) + (f" +{rest} more" if rest else "")
        if len(text) <= MAX_SUMMARY:
            return text
    return prefix + f"{len(names)} tests"


def _workup_detail(items: list[WorkupItem]) -> list[str]:
    lines: list[str] = []
    for blocking, head in ((True, "Blocks the revision decision"), (False, "Also recommended")):
        chosen = [w for w in items if w.blocks_decision is blocking]
        if chosen:
            lines += ["", f"**{head}:**"]
            lines += [
                f"- **{md(SHORT.get(w.test, w.test))}**{' (urgent)' if w.priority == 'urgent' else ''}: "
                f"{md(w.reason)} ({w.rule_id}{_evidence_text(w.evidence)})"
                for w in chosen
            ]
    lines.append(_rule_line([w.rule_id for w in items], [e for w in items for e in w.evidence]))
    return lines


def _workup_suggestions(
    a: Assessment, ctx: CardContext, items: list[WorkupItem]
) -> list[dict[str, Any]]:
    requests = _service_requests(a, ctx)
    out = []
    for w in items:
        resource = requests.get(w.test)
        if resource is None:
            continue
        label = SHORT.get(w.test, w.test)
        out.append(
            {
                "label": summary_text(f"Order {label}"),
                "uuid": _uuid(ctx, f"suggest/{w.test}"),
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


def _withdraw(ctx: CardContext, order: SpineOrder) -> dict[str, Any]:
    return {
        "label": f"Withdraw the draft {order.label.lower()} order until the workup is complete",
        "uuid": _uuid(ctx, "suggest/withdraw"),
        "isRecommended": False,
        "actions": [
            {
                "type": "delete",
                "description": f"Remove the draft order {order.reference}",
                "resourceId": order.reference,
            }
        ],
    }


def _service_requests(a: Assessment, ctx: CardContext) -> dict[str, dict[str, Any]]:
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


def _open_gates(a: Assessment) -> list[Recommendation]:
    return [r for r in a.optimisation if r.code in _GATES and r.status in ("not_met", "unknown")]


def _facts_line(item: RedFlag) -> str:
    facts = [f"{f.field} = {f.value if f.value is not None else 'unknown'}" for f in item.facts[:6]]
    return f"Patient facts: {md('; '.join(facts))}." if facts else ""


def _data_lines(a: Assessment, ctx: CardContext) -> list[str]:
    lines = [
        "",
        "**Data:** read from the record: labs, vital signs, smoking status, pain and PHQ-9 "
        "scores, conditions, procedures, allergies and medications. Imaging reports and "
        "examination findings are not read from FHIR: add them in revspine.",
    ]
    missing = list(dict.fromkeys(m.field for m in a.missing_data))
    if missing:
        more = f" (+{len(missing) - 10} more)" if len(missing) > 10 else ""
        lines.append(f"Unknown and relevant: {md(', '.join(missing[:10]))}{more}.")
    lines += [f"- {md(n)}" for n in ctx.notes[:8]]
    return lines


def _evidence_text(evidence: Iterable[str]) -> str:
    refs = list(dict.fromkeys(evidence))
    return "; evidence " + ", ".join(f"[{e}]" for e in refs) if refs else ""


def _rule_line(rules: Iterable[str], evidence: Iterable[str]) -> str:
    ids = list(dict.fromkeys(r for r in rules if r))
    refs = list(dict.fromkeys(evidence))
    text = f"Rules: {', '.join(ids)}." if ids else ""
    if refs:
        text += " Evidence (REFERENCE.md): " + ", ".join(f"[{e}]" for e in refs) + "."
    return text.strip()
