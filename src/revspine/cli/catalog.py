"""``revspine rules``: the rule catalog, generated from the registry and the knowledge file.

For each rule: id, pathway step, title, evidence (REFERENCE.md source numbers), the knowledge
parameters it reads (current value, unit, status and sources), the unverified marker and the full
docstring. ``--format md`` writes a reviewable Markdown document grouped by step, with a header
that explains the status tags and lists every parameter still ``todo_clinical`` or
``unverified``.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from revspine.cli._common import bad_parameter, cli_errors, write_output

if TYPE_CHECKING:
    from revspine.knowledge import Knowledge
    from revspine.rules.registry import Rule

STEP_TITLES = {
    "RF": "Red flags",
    "DX": "Differential diagnosis",
    "WU": "Workup",
    "DS": "Disposition",
    "OP": "Pre-operative optimisation",
    "PL": "Surgical planning",
    "PO": "Post-operative orders",
    "NS": "Non-surgical plan",
}

STATUS_HELP = {
    "verified": "the value is stated by the cited REFERENCE.md source(s).",
    "unverified": "REFERENCE.md gives the value but tags it unverified (recalled, or common "
    "practice without a citable source): review before clinical use.",
    "todo_clinical": "not in REFERENCE.md: a conservative engineering choice that a clinician "
    "must confirm before go-live.",
}


class CatalogFormat(StrEnum):
    """Output formats of ``rules``."""

    text = "text"
    md = "md"
    json = "json"


def rules(
    ids: Annotated[
        list[str] | None,
        typer.Argument(
            help="Only these rules (ids or prefixes, e.g. DX001 or PO).", show_default=False
        ),
    ] = None,
    output_format: Annotated[
        CatalogFormat, typer.Option("--format", "-f", help="Catalog format.")
    ] = CatalogFormat.text,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the catalog to this file.", show_default=False),
    ] = None,
    knowledge: Annotated[
        Path | None,
        typer.Option(
            "--knowledge",
            "-k",
            help="Show parameter values with this site override.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """The rule catalog: id, step, title, evidence, parameters and documentation of every rule."""
    with cli_errors():
        from revspine.knowledge import load_knowledge
        from revspine.rules.registry import ordered_rules

        kb = load_knowledge(override=knowledge)
        selected = _select(ordered_rules(), ids or [])
        if output_format is CatalogFormat.json:
            import json

            write_output(
                json.dumps(catalog_data(selected, kb), indent=2, ensure_ascii=False),
                out,
                "rule catalog",
            )
        elif output_format is CatalogFormat.md:
            write_output(catalog_markdown(selected, kb), out, "rule catalog")
        else:
            _print_text(selected, kb, out)


def _select(all_rules: list[Rule], ids: Sequence[str]) -> list[Rule]:
    if not ids:
        return all_rules
    wanted = [i.strip().upper() for i in ids]
    unknown = [i for i in wanted if not any(r.id.startswith(i) for r in all_rules)]
    if unknown:
        raise bad_parameter(
            "IDS", f"no rule with id or prefix {', '.join(unknown)} (see `revspine rules`)"
        )
    return [r for r in all_rules if any(r.id.startswith(i) for i in wanted)]


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


def _param(kb: Knowledge, key: str) -> dict[str, Any]:
    param = kb.params.get(key)
    if param is None:
        return {"key": key, "missing": True}
    return {
        "key": key,
        "value": param.value,
        "unit": param.unit,
        "status": param.status,
        "sources": list(param.sources),
        "alternatives": [a.model_dump() for a in param.alternatives],
        "note": param.note,
    }


def catalog_data(selected: list[Rule], kb: Knowledge) -> dict[str, Any]:
    """The catalog as plain data (the ``--format json`` document)."""
    return {
        "knowledge": {
            "id": kb.meta.id,
            "version": kb.version,
            "sha256": kb.sha256,
            "overrides": [o.model_dump() for o in kb.overrides],
        },
        "rules": [
            {
                "id": r.id,
                "step": r.step,
                "title": r.title,
                "evidence": list(r.evidence),
                "unverified": r.unverified,
                "requirements": list(r.requirements),
                "params": [_param(kb, key) for key in r.params],
                "doc": r.doc,
            }
            for r in selected
        ],
    }


def _evidence(sources: Sequence[str]) -> str:
    return " ".join(f"[{s}]" for s in sources) if sources else "none cited"


def _value(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value) + "]"
    return str(value)


# ---------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _review_params(kb: Knowledge, used_by: dict[str, list[str]]) -> list[str]:
    rows = [
        "| Parameter | Value | Unit | Status | Sources | Used by | Note |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, p in sorted(kb.params.items()):
        if p.status not in ("todo_clinical", "unverified"):
            continue
        rows.append(
            f"| `{key}` | {_cell(_value(p.value))} | {_cell(p.unit or '')} | {p.status} "
            f"| {_cell(_evidence(p.sources))} | {_cell(', '.join(used_by.get(key, [])) or '—')} "
            f"| {_cell(p.note or '')} |"
        )
    return rows


def catalog_markdown(selected: list[Rule], kb: Knowledge) -> str:
    """The catalog as a Markdown document grouped by pathway step."""
    used_by: dict[str, list[str]] = {}
    for r in selected:
        for key in r.params:
            used_by.setdefault(key, []).append(r.id)
    unverified = [r.id for r in selected if r.unverified]
    lines = [
        "# revspine rule catalog",
        "",
        f"Generated by `revspine rules --format md` from the rule registry ({len(selected)} rules) "
        f"and the knowledge base `{kb.meta.id}` version `{kb.version}` "
        f"(sha256 `{kb.sha256[:16]}…`). Do not edit by hand: change the rule docstrings or the "
        "knowledge file and regenerate.",
        "",
        "revspine gives advice to a clinician, never an order: each rule below is a small pure "
        "function whose output names the rule id, the patient facts it used and its evidence.",
        "",
        "## How to read this catalog",
        "",
        "- **Rule id**: stable and never reused; the two letters are the pathway step ("
        + ", ".join(f"`{k}` {v.lower()}" for k, v in STEP_TITLES.items())
        + ").",
        "- **Evidence**: source numbers in `shared/clinical/REFERENCE.md` (e.g. `[79]`); "
        "`[seed]` is the seed document, `[RULE-…]` a named rule in REFERENCE.md.",
        "- **⚠ unverified**: the rule relies on a fact that REFERENCE.md tags as unverified; "
        f"review before clinical use ({len(unverified)} rule(s): {', '.join(unverified) or 'none'}).",
        "- **Parameter status** (every number lives in the knowledge file, not in code):",
    ]
    lines += [f"  - `{status}`: {text}" for status, text in STATUS_HELP.items()]
    if kb.overrides:
        lines += ["", "**Site overrides in effect:**", ""]
        lines += [
            f"- `{o.key}`: {_value(o.base)} → {_value(o.value)} ({o.source})" for o in kb.overrides
        ]
    lines += [
        "",
        "## Parameters needing clinical review",
        "",
        "Every knowledge parameter whose status is `todo_clinical` or `unverified`:",
        "",
        *_review_params(kb, used_by),
        "",
        "## Contents",
        "",
    ]
    by_step: dict[str, list[Rule]] = {}
    for r in selected:
        by_step.setdefault(r.id[:2], []).append(r)
    for prefix, group in by_step.items():
        anchors = ", ".join(f"[{r.id}](#{r.id.lower()})" for r in group)
        lines.append(f"- {STEP_TITLES.get(prefix, prefix)} (`{prefix}`): {anchors}")
    for prefix, group in by_step.items():
        lines += ["", f"## {STEP_TITLES.get(prefix, prefix)} (`{prefix}`)"]
        for r in group:
            lines += _rule_markdown(r, kb)
    return "\n".join(lines) + "\n"


def _rule_markdown(r: Rule, kb: Knowledge) -> list[str]:
    mark = " ⚠ unverified" if r.unverified else ""
    lines = [
        "",
        f'<a id="{r.id.lower()}"></a>',
        "",
        f"### {r.id} — {r.title}{mark}",
        "",
        f"- **Step:** {r.step}",
        f"- **Evidence:** {_evidence(r.evidence)}",
        f"- **Status:** {'⚠ relies on an unverified fact' if r.unverified else 'verified facts'}",
        f"- **Requirements:** {', '.join(r.requirements) or 'none'} (`safety/requirements.toml`)",
    ]
    if r.params:
        lines += ["", "| Parameter | Value | Unit | Status | Sources |", "|---|---|---|---|---|"]
        for key in r.params:
            p = kb.params.get(key)
            if p is None:
                lines.append(f"| `{key}` | **missing from the knowledge file** | | | |")
                continue
            lines.append(
                f"| `{key}` | {_cell(_value(p.value))} | {_cell(p.unit or '')} | {p.status} "
                f"| {_cell(_evidence(p.sources))} |"
            )
    else:
        lines += ["- **Parameters:** none"]
    lines += ["", r.doc or "_No documentation._"]
    return lines


# ---------------------------------------------------------------------------------------------
# Terminal
# ---------------------------------------------------------------------------------------------


def _paragraphs(doc: str) -> list[str]:
    """A docstring's paragraphs with their hard line breaks removed (the terminal re-wraps)."""
    blocks = [" ".join(line.strip() for line in block.splitlines()) for block in doc.split("\n\n")]
    return [b for b in blocks if b]


def _print_text(selected: list[Rule], kb: Knowledge, out: Path | None) -> None:
    import io

    from rich.console import Console
    from rich.padding import Padding
    from rich.rule import Rule as RichRule
    from rich.text import Text

    buffer = io.StringIO() if out is not None else None
    console = (
        Console(file=buffer, width=100, color_system=None, highlight=False)
        if buffer is not None
        else Console(highlight=False)
    )
    console.print(
        Text(
            f"revspine rules — {len(selected)} rule(s); knowledge {kb.meta.id} {kb.version}",
            style="bold",
        )
    )
    current = ""
    for r in selected:
        if r.id[:2] != current:
            current = r.id[:2]
            console.print(
                RichRule(Text(f"{STEP_TITLES.get(current, current)} ({current})", style="bold"))
            )
        head = Text.assemble((r.id, "bold cyan"), "  ", (r.title, "bold"))
        if r.unverified:
            head.append("  ⚠ unverified", style="yellow")
        console.print(head)
        console.print(Text(f"  evidence: {_evidence(r.evidence)}", style="dim"))
        for key in r.params:
            p = kb.params.get(key)
            if p is None:
                console.print(Text(f"  param {key}: MISSING from the knowledge file", style="red"))
                continue
            unit = f" {p.unit}" if p.unit else ""
            console.print(
                Text(
                    f"  param {key} = {_value(p.value)}{unit} ({p.status}; {_evidence(p.sources)})",
                    style="dim",
                )
            )
        for paragraph in _paragraphs(r.doc):
            console.print(Padding(Text(paragraph), (0, 0, 0, 4)))
    if buffer is not None:
        write_output(buffer.getvalue(), out, "rule catalog")
