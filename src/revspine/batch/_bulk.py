"""FHIR Bulk Data export (a folder of ``<Type>.ndjson`` files) → patient shards, streaming.

Phase 1 (:func:`partition_chunk`, run in parallel on byte ranges of the files): every line is
decoded, routed to its patient (:func:`~revspine.batch.fhir_links.patient_key`) and appended to
shard ``crc32(patient id) mod S`` as ``<patient id> TAB <file index> TAB <line> TAB <json>``.
Lines that cannot be routed are errors; shared resources (Medication, Organization, …) go to
one side file. Phase 2 (:func:`evaluate_shard`) reads one shard at a time, groups its lines by
patient and assesses each patient. Memory is bounded by the size of a shard, not of the input.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from revspine.batch import fhir_links
from revspine.batch._parts import PartWriter
from revspine.batch.evaluate import EvalContext, Item, SharedIndex, evaluate_fhir
from revspine.batch.records import Origin, RecordError

__all__ = [
    "ChunkResult",
    "ChunkTask",
    "ShardTask",
    "evaluate_shard",
    "load_shared",
    "partition_chunk",
    "plan_chunks",
    "shard_of",
]


@dataclass(frozen=True)
class ChunkTask:
    """A byte range of one NDJSON file that starts at line ``first_line``."""

    index: int
    file_index: int
    file: str
    path: str
    start: int
    length: int
    first_line: int
    shards: int


@dataclass
class ChunkResult:
    """Lines of a chunk, routed: bytes per shard, shared lines, errors."""

    index: int
    blobs: dict[int, bytes]
    shared: bytes
    errors: list[RecordError]
    patients: int
    lines: int
    size: int


@dataclass(frozen=True)
class ShardTask:
    """Assess every patient of one shard file."""

    index: int
    path: str
    files: tuple[str, ...]
    shared_path: str | None = None


def shard_of(patient_id: str, shards: int) -> int:
    """The shard of a patient (stable across processes and runs)."""
    return zlib.crc32(patient_id.encode()) % shards


def plan_chunks(
    files: list[tuple[str, Path]], chunk_bytes: int, shards: int
) -> Iterator[ChunkTask]:
    """Split every file into chunks of about ``chunk_bytes`` that end at a line break, counting
    lines so each chunk knows its first line number."""
    index = 0
    for file_index, (name, path) in enumerate(files):
        with open(path, "rb") as fh:
            start, line = 0, 1
            while True:
                fh.seek(start)
                buf = fh.read(chunk_bytes)
                if not buf:
                    break
                if len(buf) == chunk_bytes:
                    cut = buf.rfind(b"\n")
                    if cut >= 0:
                        buf = buf[: cut + 1]
                    else:  # one line longer than a chunk: read on to its end
                        while more := fh.read(chunk_bytes):
                            cut = more.find(b"\n")
                            if cut >= 0:
                                buf += more[: cut + 1]
                                break
                            buf += more
                yield ChunkTask(index, file_index, name, str(path), start, len(buf), line, shards)
                index += 1
                line += buf.count(b"\n")
                start += len(buf)


def partition_chunk(task: ChunkTask, strict: bool) -> ChunkResult:
    """Route every line of a chunk (phase 1): decode it, find its patient, append it to the
    patient's shard (the shard of each patient id is computed once per chunk)."""
    with open(task.path, "rb") as fh:
        fh.seek(task.start)
        data = fh.read(task.length)
    parts: dict[int, list[bytes]] = {}
    shared: list[bytes] = []
    errors: list[RecordError] = []
    patients = lines = 0
    prefix_tail = b"\t%d\t" % task.file_index
    shards, first_line = task.shards, task.first_line
    shard_of_key: dict[str, int] = {}
    for offset, raw in enumerate(data.split(b"\n")):
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue
        lines += 1
        line_no = first_line + offset
        try:
            resource = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            origin = Origin(task.file, line_no)  # only a refused line needs its origin
            errors.append(RecordError.at(origin, "json", f"not valid JSON: {exc}"))
            if strict:
                break
            continue
        try:
            kind, key = fhir_links.patient_key(resource)
        except fhir_links.BadRecord as exc:
            origin = Origin(task.file, line_no)
            errors.append(RecordError.at(origin, exc.kind, exc.reason, resource=_ref(resource)))
            if strict:
                break
            continue
        if kind == "shared":
            shared.append(b"%d\t%d\t" % (task.file_index, line_no) + raw + b"\n")
            continue
        patients += resource.get("resourceType") == "Patient"
        shard = shard_of_key.get(key)
        if shard is None:
            shard = shard_of_key[key] = shard_of(key, shards)
        record = key.encode() + prefix_tail + b"%d\t" % line_no + raw + b"\n"
        parts.setdefault(shard, []).append(record)
    return ChunkResult(
        task.index,
        {k: b"".join(v) for k, v in parts.items()},
        b"".join(shared),
        errors,
        patients,
        lines,
        task.length,
    )


def _ref(resource: Any) -> str | None:
    if isinstance(resource, dict):
        rtype, rid = resource.get("resourceType"), resource.get("id")
        if isinstance(rtype, str) and isinstance(rid, str):
            return f"{rtype}/{rid}"
    return None


def load_shared(path: str | None, files: tuple[str, ...]) -> SharedIndex:
    """The shared resources written in phase 1."""
    index = SharedIndex()
    if not path or not Path(path).exists():
        return index
    with open(path, "rb") as fh:
        for line in fh:
            file_index, line_no, raw = line.rstrip(b"\n").split(b"\t", 2)
            index.add(Origin(files[int(file_index)], int(line_no)), orjson.loads(raw))
    return index


def evaluate_shard(
    task: ShardTask,
    ctx: EvalContext,
    parts_dir: Path,
    strict: bool,
    progress: Callable[[int], None],
) -> PartWriter:
    """Assess every patient of a shard (phase 2) and write its part."""
    groups: dict[bytes, list[tuple[int, int, bytes]]] = {}
    with open(task.path, "rb") as fh:
        for line in fh:
            key, file_index, line_no, raw = line.rstrip(b"\n").split(b"\t", 3)
            records = groups.get(key)
            if records is None:
                records = groups[key] = []
            records.append((int(file_index), int(line_no), raw))
    writer = PartWriter(parts_dir, task.index)
    files = task.files
    done = 0
    for key in sorted(groups):  # UTF-8 bytes sort as their text does
        pid = key.decode()
        records = groups.pop(key)
        records.sort()  # by file and line (unique: the bytes never decide)
        items: list[Item] = [
            (Origin(files[f], line_no), orjson.loads(raw), None) for f, line_no, raw in records
        ]
        writer.add(evaluate_fhir(pid, items, ctx))
        done += 1
        if done % 64 == 0:
            progress(64)
        if strict and writer.errors:
            break
    progress(done % 64)
    return writer
