"""The whole revspine exception tree.

Every error carries enough context (field path, file, rule id) for a clinician or integrator
to see what was wrong without reading a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class RevspineError(Exception):
    """Root of every error revspine raises on purpose."""


@dataclass(frozen=True)
class FieldProblem:
    """One offending field: its dotted path and what was expected."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class InputError(RevspineError):
    """The input (a case file, a bundle, a request) is not usable."""


class CaseValidationError(InputError):
    """A case file failed validation; ``problems`` lists every offending field."""

    def __init__(self, problems: list[FieldProblem], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        where = f"{source}: " if source else ""
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{where}invalid case ({len(problems)} problem(s))\n{lines}")


class UnitError(InputError):
    """A quantity has a unit that is unknown or of the wrong dimension for its analyte."""


class KnowledgeError(RevspineError):
    """The knowledge file is unusable."""


class KnowledgeSchemaError(KnowledgeError):
    """A knowledge file or site override failed validation (names file and key)."""

    def __init__(self, source: str, problems: list[FieldProblem]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: invalid knowledge file\n{lines}")


class EngineError(RevspineError):
    """A rule failed while evaluating a case (a bug, reported with the rule id)."""

    def __init__(self, rule_id: str, cause: BaseException) -> None:
        self.rule_id = rule_id
        super().__init__(f"rule {rule_id} failed: {cause!r}")
