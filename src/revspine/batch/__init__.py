"""Registry-scale batch assessment (issue 5): many patients in, one row per patient out.

* :func:`run_batch` — ``revspine batch``: a FHIR Bulk Data export, a folder of Bundles or a table
  of native case fields → ``patients.parquet``, ``assessments.jsonl``, ``errors.jsonl``, on every
  core, streaming and resumable (:mod:`revspine.batch.runner`);
* :mod:`revspine.batch.synth` — ``revspine synth``: synthetic FBSS cohorts as FHIR Bulk NDJSON,
  with bad records injected at a chosen rate;
* :mod:`revspine.batch.cohort` — ``revspine report cohort``: an HTML cohort report (DuckDB);
* :mod:`revspine.batch.spark` — the same assessment on Apache Spark (``mapInArrow``).

The batch layer reuses the engine and the FHIR adapter; the core never imports it. pyarrow is
imported where it is needed, pyspark only by :mod:`revspine.batch.spark`.
"""

from __future__ import annotations

from revspine.batch.rows import assessment_row, column_names, row_schema
from revspine.batch.runner import BatchOptions, BatchSummary, ResumeError, StrictStop, run_batch

__all__ = [
    "BatchOptions",
    "BatchSummary",
    "ResumeError",
    "StrictStop",
    "assessment_row",
    "column_names",
    "row_schema",
    "run_batch",
]
