"""FHIR Bulk Data export (a folder of ``<Type>.ndjson`` files) → patient shards, streaming.

Phase 1 (:func:`partition_chunk`, run in parallel on byte ranges of the files): every line is
decoded, routed to its patient (:func:`~revspine.batch.fhir_links.patient_key`) and appended to
shard ``crc32(patient id) mod S`` as ``<patient id> TAB <file index> TAB <line> TAB <json>``.
The process that routes a chunk appends to its own file of each shard
(``s<shard>-<process id>.tsv``), so the shard bytes never travel between processes and no two
processes write one file. Lines that cannot be routed are errors and shared resources
(Medication, Organization, …) go to one side file: both are few, and go back to the main
process. Phase 2 (:func:`evaluate_shard`) reads the files of one shard, groups their lines by
patient and assesses each patient. Memory is bounded by the size of a shard, not of the input.
"""

from __future__ import annotations

import os
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
    "shard_files",
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
    shards_dir: str


@dataclass
class ChunkResult:
    """A routed chunk: its patient lines are in the shard files; its shared lines and errors
    are returned."""

    index: int
    shared: bytes
    errors: list[RecordError]
    patients: int
    lines: int
    size: int


@dataclass(frozen=True)
class ShardTask:
    """Assess every patient of one shard (its files: one per process that routed lines to it)."""

    index: int
    paths: tuple[str, ...]
    files: tuple[str, ...]
    shared_path: str | None = None


def shard_of(patient_id: str, shards: int) -> int:
    """The shard of a patient (stable across processes and runs)."""
    return zlib.crc32(patient_id.encode()) % shards


def shard_files(shards_dir: Path, shards: int) -> list[tuple[str, ...]]:
    """The files of each shard, sorted (the names :func:`partition_chunk` writes)."""
    found: list[list[str]] = [[] for _ in range(shards)]
    for name in sorted(os.listdir(shards_dir)):
        if name.startswith("s") and name.endswith(".tsv"):
            found[int(name[1:].split("-", 1)[0])].append(str(shards_dir / name))
    return [tuple(paths) for paths in found]


def plan_chunks(
    files: list[tuple[str, Path]], chunk_bytes: int, shards: int, shards_dir: Path
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
                yield ChunkTask(
                    index,
                    file_index,
                    name,
                    str(path),
                    start,
                    len(buf),
                    line,
                    shards,
                    str(shards_dir),
                )
                index += 1
                line += buf.count(b"\n")
                start += len(buf)


def partition_chunk(task: ChunkTask, strict: bool) -> ChunkResult:
    """Route every line of a chunk (phase 1): decode it, find its patient, append it to this
    process's file of the patient's shard (the shard of each patient id is computed once per
    chunk). A file is appended to by one process only; an interrupted partition is started
    again from an empty folder, so a partly written file is never read."""
    with open(task.path, "rb") as fh:
        fh.seek(task.start)
        data = fh.read(task.length)
    parts: dict[int, list[bytes]] = {}
    shared: list[bytes] = []
    errors: list[RecordError] = []
    patients = lines = 0
    prefix_tail = b"\t%d\t" % task.file_index
    shards, first_line = task.shards, task.first_line
    # per patient id: its record prefix and its shard's list (worked out once per chunk)
    routes: dict[str, tuple[bytes, list[bytes]]] = {}
    loads, patient_key, bad_record = orjson.loads, fhir_links.patient_key, fhir_links.BadRecord
    for offset, raw in enumerate(data.split(b"\n")):
        raw = raw.rstrip(b"\r")
        if not raw or raw.isspace():
            continue
        lines += 1
        try:
            resource = loads(raw)
            kind, key = patient_key(resource)
        except (orjson.JSONDecodeError, bad_record) as exc:
            # only a refused line needs its origin
            origin = Origin(task.file, first_line + offset)
            if isinstance(exc, orjson.JSONDecodeError):
                errors.append(RecordError.at(origin, "json", f"not valid JSON: {exc}"))
            else:
                error = RecordError.at(origin, exc.kind, exc.reason, resource=_ref(resource))
                errors.append(error)
            if strict:
                break
            continue
        if kind == "shared":
            shared.append(b"%d\t%d\t" % (task.file_index, first_line + offset) + raw + b"\n")
            continue
        route = routes.get(key)
        if route is None:
            records = parts.setdefault(shard_of(key, shards), [])
            route = routes[key] = (key.encode() + prefix_tail, records)
        patients += resource.get("resourceType") == "Patient"
        route[1].extend((route[0], b"%d\t" % (first_line + offset), raw, b"\n"))
    pid = os.getpid()
    for shard, records in parts.items():
        with open(os.path.join(task.shards_dir, f"s{shard:05d}-{pid}.tsv"), "ab") as fh:
            fh.write(b"".join(records))
    return ChunkResult(
        task.index,
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
    for path in task.paths:
        with open(path, "rb") as fh:
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
