"""``patient-view`` cards: red flags (critical), the pathway summary (disposition, leading causes,
open optimisation gates, what the record could not tell) and the missing workup as suggestions
that create the ServiceRequests."""

from __future__ import annotations

from typing import Any

from revspine.adapters.cdshooks.cards import (
    CardContext,
    card,
    listing,
    md,
    open_gates,
    rule_line,
    workup_detail,
    workup_suggestions,
)
from revspine.domain.assessment import Assessment, RedFlag

__all__ = ["patient_view_cards"]

_DISPOSITION = {
    "urgent": ("warning", "FBSS pathway: urgent - red flag(s) need same-day evaluation"),
    "incomplete_workup": ("warning", "FBSS pathway: workup incomplete - no revision decision yet"),
    "non_surgical": ("info", "FBSS pathway: non-surgical management suggested"),
    "surgical_candidate": ("info", "FBSS pathway: revision may be considered (surgeon review)"),
}


def patient_view_cards(a: Assessment, ctx: CardContext) -> list[dict[str, Any]]:
    """Red flags (critical), the pathway summary, and the missing workup as suggestions."""
    for flag in a.red_flags:
        ctx.cards.append(_red_flag_card(a, ctx, flag))
    ctx.cards.append(_disposition_card(a, ctx))
    if a.workup:
        blocking = [w for w in a.workup if w.blocks_decision]
        head = "Missing before a revision decision" if blocking else "Suggested workup"
        ctx.cards.append(
            card(
                a,
                ctx,
                "workup",
                listing(f"{head}: ", blocking or a.workup),
                "warning" if blocking else "info",
                workup_detail(a.workup),
                topic=("workup", "Missing workup"),
                rules=[w.rule_id for w in a.workup],
                evidence=[e for w in a.workup for e in w.evidence],
                suggestions=workup_suggestions(a, ctx, a.workup),
            )
        )
    return ctx.cards


def _red_flag_card(a: Assessment, ctx: CardContext, flag: RedFlag) -> dict[str, Any]:
    name = flag.code.replace("_", " ")
    detail = [
        f"**Red flag: {md(name)}.** {md(flag.rationale)}",
        f"**Action:** {md(flag.action)}",
        _facts_line(flag),
        rule_line([flag.rule_id], flag.evidence),
    ]
    return card(
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
    gates = open_gates(a)
    if gates:
        lines += ["", "**Optimisation:**"]
        lines += [f"- {md(r.text)} ({r.rule_id})" for r in gates]
    lines += _data_lines(a, ctx)
    rules = [d.rule_id, *(r for c in a.differential[:4] for r in c.rule_ids)]
    rules += [r.rule_id for r in gates]
    lines.append(rule_line(rules, [e for c in a.differential[:4] for e in c.evidence]))
    return card(
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


def _facts_line(item: RedFlag) -> str:
    facts = [f"{f.field} = {f.value if f.value is not None else 'unknown'}" for f in item.facts[:6]]
    return f"Patient facts: {md('; '.join(facts))}." if facts else ""


def _data_lines(a: Assessment, ctx: CardContext) -> list[str]:
    lines = ["", f"**Data:** {ctx.data_note}"]
    missing = list(dict.fromkeys(m.field for m in a.missing_data))
    if missing:
        more = f" (+{len(missing) - 10} more)" if len(missing) > 10 else ""
        lines.append(f"Unknown and relevant: {md(', '.join(missing[:10]))}{more}.")
    lines += [f"- {md(n)}" for n in ctx.notes[:8]]
    return lines
