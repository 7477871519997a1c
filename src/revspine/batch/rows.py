"""The batch output contract: one flat row per patient (the Parquet schema), built from an
assessment. The local runner and the Spark job both call :func:`assessment_row`, so their rows are
identical by construction.

Columns (every one nullable except ``patient_id``):

* identity: ``patient_id`` (the FHIR Patient id, or the ``patient_id``/``case_id`` column of a
  table), ``case_id``, ``site``, ``surgeon``, ``as_of``, ``age``, ``sex``;
* the decision: ``disposition``; ``cause_1`` … ``cause_3`` with ``cause_N_likelihood`` (the top of
  the ranked differential); ``red_flags`` (codes);
* work-up: one boolean ``workup_<test>`` per :data:`~revspine.domain.assessment.WorkupTest`
  (true when the assessment lists the test as missing), ``blocking_workup`` (the tests that block
  a decision);
* optimisation gaps: ``optimisation`` (``code:status`` of every optimisation recommendation), one
  ``opt_<code>`` status column per code in :data:`OPTIMISATION_CODES` (``not_met``,
  ``elevated_risk``, ``unknown`` or null when the rule did not apply), ``smoking_status`` (the
  recorded status);
* provenance: ``rules_fired``, ``missing_data_count``, ``warnings_count``, ``knowledge_id``,
  ``knowledge_version``, ``knowledge_sha256``, ``input_errors`` (records of this patient refused
  and listed in ``errors.jsonl``), ``import_warnings`` (FHIR import warnings).
"""

from __future__ import annotations

import typing
from typing import TYPE_CHECKING, Any

from revspine.domain.assessment import WorkupTest

if TYPE_CHECKING:
    import pyarrow as pa

    from revspine.domain.assessment import Assessment
    from revspine.domain.case import Case

__all__ = [
    "OPTIMISATION_CODES",
    "TOP_CAUSES",
    "WORKUP_TESTS",
    "assessment_row",
    "column_kinds",
    "column_names",
    "row_schema",
]

WORKUP_TESTS: tuple[str, ...] = typing.get_args(WorkupTest)
"""Every work-up test, in the order of the ``workup_<test>`` columns."""
OPTIMISATION_CODES: tuple[str, ...] = (
    "smoking_cessation",
    "nutrition",
    "glucose_control",
    "vitamin_d",
)
"""Optimisation recommendation codes with their own ``opt_<code>`` column (rules/optimisation)."""
TOP_CAUSES = 3
# Column names of the per-item columns, built once (the row builder fills them per patient).
_CAUSE_COLUMNS = tuple((f"cause_{i}", f"cause_{i}_likelihood") for i in range(1, TOP_CAUSES + 1))
_WORKUP_COLUMNS = tuple((t, f"workup_{t}") for t in WORKUP_TESTS)
_OPTIMISATION_COLUMNS = tuple((c, f"opt_{c}") for c in OPTIMISATION_CODES)


def _columns() -> list[tuple[str, str]]:
    """(name, type) of every column; type is one of string, date, int, bool, strings."""
    cols = [
        ("patient_id", "string"),
        ("case_id", "string"),
        ("site", "string"),
        ("surgeon", "string"),
        ("as_of", "date"),
        ("age", "int"),
        ("sex", "string"),
        ("disposition", "string"),
    ]
    for cause_col, likelihood_col in _CAUSE_COLUMNS:
        cols += [(cause_col, "string"), (likelihood_col, "string")]
    cols.append(("red_flags", "strings"))
    cols += [(column, "bool") for _, column in _WORKUP_COLUMNS]
    cols += [("blocking_workup", "strings"), ("optimisation", "strings")]
    cols += [(column, "string") for _, column in _OPTIMISATION_COLUMNS]
    cols += [
        ("smoking_status", "string"),
        ("rules_fired", "strings"),
        ("missing_data_count", "int"),
        ("warnings_count", "int"),
        ("knowledge_id", "string"),
        ("knowledge_version", "string"),
        ("knowledge_sha256", "string"),
        ("input_errors", "int"),
        ("import_warnings", "int"),
    ]
    return cols


_COLUMNS = _columns()


def column_kinds() -> list[tuple[str, str]]:
    """(name, kind) of every column; kind is string, date, int, bool or strings (a list)."""
    return list(_COLUMNS)


def column_names() -> list[str]:
    """The row columns, in schema order."""
    return [name for name, _ in _COLUMNS]


def row_schema() -> pa.Schema:
    """The Arrow (and Parquet) schema of a batch row."""
    import pyarrow as pa

    types = {
        "string": pa.string(),
        "date": pa.date32(),
        "int": pa.int32(),
        "bool": pa.bool_(),
        "strings": pa.list_(pa.string()),
    }
    return pa.schema(
        [pa.field(name, types[kind], nullable=name != "patient_id") for name, kind in _COLUMNS]
    )


def assessment_row(
    patient_id: str,
    case: Case,
    assessment: Assessment,
    *,
    input_errors: int = 0,
    import_warnings: int = 0,
) -> dict[str, Any]:
    """The flat output row of one assessed patient."""
    a = assessment
    row: dict[str, Any] = {
        "patient_id": patient_id,
        "case_id": a.case_id,
        "site": case.site,
        "surgeon": case.surgeon,
        "as_of": a.as_of,
        "age": a.derived.age,
        "sex": case.patient.sex,
        "disposition": a.disposition.code,
    }
    top = a.differential[:TOP_CAUSES]
    for i, (cause_col, likelihood_col) in enumerate(_CAUSE_COLUMNS):
        cause = top[i] if i < len(top) else None
        row[cause_col] = cause.cause if cause else None
        row[likelihood_col] = cause.likelihood if cause else None
    row["red_flags"] = [f.code for f in a.red_flags]
    missing = {w.test for w in a.workup}
    for test, column in _WORKUP_COLUMNS:
        row[column] = test in missing
    row["blocking_workup"] = [w.test for w in a.workup if w.blocks_decision]
    row["optimisation"] = [f"{r.code}:{r.status}" for r in a.optimisation]
    status = {r.code: r.status for r in a.optimisation}
    for code, column in _OPTIMISATION_COLUMNS:
        row[column] = status.get(code)
    row |= {
        "smoking_status": case.comorbidities.smoking_status,
        "rules_fired": list(a.rules_fired),
        "missing_data_count": len(a.missing_data),
        "warnings_count": len(a.warnings),
        "knowledge_id": a.knowledge.id,
        "knowledge_version": a.knowledge.version,
        "knowledge_sha256": a.knowledge.sha256,
        "input_errors": input_errors,
        "import_warnings": import_warnings,
    }
    return row
