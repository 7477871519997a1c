"""Render a knowledge diff as text, Markdown or JSON."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from revspine.governance.kbdiff import KnowledgeDiff, KnowledgeLabel


def _v(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return "—" if value is None else str(value)


def _side(label: KnowledgeLabel) -> str:
    text = f"{label.spec}: {label.id} {label.version} (sha256 {label.sha256[:12]})"
    if label.overrides:
        text += "; site overrides: " + "; ".join(label.overrides)
    return text


def _headline(d: KnowledgeDiff) -> str:
    if d.empty:
        return f"No difference: no parameter changed and none of {d.compared} case(s) changed."
    return (
        f"{len(d.params)} parameter(s) changed; advice changed for {len(d.cases)} of "
        f"{d.compared} case(s)."
    )


def diff_text(d: KnowledgeDiff) -> str:
    """Plain-text report (the terminal default)."""
    lines = [
        "revspine knowledge diff — review before the update goes live",
        f"old  {_side(d.old)}",
        f"new  {_side(d.new)}",
        _headline(d),
        "",
    ]
    if d.params:
        lines.append("Parameters:")
        for p in d.params:
            extra = f" [{', '.join(p.fields)}]" if p.fields and p.fields != ("value",) else ""
            rules = f"  (read by {', '.join(p.rules)})" if p.rules else ""
            lines.append(f"  {p.change:8} {p.key}: {_v(p.old)} -> {_v(p.new)}{extra}{rules}")
        lines.append("")
    for c in d.cases:
        moved = (
            f"{c.old_disposition} -> {c.new_disposition}"
            if c.old_disposition != c.new_disposition
            else f"{c.new_disposition} (unchanged)"
        )
        lines.append(f"{c.name} [{c.case_id or 'no id'}]: disposition {moved}")
        for ch in c.changes:
            rules = f"  ({', '.join(ch.rules)})" if ch.rules else ""
            lines.append(f"  {ch.section}: {ch.what}{rules}")
        lines.append("")
    for e in d.errors:
        lines.append(f"not compared: {e}")
    return "\n".join(lines).rstrip() + "\n"


def diff_markdown(d: KnowledgeDiff) -> str:
    """Markdown report (for a pull request or the sign-off record)."""
    out = [
        "# Knowledge diff",
        "",
        f"- **Old:** {_side(d.old)}",
        f"- **New:** {_side(d.new)}",
        f"- {_headline(d)}",
        "",
    ]
    if d.params:
        out += ["## Parameters", "", "| Parameter | Change | Old | New | Read by |"]
        out.append("|---|---|---|---|---|")
        for p in d.params:
            what = p.change + (f" ({', '.join(p.fields)})" if p.fields else "")
            out.append(
                f"| `{p.key}` | {what} | {_v(p.old)} | {_v(p.new)} | {', '.join(p.rules) or '—'} |"
            )
        out.append("")
    if d.cases:
        out += ["## Cases whose advice changes", ""]
        for c in d.cases:
            out += [
                f"### {c.name} (`{c.case_id or 'no id'}`): "
                f"{c.old_disposition} → {c.new_disposition}",
                "",
                "| Section | Change | Rules |",
                "|---|---|---|",
            ]
            out += [
                f"| {ch.section} | {ch.what.replace('|', '/')} | {', '.join(ch.rules) or '—'} |"
                for ch in c.changes
            ]
            out.append("")
    if d.errors:
        out += ["## Not compared", "", *[f"- {e}" for e in d.errors], ""]
    out += ["Reviewed and approved by: ____________________  Date: __________", ""]
    return "\n".join(out)


def diff_json(d: KnowledgeDiff) -> str:
    """JSON report (for tools)."""
    doc = asdict(d)
    doc["empty"] = d.empty
    return json.dumps(doc, indent=2, ensure_ascii=False, default=str)
