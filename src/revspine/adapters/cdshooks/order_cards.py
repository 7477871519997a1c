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

Card = dict[str, Any]


def order_cards(a: Assessment, orders: list[SpineOrder], ctx: CardContext) -> list[Card]:
    """The cards for ``orders`` (the first recognised spine operation is named)."""
    order = orders[0]
    head = [
        f"Order: {md(order.text)} ({md(order.reference)}; matched by {md(order.matched_by)}"
        f"{', code not verified' if order.verified == 'unverified' else ''}).",
        "",
    ]
    for build in (_red_flags, _workup, _optimisation, _non_surgical):
        found = build(a, order, ctx, head)
        if found is not None:
            ctx.cards.append(found)
    return ctx.cards


def _red_flags(a: Assessment, order: SpineOrder, ctx: CardContext, head: list[str]) -> Card | None:
    if not a.red_flags:
        return None
    names = ", ".join(f.code.replace("_", " ") for f in a.red_flags)
    detail = [
        *head,
        "Evaluate the same day: some red flags are themselves an indication for urgent "
        "surgery, others (infection, malignancy) need their diagnosis confirmed first.",
    ]
    detail += [
        f"- **{md(f.code.replace('_', ' '))}**: {md(f.rationale)} Action: {md(f.action)} "
        f"({f.rule_id})"
        for f in a.red_flags
    ]
    rules = [f.rule_id for f in a.red_flags]
    evidence = [e for f in a.red_flags for e in f.evidence]
    detail.append(rule_line(rules, evidence))
    return card(
        a,
        ctx,
        "order/red-flags",
        f"Open red flag before {order.label.lower()}: {names} - same-day evaluation",
        "critical",
        detail,
        topic=("order-red-flag", "Red flag before surgery"),
        rules=rules,
        evidence=evidence,
        override=True,
    )


def _workup(a: Assessment, order: SpineOrder, ctx: CardContext, head: list[str]) -> Card | None:
    if not a.workup:
        return None
    suggestions = workup_suggestions(a, ctx, a.workup)
    if order.resource_id is not None:
        suggestions.append(_withdraw(ctx, order))
    return card(
        a,
        ctx,
        "order/workup",
        listing(f"{order.label} ordered, workup incomplete: ", a.workup),
        "warning",
        [*head, *workup_detail(a.workup)],
        topic=("order-workup", "Incomplete workup before surgery"),
        rules=[w.rule_id for w in a.workup],
        evidence=[e for w in a.workup for e in w.evidence],
        suggestions=suggestions,
        override=True,
    )


def _optimisation(
    a: Assessment, order: SpineOrder, ctx: CardContext, head: list[str]
) -> Card | None:
    gates = open_gates(a)
    timing = [r for r in a.surgical_planning if r.code == "timing" and r.status != "ready"]
    if not gates and not timing:
        return None
    labels = [f"{GATES[r.code]} ({(r.status or '').replace('_', ' ')})" for r in gates]
    detail = [*head]
    detail += [f"- **{GATES[r.code]}**: {md(r.text)} ({r.rule_id})" for r in gates]
    detail += [f"- {md(r.text)} ({r.rule_id})" for r in timing]
    rules = [r.rule_id for r in gates + timing]
    evidence = [e for r in gates + timing for e in r.evidence]
    detail.append(rule_line(rules, evidence))
    return card(
        a,
        ctx,
        "order/optimisation",
        f"Patient not optimised for {order.label.lower()}: "
        + (", ".join(labels) if labels else "optimisation gates open"),
        "warning",
        detail,
        topic=("order-optimisation", "Not optimised before surgery"),
        rules=rules,
        evidence=evidence,
        override=True,
    )


def _non_surgical(
    a: Assessment, order: SpineOrder, ctx: CardContext, head: list[str]
) -> Card | None:
    if a.disposition.code != "non_surgical":
        return None
    detail = [
        *head,
        f"**{md(a.disposition.summary)}**",
        *(f"- {md(r)}" for r in a.disposition.reasons[:8]),
        "",
        "Tests that apply only before a revision (e.g. ESR and CRP) are not listed while the "
        "pathway advises against one: check them if the revision goes ahead.",
        rule_line([a.disposition.rule_id], []),
    ]
    return card(
        a,
        ctx,
        "order/non-surgical",
        f"{order.label} ordered although the FBSS pathway suggests non-surgical care",
        "warning",
        detail,
        topic=("order-disposition", "Pathway disposition"),
        rules=[a.disposition.rule_id],
        evidence=[],
        override=True,
    )


def _withdraw(ctx: CardContext, order: SpineOrder) -> Card:
    """A suggestion to remove the draft order (never recommended by default)."""
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
