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


class FhirParseError(InputError):
    """A FHIR bundle or resource cannot be read: names the JSON path (and resource) at fault."""

    def __init__(self, message: str, path: str | None = None, source: str | None = None) -> None:
        self.path = path
        self.reason = message
        self.source = source
        where = ": ".join(w for w in (source, path) if w)
        super().__init__(f"{where}: {message}" if where else message)


class KnowledgeError(RevspineError):
    """The knowledge file is unusable."""


class KnowledgeSchemaError(KnowledgeError):
    """A knowledge file or site override failed validation (names file and key)."""

    def __init__(self, source: str, problems: list[FieldProblem]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: invalid knowledge file\n{lines}")


class SafetyFileError(InputError):
    """``safety/requirements.toml`` or ``safety/hazards.toml`` failed validation (names file and key)."""

    def __init__(self, source: str, problems: list[FieldProblem]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: invalid safety file\n{lines}")


class EngineError(RevspineError):
    """A rule failed while evaluating a case (a bug, reported with the rule id)."""

    def __init__(self, rule_id: str, cause: BaseException) -> None:
        self.rule_id = rule_id
        super().__init__(f"rule {rule_id} failed: {cause!r}")


class ConfigError(RevspineError):
    """A setting is unknown or its value is unusable (names the setting and where it came from)."""

    def __init__(self, message: str, setting: str | None = None) -> None:
        self.setting = setting
        super().__init__(message)


class StorageError(RevspineError):
    """The database could not store or return what was asked (a foreign error translated)."""


class NotFoundError(StorageError):
    """A case, version or user that was asked for does not exist."""

    def __init__(self, entity: str, key: str) -> None:
        self.entity = entity
        self.key = key
        super().__init__(f"{entity} {key!r} not found")


class AlreadyExistsError(StorageError):
    """A case or user with this identifier already exists; nothing was written."""

    def __init__(self, entity: str, key: str) -> None:
        self.entity = entity
        self.key = key
        super().__init__(f"{entity} {key!r} already exists")


class VersionConflictError(StorageError):
    """A save was based on a version that is no longer the latest; nothing was written."""

    def __init__(self, case_id: str, expected: int, current: int) -> None:
        self.case_id = case_id
        self.expected = expected
        self.current = current
        super().__init__(
            f"case {case_id!r} was changed by someone else: you edited version {expected}, "
            f"the latest is version {current}; reload the case and apply your changes again"
        )
