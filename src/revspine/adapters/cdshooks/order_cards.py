"""``order-select`` / ``order-sign`` cards: what is missing before the spine operation being
ordered — open red flags (critical), missing workup, open optimisation gates and a non-surgical
disposition (warning), each with override reasons. No card when everything is complete."""

from __future__ import annotations

from typing import Any

from revspine.adapters.cdshooks.cards import (
    GATES,
    CardContext,
    card,
    card_uuid,
    listing,
    md,
    open_gates,
    rule_line,
    workup_detail,
    workup_suggestions,
)
from revspine.adapters.cdshooks.orders import SpineOrder
from revspine.domain.assessment import Assessment

__all__ = ["order_cards"]


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
        detail.append(
            "Evaluate the same day: some red flags are themselves an indication for urgent "
            "surgery, others (infection, malignancy) need their diagnosis confirmed first."
        )
        for f in a.red_flags:
            detail += [
                f"- **{md(f.code.replace('_', ' '))}**: {md(f.rationale)} "
                f"Action: {md(f.action)} ({f.rule_id})"
            ]
        detail.append(
            rule_line(
                [f.rule_id for f in a.red_flags], [e for f in a.red_flags for e in f.evidence]
            )
        )
        ctx.cards.append(
            card(
                a,
                ctx,
                "order/red-flags",
                f"Open red flag before {what.lower()}: {names} - same-day evaluation",
                "critical",
                detail,
                topic=("order-red-flag", "Red flag before surgery"),
                rules=[f.rule_id for f in a.red_flags],
                evidence=[e for f in a.red_flags for e in f.evidence],
                override=True,
            )
        )
    if a.workup:
        suggestions = workup_suggestions(a, ctx, a.workup)
        if order.resource_id is not None:
            suggestions.append(_withdraw(ctx, order))
        ctx.cards.append(
            card(
                a,
                ctx,
                "order/workup",
                listing(f"{what} ordered, workup incomplete: ", a.workup),
                "warning",
                [*lines_order, "", *workup_detail(a.workup)],
                topic=("order-workup", "Incomplete workup before surgery"),
                rules=[w.rule_id for w in a.workup],
                evidence=[e for w in a.workup for e in w.evidence],
                suggestions=suggestions,
                override=True,
            )
        )
    gates = open_gates(a)
    timing = [r for r in a.surgical_planning if r.code == "timing" and r.status != "ready"]
    if gates or timing:
        labels = [f"{GATES[r.code]} ({(r.status or '').replace('_', ' ')})" for r in gates]
        detail = [*lines_order, ""]
        detail += [f"- **{GATES[r.code]}**: {md(r.text)} ({r.rule_id})" for r in gates]
        detail += [f"- {md(r.text)} ({r.rule_id})" for r in timing]
        rules = [r.rule_id for r in gates + timing]
        evidence = [e for r in gates + timing for e in r.evidence]
        detail.append(rule_line(rules, evidence))
        head = ", ".join(labels) if labels else "optimisation gates open"
        ctx.cards.append(
            card(
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
            rule_line([a.disposition.rule_id], []),
        ]
        ctx.cards.append(
            card(
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


def _withdraw(ctx: CardContext, order: SpineOrder) -> dict[str, Any]:
    return {
        "label": f"Withdraw the draft {order.label.lower()} order until the workup is complete",
        "uuid": card_uuid(ctx, "suggest/withdraw"),
        "isRecommended": False,
        "actions": [
            {
                "type": "delete",
                "description": f"Remove the draft order {order.reference}",
                "resourceId": order.reference,
            }
        ],
    }
