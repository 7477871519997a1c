"""The final step: merge the sorted parts into the output files, streaming (a k-way merge keeps
one batch per part in memory, whatever the size of the cohort).

* ``patients.parquet`` — the rows, sorted by patient id (ties, possible only for tables and
  Bundle folders that repeat a patient id, keep input order);
* ``assessments.jsonl`` — the full assessments, in the same order;
* ``errors.jsonl`` — every refused record, sorted by file, line, entry and reason.

Nothing in these files depends on the clock, the machine or the number of workers: the same
input and options give byte-identical files.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from revspine.batch._parts import _tmp, iter_part_rows, part_paths, replace_atomic
from revspine.batch.records import RecordError, error_sort_key
from revspine.batch.rows import row_schema

__all__ = ["OUTPUTS", "MergeResult", "merge_parts"]

OUTPUTS = ("patients.parquet", "assessments.jsonl", "errors.jsonl")
ROW_GROUP = 8192


@dataclass
class MergeResult:
    """What was written."""

    patients: int = 0
    errors: int = 0
    errors_by_kind: dict[str, int] = field(default_factory=dict)


def _part_stream(index: int, parts_dir: Path) -> Iterator[tuple[str, int, dict[str, Any], bytes]]:
    rows_path, jsonl_path, _ = part_paths(parts_dir, index)
    with open(jsonl_path, "rb") as lines:
        for row in iter_part_rows(rows_path):
            yield row["patient_id"], index, row, lines.readline().rstrip(b"\n")


def _error_stream(path: Path) -> Iterator[RecordError]:
    with open(path, "rb") as fh:
        for line in fh:
            if line.strip():
                yield RecordError.from_dict(orjson.loads(line))


def merge_parts(
    parts: list[int], parts_dir: Path, out_dir: Path, extra_errors: list[Path]
) -> MergeResult:
    """Merge the given parts (and the errors found before them) into the output files."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    result = MergeResult()
    schema = row_schema()
    parquet_path, jsonl_path, errors_path = (out_dir / name for name in OUTPUTS)
    tmp_parquet, tmp_jsonl, tmp_errors = _tmp(parquet_path), _tmp(jsonl_path), _tmp(errors_path)
    merged = heapq.merge(*(_part_stream(i, parts_dir) for i in parts), key=lambda t: t[:2])
    writer = pq.ParquetWriter(
        str(tmp_parquet), schema, compression="zstd", write_statistics=True, use_dictionary=True
    )
    try:
        with open(tmp_jsonl, "wb") as jsonl:
            batch: list[dict[str, Any]] = []
            for _, _, row, line in merged:
                batch.append(row)
                jsonl.write(line + b"\n")
                if len(batch) == ROW_GROUP:
                    writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                    result.patients += len(batch)
                    batch = []
            if batch or result.patients == 0:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                result.patients += len(batch)
    finally:
        writer.close()
    kinds: Counter[str] = Counter()
    streams = [_error_stream(p) for p in extra_errors if p.exists()]
    streams += [_error_stream(part_paths(parts_dir, i)[2]) for i in parts]
    with open(tmp_errors, "wb") as errors:
        _write_errors(heapq.merge(*streams, key=error_sort_key), errors, kinds)
    result.errors = sum(kinds.values())
    result.errors_by_kind = dict(sorted(kinds.items()))
    for tmp, final in (
        (tmp_parquet, parquet_path),
        (tmp_jsonl, jsonl_path),
        (tmp_errors, errors_path),
    ):
        replace_atomic(tmp, final)
    return result


def _write_errors(errors: Iterator[RecordError], out: IO[bytes], kinds: Counter[str]) -> None:
    for e in errors:
        out.write(e.to_json() + b"\n")
        kinds[e.kind] += 1
