"""``revspine assess`` and ``revspine validate``: one case file in, an assessment (or its problems) out."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from revspine.cli._common import DATE_FORMATS, as_date, cli_errors, write_output

if TYPE_CHECKING:
    from revspine.adapters.fhir import ImportResult
    from revspine.domain.assessment import Assessment
    from revspine.domain.case import Case


class AssessFormat(StrEnum):
    """Output formats of ``assess``."""

    text = "text"
    json = "json"
    html = "html"
    fhir = "fhir"


CaseArg = Annotated[
    Path,
    typer.Argument(
        help="Case file: YAML (.yaml/.yml) or JSON (.json), or a FHIR R4 Bundle (.json).",
        metavar="CASE",
        show_default=False,
    ),
]
AsOfOpt = Annotated[
    datetime | None,
    typer.Option(
        "--as-of",
        formats=DATE_FORMATS,
        help="Assessment date YYYY-MM-DD. Default: the case's assessment_date, else today.",
        show_default=False,
    ),
]
KnowledgeOpt = Annotated[
    Path | None,
    typer.Option(
        "--knowledge",
        "-k",
        help="Site override (partial TOML knowledge file) merged on the built-in base.",
        show_default=False,
    ),
]


def assess(
    case_file: CaseArg,
    output_format: Annotated[
        AssessFormat, typer.Option("--format", "-f", help="Report format.")
    ] = AssessFormat.text,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Write the report to this file instead of stdout.",
            show_default=False,
        ),
    ] = None,
    knowledge: KnowledgeOpt = None,
    as_of: AsOfOpt = None,
    sensitivity: Annotated[
        bool,
        typer.Option(
            "--sensitivity/--no-sensitivity",
            help="With an incomplete workup, show which missing test would change the "
            "disposition (re-assesses hypothetical results; on by default in every format).",
        ),
    ] = True,
) -> None:
    """Assess one case: disposition, red flags, differential, workup and plan, with reasons."""
    with cli_errors():
        from revspine.cli._common import load_checked_case
        from revspine.engine import assess as run_assessment
        from revspine.knowledge import load_knowledge

        imports: list[ImportResult] = []
        case, when = load_checked_case(case_file, as_date(as_of), imports)
        kb = load_knowledge(override=knowledge)
        result = run_assessment(case, kb, when, sensitivity=sensitivity)
        if output_format is AssessFormat.fhir:
            from revspine.cli.fhir import emit_fhir

            emit_fhir(result, imports, out)
            return
        _emit(result, case, output_format, out)


def _emit(result: Assessment, case: Case, output_format: AssessFormat, out: Path | None) -> None:
    if output_format is AssessFormat.json:
        import json

        text = json.dumps(
            result.model_dump(mode="json", by_alias=True), indent=2, ensure_ascii=False
        )
        write_output(text, out, "JSON assessment")
    elif output_format is AssessFormat.html:
        from revspine.report.html import render_html

        write_output(render_html(result, case), out, "HTML report")
    elif out is not None:
        from revspine.report.text import render_text_plain

        write_output(render_text_plain(result), out, "text report")
    else:
        from rich.console import Console

        from revspine.report.text import render_text

        Console(highlight=False).print(render_text(result))


def validate(case_file: CaseArg, as_of: AsOfOpt = None) -> None:
    """Check a case file without assessing it: every problem, or 'valid' and a short summary.

    Implausible values (e.g. albumin 35 g/dL) are not errors: the engine flags them and does not
    use them; they are listed here as warnings.
    """
    with cli_errors():
        from revspine.cli._common import load_checked_case
        from revspine.engine import assess as run_assessment

        case, when = load_checked_case(case_file, as_date(as_of))
        warnings = run_assessment(case, None, when).warnings
        typer.echo(f"valid: {case_file}")
        for line in _summary(case, when):
            typer.echo(f"  {line}")
        if warnings:
            typer.echo(f"{len(warnings)} warning(s) about the input:")
            for w in warnings:
                typer.echo(f"  {w.field or '(case)'}: {w.message}")


def _summary(case: Case, when: date) -> list[str]:
    surgeries = case.surgeries
    dated = sorted(s.date for s in surgeries if s.date is not None)
    last = f", last {dated[-1].isoformat()}" if dated else ""
    kinds = ", ".join(sorted({s.type for s in surgeries}))
    counts = {
        "imaging studies": len(case.imaging),
        "labs": len(case.labs),
        "diagnostic blocks": len(case.blocks),
        "electrodiagnostic studies": len(case.electrodiagnostics),
        "PROM entries": len(case.proms),
    }
    lines = [
        f"case id: {case.case_id or '(none)'}; as of {when.isoformat()}",
        f"prior surgeries: {len(surgeries)}" + (f" ({kinds}{last})" if surgeries else ""),
        "; ".join(f"{name}: {n}" for name, n in counts.items()),
        f"examination: {'recorded' if case.exam is not None else 'not recorded'}",
    ]
    return lines
