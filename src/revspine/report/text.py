"""The terminal report: one assessment as Rich renderables, summary first.

Order: disposition banner (red when urgent), red flags, ranked differential, missing workup,
decision sensitivity (which missing test would change the disposition), optimisation, surgical planning, post-operative orders, non-surgical plan, missing data,
warnings, derived values, knowledge base (version, hash, site overrides), and the intended-use
notice. Every row shows the rule id that produced it so the clinician can look it up in
``revspine rules``. All text from the assessment is rendered literally (never as Rich markup).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping

from rich import box
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from revspine.domain.assessment import Assessment, Fact, Finding, Recommendation

__all__ = ["NOTICE", "render_text", "render_text_plain"]

NOTICE = (
    "Advice for a clinician, not an order: review the reasons and evidence; "
    "the decision stays with the treating team."
)

_DISPOSITION_STYLE = {
    "urgent": "bold white on red",
    "incomplete_workup": "bold black on yellow",
    "non_surgical": "bold white on blue",
    "surgical_candidate": "bold white on green",
}
_BORDER = {
    "urgent": "red",
    "incomplete_workup": "yellow",
    "non_surgical": "blue",
    "surgical_candidate": "green",
}
_LIKELIHOOD_STYLE = {"high": "bold red", "moderate": "yellow", "low": "dim"}
_STRENGTH_MARK = {"confirmatory": "●", "supporting": "○", "weak": "·"}
_MAX_FINDINGS = 2


def render_text(assessment: Assessment) -> RenderableType:
    """The whole report as one Rich renderable (print it with a ``rich.console.Console``)."""
    a = assessment
    parts: list[RenderableType] = [_banner(a)]
    if a.red_flags:
        parts.append(_red_flags(a))
    parts.append(_differential(a))
    parts.append(_workup(a))
    if a.sensitivity:
        parts.append(_sensitivity(a))
    for title, items in (
        ("Pre-operative optimisation", a.optimisation),
        ("Surgical planning", a.surgical_planning),
        ("Post-operative orders (options for the surgeon)", a.postop_orders),
        ("Non-surgical plan", a.nonsurgical_plan),
    ):
        if items:
            parts.append(_recommendations(title, items))
    if a.missing_data:
        parts.append(_missing(a))
    if a.warnings:
        parts.append(_warnings(a))
    parts.append(_derived(a))
    parts.append(_knowledge(a))
    parts.append(Text(NOTICE, style="italic"))
    return Group(*parts)


def render_text_plain(assessment: Assessment, width: int = 100) -> str:
    """The report as plain text without colour (for files and logs of record)."""
    buffer = io.StringIO()
    console = Console(
        file=buffer, width=width, color_system=None, force_terminal=False, highlight=False
    )
    console.print(render_text(assessment))
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------


def _t(text: object, style: str = "") -> Text:
    """Literal text (never interpreted as markup)."""
    return Text(str(text), style=style)


def _label(code: str) -> str:
    return code.replace("_", " ")


def _table(
    title: str, *columns: str, wide: Mapping[int, int], min_width: Mapping[int, int] | None = None
) -> Table:
    """A report table; columns in ``wide`` (index → ratio) share the free width and wrap, the
    others stay on one line."""
    table = Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        expand=True,
    )
    for i, column in enumerate(columns):
        if i in wide:
            floor = (min_width or {}).get(i, 12)
            table.add_column(column, ratio=wide[i], min_width=floor, overflow="fold")
        else:
            table.add_column(column, no_wrap=True)
    return table


def _facts(facts: Iterable[Fact], limit: int = 4) -> str:
    shown = [f"{f.field}={_value(f.value)}" for f in list(facts)[:limit]]
    return ", ".join(shown)


def _value(value: object) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "/".join(str(v) for v in value)
    return str(value)


def _banner(a: Assessment) -> Panel:
    d = a.disposition
    lines: list[RenderableType] = [
        Text(f" {_label(d.code).upper()} ", style=_DISPOSITION_STYLE.get(d.code, "bold")),
        Text(d.summary, style="bold"),
    ]
    for reason in d.reasons:
        lines.append(Text.assemble("  • ", _t(reason)))
    lines.append(_t(f"  rule {d.rule_id}", "dim"))
    who = f"case {a.case_id}" if a.case_id else "case (no id)"
    return Panel(
        Group(*lines),
        title=Text(f"revspine — {who} — as of {a.as_of.isoformat()}", style="bold"),
        title_align="left",
        border_style=_BORDER.get(d.code, "white"),
        box=box.HEAVY if d.code == "urgent" else box.ROUNDED,
    )


def _red_flags(a: Assessment) -> Table:
    table = _table(
        "RED FLAGS — same-day evaluation", "Flag", "Why", "Action", "Rule", wide={0: 2, 1: 4, 2: 4}
    )
    table.title_style = "bold red"
    for rf in a.red_flags:
        why = _t(rf.rationale)
        if rf.facts:
            why.append(f"\n{_facts(rf.facts)}", style="dim")
        table.add_row(_t(_label(rf.code), "bold red"), why, _t(rf.action), _t(rf.rule_id))
    return table


def _findings(findings: list[Finding]) -> Text:
    if not findings:
        return _t("—", "dim")
    out = Text()
    for i, f in enumerate(findings[:_MAX_FINDINGS]):
        if i:
            out.append("\n")
        out.append(f"{_STRENGTH_MARK.get(f.strength, '-')} {f.text}")
    extra = len(findings) - _MAX_FINDINGS
    if extra > 0:
        out.append(f"\n+{extra} more", style="dim")
    return out


def _differential(a: Assessment) -> RenderableType:
    """Ranked causes as a list (readable at any width): cause, likelihood, rules, then the main
    findings for and against."""
    title = _t("Ranked differential (● confirmatory  ○ supporting  · weak)", "bold")
    if not a.differential:
        return Group(title, _t("No cause has findings in its favour yet.", "dim"), _t(""))
    outer = Table.grid(padding=(0, 1), expand=True)
    outer.add_column(no_wrap=True, justify="right")
    outer.add_column(ratio=1)
    for c in a.differential:
        head = Text.assemble(
            (_label(c.cause), "bold"),
            "  ",
            (c.likelihood.upper(), _LIKELIHOOD_STYLE.get(c.likelihood, "")),
            "  ",
            (", ".join(c.rule_ids), "dim"),
        )
        if not c.surgically_correctable:
            head.append("  (not surgically correctable)", style="dim")
        detail = Table.grid(padding=(0, 1), expand=True)
        detail.add_column(no_wrap=True, style="dim")
        detail.add_column(ratio=1, overflow="fold")
        detail.add_row("for", _findings(c.for_))
        detail.add_row("against", _findings(c.against))
        outer.add_row(_t(f"{c.rank}."), Group(head, detail))
    return Group(title, outer, _t(""))


def _workup(a: Assessment) -> RenderableType:
    if not a.workup:
        return _t("Workup: nothing missing.", "dim")
    table = _table(
        "Missing workup (urgent and decision-blocking first)",
        "Test",
        "Priority",
        "Blocks",
        "Reason",
        "Rule",
        wide={0: 2, 3: 5},
        min_width={0: 10},
    )
    for w in a.workup:
        table.add_row(
            _t(_label(w.test), "bold" if w.blocks_decision else ""),
            _t(w.priority, "bold red" if w.priority == "urgent" else ""),
            _t("yes" if w.blocks_decision else "no", "bold" if w.blocks_decision else "dim"),
            _t(w.reason),
            _t(w.rule_id),
        )
    return table


def _sensitivity(a: Assessment) -> Table:
    """Which missing test would change the disposition (hypothetical results, never patient
    data), most decisive first."""
    table = _table(
        "Decision sensitivity — hypothetical results, not patient data",
        "Missing test",
        "If the result were…",
        "Disposition",
        "With the other blocking tests done",
        wide={0: 2, 1: 4, 3: 3},
    )
    for item in a.sensitivity:
        verdict = (
            "DECISIVE"
            if item.decisive
            else ("decides with the others" if item.decisive_with_rest else "changes nothing alone")
        )
        head = _t(_label(item.test), "bold" if item.decisive else "")
        head.append(f"\n{verdict}", style="bold" if item.decisive else "dim")
        if not item.results:
            table.add_row(head, _t(item.note or "not simulated", "dim"), _t("—"), _t(""))
            continue
        for i, r in enumerate(item.results):
            table.add_row(
                head if i == 0 else _t(""),
                _t(r.label),
                _t(_label(r.disposition), _DISPOSITION_STYLE.get(r.disposition, "")),
                _t(", ".join(_label(d) for d in r.with_rest) or "—", "dim"),
            )
        if item.note:
            table.add_row(_t(""), _t(item.note, "dim"), _t(""), _t(""))
    return table


def _recommendations(title: str, items: list[Recommendation]) -> Table:
    table = _table(title, "Item", "Recommendation", "Rule", wide={1: 1})
    for r in items:
        item = _t(_label(r.code))
        if r.status:
            item.append(f"\n{r.status}", style="dim")
        text = _t(r.text)
        if r.unverified:
            text.append(
                "\n[unverified: relies on a fact REFERENCE.md marks unverified]", style="yellow"
            )
        if r.evidence:
            text.append(f"\nevidence: {_evidence(r.evidence)}", style="dim")
        table.add_row(item, text, _t(r.rule_id))
    return table


def _evidence(sources: Iterable[str]) -> str:
    return " ".join(f"[{s}]" for s in sources)


def _missing(a: Assessment) -> Table:
    table = _table(
        "Missing data (unknown inputs that mattered)",
        "Field",
        "Why it matters",
        "Rules",
        wide={1: 1},
    )
    grouped: dict[str, tuple[list[str], list[str]]] = {}
    for m in a.missing_data:
        whys, rules = grouped.setdefault(m.field, ([], []))
        if m.why not in whys:
            whys.append(m.why)
        if m.rule_id not in rules:
            rules.append(m.rule_id)
    for field, (whys, rules) in grouped.items():
        table.add_row(_t(field), _t("; ".join(whys)), _t(", ".join(rules)))
    return table


def _warnings(a: Assessment) -> Table:
    table = _table("Warnings about the input", "Field", "Warning", "Code", wide={1: 1})
    table.title_style = "bold yellow"
    for w in a.warnings:
        table.add_row(_t(w.field or "—"), _t(w.message), _t(w.code, "dim"))
    return table


def _derived(a: Assessment) -> Text:
    d = a.derived
    items = [
        ("age", d.age),
        ("BMI", d.bmi),
        ("prior surgeries", d.prior_surgeries),
        ("last surgery", d.last_surgery_date.isoformat() if d.last_surgery_date else None),
        ("days since", d.days_since_last_surgery),
        ("window", d.time_window),
        ("ODI %", d.odi_percent),
        ("PHQ-9", d.phq9_total),
        ("Caprini", d.caprini_score),
    ]
    out = Text("Derived: ", style="bold")
    out.append("; ".join(f"{name} {_value(value)}" for name, value in items))
    return out


def _knowledge(a: Assessment) -> Text:
    k = a.knowledge
    out = Text("Knowledge: ", style="bold")
    out.append(f"{k.id} {k.version} (sha256 {k.sha256[:12]})")
    if k.overrides:
        out.append("\nSite overrides: ", style="bold yellow")
        changes = [
            f"{o.get('key')}: {_value(o.get('base'))} → {_value(o.get('value'))} ({o.get('source')})"
            for o in k.overrides
        ]
        out.append("; ".join(changes))
    else:
        out.append("; no site overrides", style="dim")
    return out
