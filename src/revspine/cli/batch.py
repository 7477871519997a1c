"""Batch commands: ``revspine batch`` (assess a cohort), ``revspine synth`` (a synthetic cohort)
and ``revspine report cohort`` (the HTML cohort report). Registered by :func:`register`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from revspine.cli._common import (
    DATE_FORMATS,
    EXIT_INPUT,
    EXIT_SYSTEM,
    as_date,
    bad_parameter,
    cli_errors,
    echo_err,
    is_system_error,
    system_error,
    write_output,
)

__all__ = ["batch", "cohort", "register", "report_app", "synth"]

EXIT_INTERRUPTED = 130

report_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="Reports over batch output."
)


def register(app: typer.Typer) -> None:
    """Add ``batch``, ``synth`` and ``report`` to the application."""
    app.command("batch", short_help="Assess a cohort (FHIR Bulk, Bundles, CSV/Parquet).")(batch)
    app.command("synth", short_help="Write a synthetic FBSS cohort as FHIR Bulk NDJSON.")(synth)
    app.add_typer(report_app, name="report", short_help="Reports over batch output (cohort).")


def batch(
    input_path: Annotated[
        Path,
        typer.Argument(
            help="FHIR Bulk Data folder (*.ndjson), folder of FHIR Bundles (*.json), or a "
            "CSV/Parquet table of case fields (dotted column names, e.g. patient.age).",
            metavar="INPUT",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Output folder.", show_default=False),
    ],
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of",
            formats=DATE_FORMATS,
            help="Assessment date YYYY-MM-DD for every patient (default: a case's own "
            "assessment date, else today; pass it for reproducible runs).",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", "-j", min=1, help="Worker processes (default: all cores)."),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Stop at the first bad record (exit 2).")
    ] = False,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Continue an interrupted run in OUT without redoing work."),
    ] = False,
    knowledge: Annotated[
        Path | None,
        typer.Option(
            "--knowledge",
            help="Site override (partial TOML knowledge file) merged on the built-in base.",
            show_default=False,
        ),
    ] = None,
    input_format: Annotated[
        str,
        typer.Option(
            "--input-format", help="auto, fhir-bulk, bundles, csv or parquet.", show_default=True
        ),
    ] = "auto",
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bar on stderr.")
    ] = True,
) -> None:
    """Assess every patient of INPUT: patients.parquet, assessments.jsonl, errors.jsonl and
    manifest.json in OUT. Bad records are listed in errors.jsonl and never stop the run
    (unless --strict); an interrupted run continues with --resume."""
    from revspine.batch.runner import INPUT_KINDS

    if input_format != "auto" and input_format not in INPUT_KINDS:
        raise bad_parameter("--input-format", f"expected auto or one of {', '.join(INPUT_KINDS)}")
    with cli_errors():
        from revspine.batch.runner import BatchOptions, StrictStop, run_batch

        options = BatchOptions(
            input=input_path,
            out=out,
            as_of=as_date(as_of),
            workers=workers,
            strict=strict,
            resume=resume,
            knowledge=knowledge,
            input_format=input_format,
            progress=progress,
        )
        if as_of is None:
            echo_err(
                "revspine: no --as-of: cases without an assessment date are assessed as of today"
            )
        try:
            summary = run_batch(options)
        except StrictStop as exc:
            echo_err(f"revspine: --strict: stopped at the first bad record: {exc}")
            raise typer.Exit(EXIT_INPUT) from None
        except KeyboardInterrupt:
            echo_err(
                f"revspine: interrupted; continue with: revspine batch ... --out {out} --resume"
            )
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except OSError as exc:
            if not is_system_error(exc):
                raise
            echo_err(
                f"revspine: {system_error(exc)}; the finished work is kept: once the cause is "
                f"fixed, continue with: revspine batch ... --out {out} --resume"
            )
            raise typer.Exit(EXIT_SYSTEM) from None
        kinds = ", ".join(f"{k} {v}" for k, v in summary.errors_by_kind.items())
        echo_err(
            f"revspine: {summary.patients} patient(s) assessed in {summary.seconds:.1f} s "
            f"({summary.input_kind}); {summary.errors} bad record(s)"
            + (f" ({kinds})" if kinds else "")
            + (f"; resumed after {summary.tasks_resumed} task(s)" if summary.tasks_resumed else "")
        )
        echo_err(f"wrote {out}/patients.parquet, assessments.jsonl, errors.jsonl, manifest.json")


def synth(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.", show_default=False)],
    patients: Annotated[
        int, typer.Option("--patients", "-n", min=1, help="Number of patients.")
    ] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same files).")] = 1,
    bad_rate: Annotated[
        float,
        typer.Option(
            "--bad-rate",
            min=0.0,
            max=1.0,
            help="Share of lines made bad (0-1), listed in the manifest.",
        ),
    ] = 0.0,
    workers: Annotated[
        int | None,
        typer.Option("--workers", "-j", min=1, help="Worker processes (default: all cores)."),
    ] = None,
) -> None:
    """Write a synthetic FBSS cohort as a FHIR Bulk Data export (one NDJSON file per resource
    type) plus synth-manifest.json listing every injected bad record."""
    import os

    with cli_errors():
        from revspine.batch.synth import synthesize

        result = synthesize(
            patients, seed, out, bad_rate=bad_rate, workers=workers or os.cpu_count() or 1
        )
        lines = sum(result.lines.values())
        echo_err(
            f"wrote {result.patients} patient(s), {lines} resource line(s), "
            f"{len(result.bad_records)} bad record(s) to {out} (as of {_synth_as_of()})"
        )


def _synth_as_of() -> str:
    from revspine.batch.casegen import AS_OF

    return AS_OF.isoformat()


@report_app.command("cohort")
def cohort(
    directory: Annotated[
        Path,
        typer.Argument(help="A `revspine batch` output folder.", metavar="DIR", show_default=False),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="HTML file (default: DIR/report.html).", show_default=False
        ),
    ] = None,
) -> None:
    """HTML cohort report (self-contained, inline SVG charts) from a batch output folder."""
    with cli_errors():
        from revspine.batch.cohort import cohort_report

        if not directory.is_dir():
            raise bad_parameter("DIR", f"{directory} is not a folder")
        html = cohort_report(directory)
        write_output(html, out or directory / "report.html", "cohort report")
