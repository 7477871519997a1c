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

from revspine.batch._parts import _tmp, part_paths, replace_atomic
from revspine.batch.records import RecordError, error_sort_key
from revspine.batch.rows import row_schema

__all__ = ["OUTPUTS", "MergeResult", "merge_parts", "warm_up"]

OUTPUTS = ("patients.parquet", "assessments.jsonl", "errors.jsonl")
ROW_GROUP = 4096


@dataclass
class MergeResult:
    """What was written."""

    patients: int = 0
    errors: int = 0
    errors_by_kind: dict[str, int] = field(default_factory=dict)


class _Part:
    """One part being merged: its current Arrow batch (rows stay columnar) and its
    assessments file, read in step."""

    def __init__(self, index: int, parts_dir: Path) -> None:
        import pyarrow as pa

        rows_path, jsonl_path, _ = part_paths(parts_dir, index)
        self.index = index
        self.source = pa.OSFile(str(rows_path), "rb")  # not memory-mapped: RSS stays small
        self.reader = pa.ipc.open_file(self.source)
        self.lines = open(jsonl_path, "rb")  # noqa: SIM115 - closed in close()
        self.batch_no = -1
        self.batch: Any = None
        self.ids: list[str] = []
        self.pos = 0

    def advance(self) -> bool:
        """Move to the next row; False when the part is exhausted."""
        self.pos += 1
        while self.pos >= len(self.ids):
            self.batch_no += 1
            if self.batch_no >= self.reader.num_record_batches:
                return False
            self.batch = self.reader.get_batch(self.batch_no)
            self.ids = self.batch.column(0).to_pylist()
            self.pos = 0
        return True

    def close(self) -> None:
        self.lines.close()
        self.source.close()


def _error_stream(path: Path) -> Iterator[RecordError]:
    with open(path, "rb") as fh:
        for line in fh:
            if line.strip():
                yield RecordError.from_dict(orjson.loads(line))


def merge_parts(
    parts: list[int], parts_dir: Path, out_dir: Path, extra_errors: list[Path]
) -> MergeResult:
    """Merge the given parts (and the errors found before them) into the output files."""
    import pyarrow.parquet as pq

    result = MergeResult()
    schema = row_schema()
    parquet_path, jsonl_path, errors_path = (out_dir / name for name in OUTPUTS)
    tmp_parquet, tmp_jsonl, tmp_errors = _tmp(parquet_path), _tmp(jsonl_path), _tmp(errors_path)
    writer = pq.ParquetWriter(
        str(tmp_parquet), schema, compression="zstd", write_statistics=True, use_dictionary=True
    )
    readers = [_Part(i, parts_dir) for i in parts]
    try:
        heap = []
        for r in readers:
            r.pos = -1
            if r.advance():
                heap.append((r.ids[r.pos], r.index, r))
        heapq.heapify(heap)
        group: list[tuple[int, int]] = []  # (batch key, row) of the next row group
        batches: dict[int, Any] = {}
        with open(tmp_jsonl, "wb") as jsonl:
            while heap:
                _, _, r = heap[0]
                key = id(r.batch)
                batches.setdefault(key, r.batch)
                group.append((key, r.pos))
                jsonl.write(r.lines.readline())
                if r.advance():
                    heapq.heapreplace(heap, (r.ids[r.pos], r.index, r))
                else:
                    heapq.heappop(heap)
                if len(group) == ROW_GROUP:
                    result.patients += _write_group(writer, group, batches, schema)
                    group, batches = [], {}
            if group or result.patients == 0:
                result.patients += _write_group(writer, group, batches, schema)
    finally:
        writer.close()
        for r in readers:
            r.close()
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


def warm_up() -> None:
    """Load what the merge loads on first use: pyarrow's Parquet and IPC modules, and the
    compute kernels (``take``; pyarrow imports pandas on the first compute call). Called in
    a background thread while the workers assess, so that the merge does not wait for it."""
    import pyarrow as pa
    import pyarrow.ipc
    import pyarrow.parquet  # noqa: F401

    pa.array([0], pa.int64()).take(pa.array([0], pa.int64()))


def _write_group(
    writer: Any, group: list[tuple[int, int]], batches: dict[int, Any], schema: Any
) -> int:
    """Write one row group: the listed rows, taken from the batches they are in."""
    import pyarrow as pa

    keys = list(batches)
    offsets, start = {}, 0
    for key in keys:
        offsets[key] = start
        start += batches[key].num_rows
    table = pa.Table.from_batches([batches[k] for k in keys], schema=schema)
    rows = table.take(pa.array([offsets[key] + row for key, row in group], pa.int64()))
    writer.write_table(rows)
    return len(group)


def _write_errors(errors: Iterator[RecordError], out: IO[bytes], kinds: Counter[str]) -> None:
    for e in errors:
        out.write(e.to_json() + b"\n")
        kinds[e.kind] += 1
