"""``revspine fhir import``: a FHIR R4 Bundle in, a native case file out, and every item that did
not become case data listed on stderr. Also the FHIR pieces of ``assess`` (the import report and
``--format fhir``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from revspine.cli._common import DATE_FORMATS, as_date, cli_errors, echo_err, write_output

if TYPE_CHECKING:
    from revspine.adapters.fhir import ImportResult
    from revspine.domain.assessment import Assessment

app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    help="FHIR R4: import a bundle as a case file (`revspine assess` also reads bundles, and "
    "writes FHIR with --format fhir).",
)


def report_import(result: ImportResult, source: str) -> None:
    """Print what the import did not turn into case data: warnings, notes, unmapped items."""
    unmapped = sum(u.count for u in result.unmapped)
    echo_err(
        f"revspine: {source}: FHIR bundle with {result.resources} resource(s); "
        f"{len(result.warnings)} warning(s), {len(result.notes)} note(s), "
        f"{unmapped} unmapped item(s) in {len(result.unmapped)} group(s)"
    )
    for warning in result.warnings:
        echo_err(f"  warning: {warning}")
    for note in result.notes:
        echo_err(f"  note: {note}")
    for item in result.unmapped:
        echo_err(f"  not mapped: {item}")


def emit_fhir(result: Assessment, imports: list[ImportResult], out: Path | None) -> None:
    """Write the assessment as a FHIR R4 Bundle (JSON)."""
    import json

    from revspine.adapters.fhir import assessment_to_fhir

    case_ref = imports[0].patient_ref if imports else None
    bundle = assessment_to_fhir(result, case_ref=case_ref)
    write_output(json.dumps(bundle, indent=2, ensure_ascii=False), out, "FHIR assessment bundle")


@app.command("import")
def import_bundle(
    bundle: Annotated[
        Path,
        typer.Argument(help="FHIR R4 Bundle (JSON).", metavar="BUNDLE", show_default=False),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Write the case file here instead of stdout.", show_default=False
        ),
    ] = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of",
            formats=DATE_FORMATS,
            help="Assessment date YYYY-MM-DD: sets assessment_date and the age from birthDate.",
            show_default=False,
        ),
    ] = None,
    validate: Annotated[
        bool,
        typer.Option(
            "--validate", help="First check the bundle against the FHIR R4 models (slower)."
        ),
    ] = False,
) -> None:
    """Convert a FHIR R4 Bundle to a native case file (YAML); unmapped items go to stderr."""
    with cli_errors():
        import yaml

        from revspine.adapters.fhir import bundle_to_case, parse_bundle
        from revspine.errors import FhirParseError

        try:
            raw = bundle.read_bytes()
        except OSError as exc:
            raise FhirParseError(
                f"cannot read the file: {exc.strerror or exc}", source=str(bundle)
            ) from None
        try:
            result = bundle_to_case(parse_bundle(raw), as_of=as_date(as_of), validate=validate)
        except FhirParseError as exc:
            raise FhirParseError(exc.reason, exc.path, str(bundle)) from None
        report_import(result, str(bundle))
        data = {
            "schema_version": result.case.schema_version,
            **result.case.model_dump(mode="json", exclude_none=True, exclude_defaults=True),
        }
        header = (
            f"# revspine case imported from the FHIR R4 bundle {bundle.name}.\n"
            "# Only coded data is imported; symptoms, examination, imaging and blocks are not:\n"
            "# add them before assessing. Unmapped items were listed on stderr.\n"
        )
        text = header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        write_output(text, out, "case file")
