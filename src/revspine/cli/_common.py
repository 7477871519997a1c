"""Plumbing shared by the commands: error mapping, output, loading a case with its checks.

Only the standard library and Typer are imported at module level; everything else is imported
where it is used so that ``revspine --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import errno
import sys
import traceback
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

if TYPE_CHECKING:
    from revspine.adapters.fhir import ImportResult
    from revspine.domain.case import Case
    from revspine.errors import FieldProblem

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_INPUT = 2
EXIT_CHECK = 3
"""A check command (``trace --check``, ``knowledge check-changelog``) found problems."""
EXIT_SYSTEM = 4
"""The system refused a file operation: disk full, no permission, read-only file system."""

SYSTEM_ERRNOS = frozenset(
    getattr(errno, name)
    for name in ("ENOSPC", "EDQUOT", "EROFS", "EACCES", "EPERM", "EMFILE", "ENFILE", "EFBIG")
    if hasattr(errno, name)
)
"""``OSError`` numbers that are the machine's refusal, not a revspine bug."""

DATE_FORMATS = ["%Y-%m-%d"]
"""The only accepted spelling of ``--as-of`` (ISO 8601 calendar date)."""

# Typer/Click control-flow exceptions (exit, abort, usage errors) must pass through untouched.
_CLICK_EXCEPTION: type[BaseException] = next(
    (c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"), typer.BadParameter
)
_PASS_THROUGH: tuple[type[BaseException], ...] = (typer.Exit, typer.Abort, _CLICK_EXCEPTION)


def echo_err(message: str) -> None:
    """Write one line to stderr."""
    typer.echo(message, err=True)


def _report_problems(headline: str, problems: list[FieldProblem]) -> None:
    echo_err(f"revspine: {headline}")
    for problem in problems:
        echo_err(f"  {problem.path}: {problem.message}")


@contextlib.contextmanager
def cli_errors() -> Iterator[None]:
    """Map revspine errors to exit codes: input/knowledge problems → 2, anything else → 1.

    Every problem is printed to stderr as ``path: message``; nothing is printed to stdout.
    """
    from revspine.errors import (
        CaseValidationError,
        EngineError,
        InputError,
        KnowledgeError,
        KnowledgeSchemaError,
    )

    try:
        yield
    except _PASS_THROUGH:
        raise
    except CaseValidationError as exc:
        count = len(exc.problems)
        where = exc.source or "case"
        _report_problems(
            f"{where}: invalid case ({count} problem{'s' if count != 1 else ''})", exc.problems
        )
        raise typer.Exit(EXIT_INPUT) from None
    except KnowledgeSchemaError as exc:
        _report_problems(f"{exc.source}: invalid knowledge file", exc.problems)
        raise typer.Exit(EXIT_INPUT) from None
    except (InputError, KnowledgeError) as exc:
        echo_err(f"revspine: {exc}")
        raise typer.Exit(EXIT_INPUT) from None
    except EngineError as exc:
        _internal(exc, f"rule {exc.rule_id} failed")
    except OSError as exc:
        if not is_system_error(exc):
            _internal(exc, "unexpected error")
        echo_err(f"revspine: {system_error(exc)}")
        raise typer.Exit(EXIT_SYSTEM) from None
    except Exception as exc:
        _internal(exc, "unexpected error")


def is_system_error(exc: BaseException) -> bool:
    """Whether ``exc`` is the machine refusing a file operation (see :data:`SYSTEM_ERRNOS`)."""
    return isinstance(exc, OSError) and exc.errno in SYSTEM_ERRNOS


def system_error(exc: OSError) -> str:
    """``<file>: <reason>`` for a refused file operation."""
    where = exc.filename if exc.filename is not None else "a file operation"
    return f"{where}: {exc.strerror or exc}"


def _internal(exc: BaseException, what: str) -> NoReturn:
    echo_err(f"revspine: internal error ({what}): {type(exc).__name__}: {exc}")
    echo_err("This is a bug in revspine, not a problem with your input; please report it with:")
    echo_err("".join(traceback.format_exception(exc)).rstrip())
    raise typer.Exit(EXIT_INTERNAL) from None


def bad_parameter(hint: str, message: str) -> typer.BadParameter:
    """A usage error for option ``hint`` (exit 2)."""
    return typer.BadParameter(message, param_hint=hint)


def write_output(text: str, out: Path | None, what: str) -> None:
    """Write a result to ``out`` (creating parent directories) or to stdout when ``out`` is None."""
    if not text.endswith("\n"):
        text += "\n"
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise bad_parameter("--out", f"cannot write {out}: {exc.strerror or exc}") from None
    echo_err(f"wrote {what} to {out}")


def as_date(value: datetime | None) -> date | None:
    """The date part of a parsed ``--as-of`` option."""
    return value.date() if value is not None else None


def resolve_as_of(
    case: Case, explicit: date | None, today: date
) -> tuple[date, list[FieldProblem]]:
    """The assessment date: ``--as-of``, else the case's ``assessment_date``, else ``today``.

    An ``assessment_date`` after today is reported as a problem (it would make every future
    date in the case look valid).
    """
    from revspine.errors import FieldProblem

    if explicit is not None:
        return explicit, []
    if case.assessment_date is None:
        return today, []
    if case.assessment_date > today:
        problem = FieldProblem(
            "assessment_date",
            f"{case.assessment_date.isoformat()} is in the future (after today {today.isoformat()})",
        )
        return case.assessment_date, [problem]
    return case.assessment_date, []


def load_checked_case(
    path: Path, explicit_as_of: date | None, imports: list[ImportResult] | None = None
) -> tuple[Case, date]:
    """Load a case file (or a FHIR R4 Bundle), resolve ``as_of`` and run the temporal/consistency
    checks. A bundle's unmapped items, warnings and notes are printed to stderr and its import
    result is appended to ``imports``.

    Raises CaseValidationError with every problem (schema problems first, then checks).
    """
    from revspine.casefile import load_case
    from revspine.cli.fhir import report_import
    from revspine.domain.checks import check_case
    from revspine.errors import CaseValidationError

    def _on_import(result: ImportResult) -> None:
        report_import(result, str(path))
        if imports is not None:
            imports.append(result)

    case = load_case(path, as_of=explicit_as_of, on_fhir_import=_on_import)
    when, problems = resolve_as_of(case, explicit_as_of, date.today())
    problems = problems + check_case(case, when)
    if problems:
        raise CaseValidationError(problems, str(path))
    return case, when
