"""``revspine trace``: the generated trace matrix (requirements, rules, hazards, tests).

Reads ``safety/requirements.toml`` and ``safety/hazards.toml`` of the repository, the rule
registry and the tests (``pytest --collect-only`` with the revspine collector plugin, so pytest
must be installed: this is a development and CI command). ``--check`` exits with 3 when
anything is untraced or unverified.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from revspine.cli._common import EXIT_CHECK, bad_parameter, cli_errors, echo_err, write_output


class TraceFormat(StrEnum):
    """Output formats of ``trace``."""

    md = "md"
    html = "html"
    json = "json"


def trace(
    output_format: Annotated[
        TraceFormat, typer.Option("--format", "-f", help="Matrix format.")
    ] = TraceFormat.md,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the matrix to this file.", show_default=False),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Exit 3 if a rule has no requirement or test, a requirement no rule/code or "
            "test, or a hazard no control or verifying test (problems go to stderr).",
        ),
    ] = False,
    root: Annotated[
        Path | None,
        typer.Option(
            "--root",
            help="Repository root holding safety/ and tests/. Default: the nearest directory "
            "at or above the current one with safety/requirements.toml.",
            show_default=False,
        ),
    ] = None,
    tests: Annotated[
        Path | None,
        typer.Option(
            "--tests",
            help="Tests folder to collect (default: ROOT/tests); pytest runs from its parent.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """The trace matrix: requirement → rules → tests, hazard → controls → tests (IEC 62304)."""
    with cli_errors():
        from revspine.governance.render import trace_html, trace_json, trace_markdown
        from revspine.governance.safety_data import find_root, load_safety
        from revspine.governance.trace import build_trace, collect_tests
        from revspine.rules.registry import ordered_rules

        base = root if root is not None else find_root(Path.cwd())
        if base is None or not (base / "safety").is_dir():
            raise bad_parameter(
                "--root", "no safety/requirements.toml here or above; pass the repository root"
            )
        safety = load_safety(base / "safety")
        matrix = build_trace(safety, ordered_rules(), collect_tests(base, tests))
        if output_format is TraceFormat.html:
            text = trace_html(matrix, safety)
        elif output_format is TraceFormat.json:
            text = trace_json(matrix)
        else:
            text = trace_markdown(matrix, safety)
        if out is not None or not check:
            write_output(text, out, "trace matrix")
        if check:
            for problem in matrix.problems:
                echo_err(f"untraced: {problem}")
            if not matrix.ok:
                echo_err(f"revspine trace: {len(matrix.problems)} problem(s)")
                raise typer.Exit(EXIT_CHECK)
            echo_err(
                f"revspine trace: {len(matrix.rules)} rules, {len(matrix.requirements)} "
                f"requirements, {len(matrix.hazards)} hazards traced and verified"
            )
