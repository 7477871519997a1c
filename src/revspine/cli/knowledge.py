"""``revspine knowledge validate|show``: check a site override, list the parameters."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from revspine.cli._common import cli_errors, write_output

if TYPE_CHECKING:
    from revspine.knowledge import Knowledge

app = typer.Typer(
    name="knowledge",
    help="The knowledge base: every threshold, dose and window the rules use, with sources.",
    no_args_is_help=True,
    add_completion=False,
)


class ShowFormat(StrEnum):
    """Output formats of ``knowledge show``."""

    text = "text"
    json = "json"


def _fmt(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


@app.command("validate", short_help="Check a site override; print what it changes.")
def validate(
    override: Annotated[
        Path,
        typer.Argument(
            help="Site override: a partial TOML knowledge file.", metavar="FILE", show_default=False
        ),
    ],
) -> None:
    """Validate a site override against the built-in base and print what it changes."""
    with cli_errors():
        from revspine.knowledge import load_knowledge

        kb = load_knowledge(override=override)
        changes = kb.overrides
        typer.echo(
            f"valid: {override} — {len(changes)} parameter(s) differ from "
            f"{kb.meta.id} {kb.meta.version}"
        )
        for o in changes:
            typer.echo(f"  {o.key}: {_fmt(o.base)} -> {_fmt(o.value)}")
        typer.echo(f"resulting version {kb.version}, sha256 {kb.sha256}")


def _rows(kb: Knowledge) -> list[dict[str, Any]]:
    return [
        {
            "key": key,
            "value": p.value,
            "unit": p.unit,
            "status": p.status,
            "sources": list(p.sources),
            "note": p.note,
        }
        for key, p in sorted(kb.params.items())
    ]


@app.command("show", short_help="Every parameter: value, unit, status, sources.")
def show(
    knowledge: Annotated[
        Path | None,
        typer.Option(
            "--knowledge", "-k", help="Apply this site override first.", show_default=False
        ),
    ] = None,
    output_format: Annotated[
        ShowFormat, typer.Option("--format", "-f", help="Output format.")
    ] = ShowFormat.text,
) -> None:
    """List every parameter: value, unit, status and sources."""
    with cli_errors():
        from revspine.knowledge import load_knowledge

        kb = load_knowledge(override=knowledge)
        if output_format is ShowFormat.json:
            import json

            doc = {
                "id": kb.meta.id,
                "version": kb.version,
                "sha256": kb.sha256,
                "overrides": [o.model_dump() for o in kb.overrides],
                "params": _rows(kb),
            }
            write_output(json.dumps(doc, indent=2, ensure_ascii=False), None, "knowledge")
            return
        _print_table(kb)


def _print_table(kb: Knowledge) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    changed = {o.key for o in kb.overrides}
    table = Table(
        title=f"{kb.meta.id} {kb.version} (sha256 {kb.sha256[:12]})",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("Parameter", overflow="fold")
    table.add_column("Value", overflow="fold", max_width=12)
    table.add_column("Unit", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Sources", overflow="fold", max_width=14)
    status_style = {"verified": "green", "unverified": "yellow", "todo_clinical": "red"}
    group = ""
    for row in _rows(kb):
        section, _, name = row["key"].partition(".")
        if section != group:
            group = section
            table.add_row(Text(f"[{section}]", style="bold"))
        marker = " *" if row["key"] in changed else ""
        table.add_row(
            Text(f"  {name}{marker}"),
            Text(_fmt(row["value"])),
            Text(row["unit"] or ""),
            Text(row["status"], style=status_style.get(row["status"], "")),
            Text(" ".join(f"[{s}]" for s in row["sources"]) or "—"),
        )
    console = Console(highlight=False)
    console.print(table)
    if changed:
        console.print(Text("* changed by the site override", style="dim"))
