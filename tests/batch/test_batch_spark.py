"""``revspine.batch.spark`` in local mode (``local[2]``) gives the rows, assessments and errors
of the local run on the same export — byte for byte."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from batchtools import AS_OF, Cohort, Run

from revspine.batch.rows import row_schema

pytestmark = [pytest.mark.req("REQ-601", "REQ-113", "REQ-401")]


def _java() -> None:
    if shutil.which("java") is None:
        pytest.fail(
            "Java is missing: the Spark tests need a Java 17+ runtime on PATH "
            "(Debian: apt-get install openjdk-17-jre-headless). They are never skipped."
        )


def _type(t: pa.DataType) -> str:
    """A type without list field names (Spark writes list<element>, pyarrow list<item>)."""
    return f"list<{t.value_type}>" if pa.types.is_list(t) else str(t)


def _text(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.glob("part-*")))


def test_spark_local_mode_matches_the_local_run(
    bad_cohort: Cohort, bad_run: Run, tmp_path: Path
) -> None:
    _java()
    from revspine.batch.spark import assess_bulk, local_session, write_outputs

    spark = local_session("local[2]")
    # Small file splits: line numbers must survive a file read by several tasks.
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(256 * 1024))
    try:
        result = assess_bulk(spark, str(bad_cohort.path), as_of=AS_OF)
        counts = write_outputs(result, str(tmp_path))
    finally:
        spark.stop()
    table = pq.read_table(tmp_path / "patients.parquet")
    local = bad_run.rows()
    assert counts == {"patients": len(local), "errors": bad_run.summary.errors}
    assert [(f.name, _type(f.type)) for f in table.schema] == [
        (f.name, _type(f.type)) for f in row_schema()
    ]
    rows = sorted(table.to_pylist(), key=lambda r: r["patient_id"])
    assert rows == local
    assert _text(tmp_path / "assessments.jsonl") == (bad_run.out / "assessments.jsonl").read_bytes()
    assert _text(tmp_path / "errors.jsonl") == (bad_run.out / "errors.jsonl").read_bytes()
