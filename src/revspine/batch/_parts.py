"""Per-task output parts and atomic file writes.

Each task (a shard of a Bulk export, a group of Bundle files, a block of table rows) writes one
part: ``part-NNNNNN.arrow`` (its rows, sorted by patient id, as an Arrow IPC file),
``part-NNNNNN.jsonl`` (the assessments, same order) and ``part-NNNNNN.errors.jsonl``. Each file is
written to a temporary name and renamed, so a part on disk is always complete.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from revspine.batch.evaluate import Outcome
from revspine.batch.records import RecordError, error_sort_key
from revspine.batch.rows import row_schema

__all__ = ["PartWriter", "atomic_write", "part_paths", "replace_atomic"]

_IPC_BATCH = 64  # the merge holds one batch per part in memory


def part_paths(parts_dir: Path, index: int) -> tuple[Path, Path, Path]:
    """(rows, assessments, errors) files of part ``index``."""
    stem = parts_dir / f"part-{index:06d}"
    return Path(f"{stem}.arrow"), Path(f"{stem}.jsonl"), Path(f"{stem}.errors.jsonl")


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def replace_atomic(tmp: Path, path: Path) -> None:
    """Move a finished temporary file into place (after flushing it to disk)."""
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    tmp = _tmp(path)
    tmp.write_bytes(data)
    replace_atomic(tmp, path)


class PartWriter:
    """Collects one task's outcomes and writes its part files."""

    def __init__(self, parts_dir: Path, index: int) -> None:
        self.paths = part_paths(parts_dir, index)
        self.items: list[tuple[tuple[Any, ...], dict[str, Any], bytes]] = []
        self.errors: list[RecordError] = []
        self.patients = 0

    def add(self, outcome: Outcome, order: tuple[Any, ...] = ()) -> None:
        """Record an outcome; rows are sorted by (patient id, ``order``) when written."""
        self.errors.extend(outcome.errors)
        if outcome.row is not None and outcome.assessment_json is not None:
            self.items.append(((outcome.patient_id, *order), outcome.row, outcome.assessment_json))
            self.patients += 1

    def add_errors(self, errors: list[RecordError]) -> None:
        """Record errors that belong to no patient outcome."""
        self.errors.extend(errors)

    def write(self) -> None:
        """Write the three part files (each atomically)."""
        import pyarrow as pa

        rows_path, jsonl_path, errors_path = self.paths
        self.items.sort(key=lambda item: item[0])
        schema = row_schema()
        tmp = _tmp(rows_path)
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
            for start in range(0, len(self.items), _IPC_BATCH):
                chunk = [row for _, row, _ in self.items[start : start + _IPC_BATCH]]
                writer.write_batch(pa.RecordBatch.from_pylist(chunk, schema=schema))
        replace_atomic(tmp, rows_path)
        atomic_write(jsonl_path, b"".join(line + b"\n" for _, _, line in self.items))
        self.errors.sort(key=error_sort_key)
        atomic_write(errors_path, b"".join(e.to_json() + b"\n" for e in self.errors))
