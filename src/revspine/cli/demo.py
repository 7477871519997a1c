"""``revspine demo``: assess every bundled example and write its JSON and HTML reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from revspine.cli._common import EXIT_INPUT, cli_errors, echo_err

if TYPE_CHECKING:
    from revspine.domain.assessment import Assessment

_PATTERNS = ("*.yaml", "*.yml")


@dataclass(frozen=True)
class _Row:
    name: str
    assessment: Assessment | None


def find_examples(explicit: Path | None, cwd: Path) -> Path | None:
    """The examples directory: ``--examples``, else ``./examples``, else the source checkout's."""
    if explicit is not None:
        return explicit if explicit.is_dir() else None
    local = cwd / "examples"
    if local.is_dir():
        return local
    import revspine

    bundled = Path(revspine.__file__).resolve().parents[2] / "examples"
    return bundled if bundled.is_dir() else None


def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the reports.")] = Path(
        "out/demo"
    ),
    examples: Annotated[
        Path | None,
        typer.Option(
            "--examples",
            help="Directory of example cases (*.yaml). Default: ./examples, else the bundled ones.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Assess every example case; write <name>.json and <name>.html and print a summary table."""
    with cli_errors():
        directory = find_examples(examples, Path.cwd())
        if directory is None:
            where = str(examples) if examples is not None else "./examples"
            echo_err(f"revspine: no examples directory at {where}; pass --examples DIR")
            raise typer.Exit(EXIT_INPUT)
        files = sorted({p for pattern in _PATTERNS for p in directory.glob(pattern)})
        if not files:
            echo_err(f"revspine: no *.yaml case files in {directory}")
            raise typer.Exit(EXIT_INPUT)
        rows = [_run_one(path, out) for path in files]
        _print_table(rows)
        failed = [r.name for r in rows if r.assessment is None]
        echo_err(
            f"wrote {2 * (len(rows) - len(failed))} report(s) for {len(rows) - len(failed)} case(s) to {out}"
        )
        if failed:
            echo_err(f"revspine: {len(failed)} example(s) invalid: {', '.join(failed)}")
            raise typer.Exit(EXIT_INPUT)


def _run_one(path: Path, out: Path) -> _Row:
    import json

    from revspine.casefile import load_case
    from revspine.cli._common import resolve_as_of
    from revspine.domain.checks import check_case
    from revspine.engine import assess
    from revspine.errors import CaseValidationError, InputError
    from revspine.report.html import render_html

    try:
        case = load_case(path)
        when, problems = resolve_as_of(case, None, date.today())
        problems += check_case(case, when)
        if problems:
            raise CaseValidationError(problems, str(path))
        result = assess(case, None, when, sensitivity=True)
    except InputError as exc:
        echo_err(f"revspine: {exc}")
        return _Row(path.stem, None)
    out.mkdir(parents=True, exist_ok=True)
    doc = json.dumps(result.model_dump(mode="json", by_alias=True), indent=2, ensure_ascii=False)
    (out / f"{path.stem}.json").write_text(doc + "\n", encoding="utf-8")
    (out / f"{path.stem}.html").write_text(render_html(result, case), encoding="utf-8")
    return _Row(path.stem, result)


def _label(code: str) -> str:
    return code.replace("_", " ")


def _print_table(rows: list[_Row]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from revspine.report.text import NOTICE

    style = {
        "urgent": "bold red",
        "incomplete_workup": "yellow",
        "non_surgical": "blue",
        "surgical_candidate": "green",
    }
    table = Table(title="revspine demo", title_justify="left", box=box.SIMPLE_HEAD, expand=True)
    table.add_column("Case", ratio=3, overflow="fold")
    table.add_column("Disposition", no_wrap=True)
    table.add_column("Top causes", ratio=4, overflow="fold")
    table.add_column("Workup", no_wrap=True, justify="right")
    table.add_column("Red flags", ratio=3, overflow="fold")
    for row in rows:
        a = row.assessment
        if a is None:
            table.add_row(
                Text(row.name),
                Text("INVALID", style="bold red"),
                Text("see errors above"),
                Text(""),
                Text(""),
            )
            continue
        causes = "\n".join(f"{_label(c.cause)} ({c.likelihood})" for c in a.differential[:3])
        flags = "\n".join(_label(rf.code) for rf in a.red_flags)
        code = a.disposition.code
        table.add_row(
            Text(row.name),
            Text(code, style=style.get(code, "")),
            Text(causes or "—"),
            Text(str(len(a.workup))),
            Text(flags or "—", style="bold red" if a.red_flags else "dim"),
        )
    console = Console(highlight=False)
    console.print(table)
    console.print(Text(NOTICE, style="italic"))
