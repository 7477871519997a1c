"""``revspine knowledge validate|show|diff|check-changelog``: check a site override, list the
parameters, show what a knowledge change does to every case's advice, and keep released
knowledge versions immutable."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from revspine.cli._common import (
    DATE_FORMATS,
    EXIT_CHECK,
    as_date,
    bad_parameter,
    cli_errors,
    echo_err,
    write_output,
)

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


class DiffFormat(StrEnum):
    """Output formats of ``knowledge diff``."""

    text = "text"
    md = "md"
    json = "json"


_CASE_SUFFIXES = (".yaml", ".yml", ".json")


@app.command("diff", short_help="What a knowledge change does to every case's advice.")
def diff(
    old: Annotated[
        str,
        typer.Argument(
            help="Old knowledge: 'builtin', a full knowledge file, a site override (applied on "
            "the built-in base), or BASE+OVERRIDE.",
            metavar="OLD",
            show_default=False,
        ),
    ],
    new: Annotated[
        str,
        typer.Argument(
            help="New knowledge (same forms as OLD).", metavar="NEW", show_default=False
        ),
    ],
    cases: Annotated[
        list[Path] | None,
        typer.Option(
            "--cases",
            "-c",
            help="A folder of case files (YAML/JSON) or case files; repeatable. Default: examples/.",
            show_default=False,
        ),
    ] = None,
    output_format: Annotated[
        DiffFormat, typer.Option("--format", "-f", help="Report format.")
    ] = DiffFormat.text,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the report to this file.", show_default=False),
    ] = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of",
            formats=DATE_FORMATS,
            help="Assessment date for cases without assessment_date (default: today).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Re-assess every case under OLD and NEW and list, case by case, what changed
    (disposition, red flags, causes, workup, orders and doses) with the rules responsible,
    plus the parameter diff. Invalid case files are listed as not compared."""
    with cli_errors():
        from revspine.governance.kbdiff import diff_knowledge, load_spec
        from revspine.governance.kbdiff_report import diff_json, diff_markdown, diff_text

        old_kb, new_kb = load_spec(old), load_spec(new)
        inputs, errors = _load_cases(cases or [Path("examples")], as_date(as_of))
        result = diff_knowledge(old_kb, new_kb, inputs, old_spec=old, new_spec=new, errors=errors)
        render = {DiffFormat.text: diff_text, DiffFormat.md: diff_markdown}
        text = render[output_format](result) if output_format in render else diff_json(result)
        write_output(text, out, "knowledge diff")


def _load_cases(sources: list[Path], as_of: date | None) -> tuple[list[Any], list[str]]:
    from revspine.casefile import load_case
    from revspine.cli._common import resolve_as_of
    from revspine.domain.checks import check_case
    from revspine.errors import InputError
    from revspine.governance.kbdiff import CaseInput

    files: list[Path] = []
    for src in sources:
        if src.is_dir():
            files += sorted(p for p in src.iterdir() if p.suffix.lower() in _CASE_SUFFIXES)
        elif src.is_file():
            files.append(src)
        else:
            raise bad_parameter("--cases", f"{src} is neither a folder nor a case file")
    if not files:
        raise bad_parameter("--cases", "no case files (.yaml, .yml, .json) found")
    inputs: list[CaseInput] = []
    errors: list[str] = []
    for path in files:
        try:
            case = load_case(path)
        except InputError as exc:
            errors.append(f"{path.name}: {str(exc).splitlines()[0]}")
            continue
        when, problems = resolve_as_of(case, as_of, date.today())
        problems += check_case(case, when)
        if problems:
            errors.append(f"{path.name}: invalid case ({len(problems)} problem(s))")
            continue
        inputs.append(CaseInput(path.name, case, when))
    return inputs, errors


@app.command("check-changelog", short_help="A knowledge change needs a new version and CHANGELOG.")
def check_changelog_cmd(
    root: Annotated[
        Path,
        typer.Option("--root", help="Repository root (CHANGELOG.md, src/).", show_default=False),
    ] = Path("."),
    record: Annotated[
        bool,
        typer.Option(
            "--record",
            help="At release: write the current version and hash to src/revspine/knowledge/RELEASED.",
        ),
    ] = False,
) -> None:
    """Check that the built-in knowledge base was not changed under a released version: when its
    content hash differs from RELEASED, the version must be new and CHANGELOG.md must name it
    (with the rule ids affected). Exit 3 when it does not."""
    with cli_errors():
        from revspine.governance.changelog import (
            RELEASED_PATH,
            check_changelog,
            parse_released,
            render_released,
        )
        from revspine.knowledge import load_knowledge

        kb = load_knowledge()
        released_file = root / RELEASED_PATH
        changelog_file = root / "CHANGELOG.md"
        try:
            released = parse_released(released_file.read_text(encoding="utf-8"))
            changelog = changelog_file.read_text(encoding="utf-8")
        except (OSError, ValueError) as exc:
            raise bad_parameter("--root", str(exc)) from None
        problems = check_changelog(kb.meta.version, kb.sha256, released, changelog)
        for problem in problems:
            echo_err(f"revspine: {problem}")
        if problems:
            raise typer.Exit(EXIT_CHECK)
        if record:
            released_file.write_text(
                render_released(kb.meta.id, kb.meta.version, kb.sha256), encoding="utf-8"
            )
            echo_err(
                f"recorded {kb.meta.id} {kb.meta.version} (sha256 {kb.sha256[:12]}) as released"
            )
        state = "released" if kb.sha256 == released.sha256 else "new, with a CHANGELOG entry"
        typer.echo(f"ok: {kb.meta.id} {kb.meta.version} (sha256 {kb.sha256[:12]}) — {state}")
