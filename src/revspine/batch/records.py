"""Where an input record came from, and what was wrong with it (one line of ``errors.jsonl``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["ErrorKind", "Origin", "RecordError", "error_sort_key"]

ErrorKind = str
"""``json`` (not valid JSON), ``resource`` (not a usable FHIR resource: no resourceType, a
Patient without id), ``reference`` (no or unusable patient reference), ``fhir`` (the FHIR import
refused the record: unknown unit, bad date, …), ``case`` (the patient's case is invalid or
inconsistent; no row is written), ``engine`` (a rule failed: a revspine bug; no row), ``internal`` (the FHIR import failed
unexpectedly: a revspine bug; no row)."""


@dataclass(frozen=True, order=True)
class Origin:
    """A record's place in the input: file (relative to the input), 1-based line, and for a
    Bundle entry its index (``entry``) or for a Parquet table its 1-based row (``line``)."""

    file: str
    line: int | None = None
    entry: int | None = None

    def label(self) -> str:
        """``file:line`` (or ``file entry[i]``) for messages."""
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        if self.entry is not None:
            where += f" entry[{self.entry}]"
        return where


@dataclass(frozen=True)
class RecordError:
    """One refused record: where, why, and the patient it belonged to (when known)."""

    file: str
    line: int | None
    kind: ErrorKind
    reason: str
    patient_id: str | None = None
    entry: int | None = None
    resource: str | None = None

    @classmethod
    def at(
        cls,
        origin: Origin,
        kind: ErrorKind,
        reason: str,
        patient_id: str | None = None,
        resource: str | None = None,
    ) -> RecordError:
        """An error at ``origin``."""
        return cls(origin.file, origin.line, kind, reason, patient_id, origin.entry, resource)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object written to ``errors.jsonl`` (fixed key order)."""
        return {
            "file": self.file,
            "line": self.line,
            "entry": self.entry,
            "kind": self.kind,
            "patient_id": self.patient_id,
            "resource": self.resource,
            "reason": self.reason,
        }

    def to_json(self) -> bytes:
        """One line of ``errors.jsonl`` (without the newline)."""
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecordError:
        """Read back a :meth:`to_dict` object."""
        return cls(
            data["file"],
            data["line"],
            data["kind"],
            data["reason"],
            data.get("patient_id"),
            data.get("entry"),
            data.get("resource"),
        )


def error_sort_key(e: RecordError) -> tuple[str, int, int, str, str]:
    """Errors are written sorted by file, line, entry, kind and reason."""
    return (e.file, e.line or 0, -1 if e.entry is None else e.entry, e.kind, e.reason)
