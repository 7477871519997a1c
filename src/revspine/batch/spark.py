"""The batch assessment on Apache Spark, for exports too large for one machine.

:func:`assess_bulk` reads a FHIR Bulk Data export (a folder of ``*.ndjson`` on any Hadoop file
system: local, HDFS, S3A, ABFS…), routes every line to its patient with the same function as the
local runner (:func:`revspine.batch.fhir_links.patient_key`), groups the lines by patient and
assesses each group with ``DataFrame.mapInArrow`` calling :func:`revspine.batch.evaluate.
evaluate_fhir` — the very function ``revspine batch`` runs — so the rows are the same, column for
column (:mod:`revspine.batch.rows`). :func:`write_outputs` writes ``patients.parquet``,
``assessments.jsonl`` and ``errors.jsonl`` as Spark output folders, sorted like the local files.

Run it with ``spark-submit`` (see docs/BATCH.md) or from Python::

    spark = local_session("local[2]")
    result = assess_bulk(spark, "bulk/", as_of=date(2026, 11, 1))
    write_outputs(result, "out/")

Needs the classic (JVM) Spark API: line numbers come from ``RDD.zipWithIndex``, which Spark
Connect does not offer.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

__all__ = ["SparkResult", "assess_bulk", "local_session", "main", "spark_schema", "write_outputs"]

PATIENTS_PER_BATCH = 256
_TAG_PATIENT, _TAG_SHARED, _TAG_ERROR = "p", "s", "e"


@dataclass
class SparkResult:
    """The assessed cohort as DataFrames (``rows`` has the schema of :func:`spark_schema`)."""

    rows: DataFrame
    assessments: DataFrame
    """``patient_id``, ``line`` (one line of ``assessments.jsonl``)."""
    errors: DataFrame
    """``file``, ``line``, ``entry``, ``kind``, ``reason``, ``json`` (one line of
    ``errors.jsonl``)."""


def local_session(master: str = "local[2]", app_name: str = "revspine-batch") -> SparkSession:
    """A Spark session for local mode (tests, one machine) using this Python interpreter."""
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    # Python workers must run this interpreter (the one with revspine and pyarrow installed).
    spark.sparkContext.pythonExec = sys.executable
    return spark


def spark_schema() -> StructType:
    """The Spark schema of a batch row (the Spark image of :func:`revspine.batch.rows.row_schema`)."""
    from pyspark.sql.types import (
        ArrayType,
        BooleanType,
        DateType,
        IntegerType,
        StringType,
        StructField,
        StructType,
    )

    from revspine.batch.rows import column_kinds

    types = {
        "string": StringType(),
        "date": DateType(),
        "int": IntegerType(),
        "bool": BooleanType(),
        "strings": ArrayType(StringType()),
    }
    return StructType(
        [StructField(name, types[kind], name != "patient_id") for name, kind in column_kinds()]
    )


def _out_schema() -> StructType:
    from pyspark.sql.types import ArrayType, BooleanType, StringType, StructField

    schema = spark_schema()
    for name, kind in (
        ("_ok", BooleanType()),
        ("_assessment", StringType()),
        ("_errors", ArrayType(StringType())),
    ):
        schema = schema.add(StructField(name, kind, True))
    return schema


def _list_ndjson(spark: SparkSession, path: str) -> list[str]:
    sc = spark.sparkContext
    jvm: Any = sc._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    jsc: Any = sc._jsc
    fs = hpath.getFileSystem(jsc.hadoopConfiguration())
    names = [
        str(status.getPath().getName())
        for status in fs.listStatus(hpath)
        if status.isFile() and str(status.getPath().getName()).endswith(".ndjson")
    ]
    return sorted(names)


_ROUTED_SCHEMA = "tag string, key string, file int, line long, text string"


def _routed(spark: SparkSession, paths: list[str], files: list[str]) -> DataFrame:
    """Every line of the files with its file index and 1-based line number, routed.

    Line numbers are computed in the JVM: each file split (``_metadata.file_block_start``) is
    read in order within one partition, so a line's number is the number of lines in the
    earlier splits of its file plus its position in its split (from
    ``monotonically_increasing_id``, which increases along a partition)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    names = F.array(*[F.lit(n) for n in files])
    text = spark.read.text(paths).select(
        (F.array_position(names, F.col("_metadata.file_name")) - 1).cast("int").alias("file"),
        F.col("_metadata.file_block_start").alias("block"),
        F.monotonically_increasing_id().alias("mid"),
        F.col("value").alias("text"),
    )
    blocks = text.groupBy("file", "block").agg(
        F.count(F.lit(1)).alias("n"), F.min("mid").alias("first")
    )
    earlier = Window.partitionBy("file").orderBy("block").rowsBetween(Window.unboundedPreceding, -1)
    blocks = blocks.withColumn("before", F.coalesce(F.sum("n").over(earlier), F.lit(0)))
    numbered = text.join(F.broadcast(blocks.drop("n")), ["file", "block"]).select(
        "file", (F.col("before") + F.col("mid") - F.col("first") + 1).alias("line"), "text"
    )
    return numbered.mapInArrow(_route_batches, _ROUTED_SCHEMA)


def _route_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """``mapInArrow``: (file, line, text) → (tag, key, file, line, text)."""
    import pyarrow as pa

    schema = pa.schema(
        [
            ("tag", pa.string()),
            ("key", pa.string()),
            ("file", pa.int32()),
            ("line", pa.int64()),
            ("text", pa.string()),
        ]
    )
    for batch in batches:
        rows = zip(*(batch.column(i).to_pylist() for i in range(3)), strict=True)
        columns: list[list[Any]] = [[], [], [], [], []]
        for routed in _route(rows):
            for column, value in zip(columns, routed, strict=True):
                column.append(value)
        yield pa.RecordBatch.from_arrays(
            [pa.array(c, t) for c, t in zip(columns, schema.types, strict=True)], schema=schema
        )


def _route(rows: Iterable[Any]) -> Iterator[tuple[str, str | None, int, int, str]]:
    """Route NDJSON lines (file index, line, text) as the local phase 1 does."""
    import orjson

    from revspine.batch import fhir_links

    for file_index, line, text in rows:
        if not text.strip():
            continue
        try:
            resource = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            reason = orjson.dumps([f"not valid JSON: {exc}", None]).decode()
            yield _TAG_ERROR, "json", file_index, line, reason
            continue
        try:
            kind, key = fhir_links.patient_key(resource)
        except fhir_links.BadRecord as exc:
            ref = None
            if isinstance(resource, dict):
                rtype, rid = resource.get("resourceType"), resource.get("id")
                if isinstance(rtype, str) and isinstance(rid, str):
                    ref = f"{rtype}/{rid}"
            yield _TAG_ERROR, exc.kind, file_index, line, orjson.dumps([exc.reason, ref]).decode()
            continue
        tag = _TAG_SHARED if kind == "shared" else _TAG_PATIENT
        yield tag, key, file_index, line, text


class _Executor:
    """Per Python worker: the evaluation context, built once."""

    ctx: Any = None
    key: tuple[Any, ...] | None = None


def _context(
    as_of: str, knowledge: str | None, files: list[str], shared: list[tuple[int, int, str]]
) -> Any:
    import orjson

    from revspine.batch.evaluate import EvalContext, SharedIndex
    from revspine.batch.records import Origin
    from revspine.knowledge import load_knowledge

    key = (as_of, knowledge, tuple(files), len(shared))
    if _Executor.key != key:
        from pathlib import Path

        index = SharedIndex()
        for file_index, line, text in shared:
            index.add(Origin(files[file_index], line), orjson.loads(text))
        kb = load_knowledge(override=Path(knowledge) if knowledge else None)
        day = date.fromisoformat(as_of)
        _Executor.ctx = EvalContext(kb, day, day, index)
        _Executor.key = key
    return _Executor.ctx


def _evaluator(as_of: str, knowledge: str | None, files: list[str], shared_bc: Any) -> Any:
    """The ``mapInArrow`` function: patient groups in, batch rows out."""

    def evaluate(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import orjson
        import pyarrow as pa

        from revspine.batch.evaluate import Item, evaluate_fhir
        from revspine.batch.records import Origin
        from revspine.batch.rows import column_names, row_schema

        ctx = _context(as_of, knowledge, files, shared_bc.value)
        schema = row_schema()
        names = column_names()
        out_schema = pa.schema(
            [
                *(pa.field(f.name, f.type, True) for f in schema),
                pa.field("_ok", pa.bool_()),
                pa.field("_assessment", pa.string()),
                pa.field("_errors", pa.list_(pa.string())),
            ]
        )
        for batch in batches:
            out: list[dict[str, Any]] = []
            for group in batch.to_pylist():
                pid = group["patient_id"]
                records = sorted(group["records"], key=lambda r: (r["file"], r["line"]))
                items: list[Item] = [
                    (Origin(files[r["file"]], r["line"]), orjson.loads(r["text"]), None)
                    for r in records
                ]
                outcome = evaluate_fhir(pid, items, ctx)
                row: dict[str, Any] = outcome.row or dict.fromkeys(names) | {"patient_id": pid}
                row["_ok"] = outcome.row is not None
                row["_assessment"] = (
                    outcome.assessment_json.decode() if outcome.assessment_json else None
                )
                row["_errors"] = [e.to_json().decode() for e in outcome.errors]
                out.append(row)
            yield pa.RecordBatch.from_pylist(out, schema=out_schema)

    return evaluate


def assess_bulk(
    spark: SparkSession,
    input_path: str,
    *,
    as_of: date,
    knowledge: str | None = None,
) -> SparkResult:
    """Assess every patient of the Bulk Data export at ``input_path`` (lazy DataFrames)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    sc = spark.sparkContext
    files = _list_ndjson(spark, input_path)
    base = input_path.rstrip("/")
    routed = (
        _routed(spark, [f"{base}/{name}" for name in files], files)
        if files
        else spark.createDataFrame([], _ROUTED_SCHEMA)
    ).persist(StorageLevel.MEMORY_AND_DISK)
    shared_rows = routed.filter(F.col("tag") == _TAG_SHARED).select("file", "line", "text")
    shared = [(r["file"], r["line"], r["text"]) for r in shared_rows.collect()]
    shared.sort()
    shared_bc = sc.broadcast(shared)
    groups = (
        routed.filter(F.col("tag") == _TAG_PATIENT)
        .groupBy(F.col("key").alias("patient_id"))
        .agg(F.collect_list(F.struct("file", "line", "text")).alias("records"))
    )
    evaluated = groups.mapInArrow(
        _evaluator(as_of.isoformat(), knowledge, files, shared_bc), _out_schema()
    ).persist(StorageLevel.MEMORY_AND_DISK)
    columns = [F.col(f.name) for f in spark_schema().fields]
    rows = evaluated.filter(F.col("_ok")).select(*columns)
    assessments = evaluated.filter(F.col("_ok")).select(
        "patient_id", F.col("_assessment").alias("line")
    )
    error_json = StructType(
        [
            StructField("file", StringType()),
            StructField("line", LongType()),
            StructField("entry", LongType()),
            StructField("kind", StringType()),
            StructField("reason", StringType()),
        ]
    )
    patient_errors = (
        evaluated.select(F.explode("_errors").alias("json"))
        .withColumn("e", F.from_json("json", error_json))
        .select("e.file", "e.line", "e.entry", "e.kind", "e.reason", "json")
    )
    file_names = F.element_at(F.array(*[F.lit(n) for n in files or [""]]), F.col("file") + 1)
    routing_errors = (
        routed.filter(F.col("tag") == _TAG_ERROR)
        .select(
            file_names.alias("file"),
            F.col("line"),
            F.lit(None).cast("long").alias("entry"),
            F.col("key").alias("kind"),
            F.col("text"),
        )
        .rdd.map(_routing_error)
        .toDF(patient_errors.schema)
        if files
        else patient_errors.limit(0)
    )
    errors = patient_errors.unionByName(routing_errors)
    return SparkResult(rows, assessments, errors)


def _routing_error(row: Any) -> tuple[Any, ...]:
    """A routing error as the columns of ``errors`` (with its ``errors.jsonl`` line)."""
    import orjson

    from revspine.batch.records import RecordError

    reason, ref = orjson.loads(row["text"])
    error = RecordError(row["file"], row["line"], row["kind"], reason, None, None, ref)
    return (error.file, error.line, None, error.kind, error.reason, error.to_json().decode())


def write_outputs(result: SparkResult, out: str, *, mode: str = "overwrite") -> dict[str, int]:
    """Write ``patients.parquet/``, ``assessments.jsonl/`` and ``errors.jsonl/`` under ``out``
    (Spark output folders, sorted as the local files are); returns the counts."""
    base = out.rstrip("/")
    result.rows.orderBy("patient_id").write.mode(mode).parquet(f"{base}/patients.parquet")
    result.assessments.orderBy("patient_id").select("line").write.mode(mode).text(
        f"{base}/assessments.jsonl"
    )
    result.errors.orderBy("file", "line", "entry", "kind", "reason").select("json").write.mode(
        mode
    ).text(f"{base}/errors.jsonl")
    spark = result.rows.sparkSession
    return {
        "patients": spark.read.parquet(f"{base}/patients.parquet").count(),
        "errors": spark.read.text(f"{base}/errors.jsonl").count(),
    }


def main(argv: list[str] | None = None) -> int:
    """``spark-submit <path of this file> INPUT --out OUT --as-of DATE``, or
    ``python -m revspine.batch.spark … --master local[*]`` (see docs/BATCH.md)."""
    parser = argparse.ArgumentParser(
        prog="revspine.batch.spark", description="revspine batch assessment on Apache Spark."
    )
    parser.add_argument("input", help="FHIR Bulk Data folder (*.ndjson), any Hadoop path")
    parser.add_argument("--out", required=True, help="output folder (any Hadoop path)")
    parser.add_argument("--as-of", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    parser.add_argument("--knowledge", help="site override (TOML), readable on every executor")
    parser.add_argument("--master", help="Spark master for a local run, e.g. local[*]")
    args = parser.parse_args(argv)
    # Run through the package module, not ``__main__`` (spark-submit runs this file as a
    # script), so that executors import the functions instead of unpickling copies of them.
    from revspine.batch import spark as job

    if args.master:
        spark = job.local_session(args.master)
    else:
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.appName("revspine-batch").getOrCreate()
    try:
        result = job.assess_bulk(spark, args.input, as_of=args.as_of, knowledge=args.knowledge)
        counts = job.write_outputs(result, args.out)
    finally:
        spark.stop()
    sys.stderr.write(
        f"revspine: {counts['patients']} patient(s), {counts['errors']} bad record(s)\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
