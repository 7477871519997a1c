"""Flat tables of native case fields (CSV or Parquet), one patient per row, and folders of FHIR
Bundle files, one patient per file.

Table columns are case fields written as dotted paths (``patient.age``,
``comorbidities.smoking_status``, ``symptoms.fever``); a numeric segment indexes a list
(``surgeries.0.type``, ``labs.1.value``). A cell that starts with ``[`` or ``{`` is JSON, so a
whole list or section fits in one column (``labs``, ``symptoms.dermatomes``). Empty cells are
absent (unknown), never false. ``patient_id`` (optional) names the patient; without it
``case_id``, else ``row<line>``. Parquet columns may also be typed (numbers, booleans, dates)
or nested structs and lists.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from revspine.batch._parts import PartWriter
from revspine.batch.evaluate import EvalContext, Item, Outcome, evaluate_fhir, evaluate_native
from revspine.batch.records import Origin, RecordError

__all__ = [
    "BundleTask",
    "RowsTask",
    "evaluate_bundles",
    "evaluate_rows",
    "iter_table_rows",
    "nest",
]

PATIENT_ID_COLUMN = "patient_id"
_LINE_RE = re.compile(r"\bline (\d+) column \d+")


@dataclass(frozen=True)
class RowsTask:
    """A block of table rows: (origin, patient id, flat row or a parse error)."""

    index: int
    rows: tuple[tuple[Origin, str, dict[str, Any] | None, str | None], ...]


@dataclass(frozen=True)
class BundleTask:
    """A group of Bundle files: (name relative to the input, path)."""

    index: int
    files: tuple[tuple[str, str], ...]


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """Dotted-path columns → a nested case mapping; raises ValueError naming the column."""
    root: dict[str, Any] = {}
    for column in sorted(flat):
        value = flat[column]
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
            try:
                value = orjson.loads(value)
            except orjson.JSONDecodeError as exc:
                raise ValueError(f"column {column!r}: not valid JSON ({exc})") from None
        parts = column.split(".")
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            blank: Any = None if last else ([] if parts[i + 1].isdigit() else {})
            if part.isdigit():
                if not isinstance(node, list):
                    raise ValueError(f"column {column!r}: {'.'.join(parts[:i])} is not a list")
                idx = int(part)
                node.extend([None] * (idx + 1 - len(node)))
                if last:
                    node[idx] = value
                elif node[idx] is None:
                    node[idx] = blank
                node = node[idx]
            else:
                if not isinstance(node, dict):
                    raise ValueError(f"column {column!r}: {'.'.join(parts[:i])} is not a mapping")
                if last:
                    if part in node:
                        raise ValueError(f"column {column!r} is given twice")
                    node[part] = value
                else:
                    node = node.setdefault(part, blank)
    return root


def _patient_id(flat: dict[str, Any], origin: Origin) -> str:
    for key in (PATIENT_ID_COLUMN, "case_id"):
        value = flat.get(key)
        if value is not None and str(value).strip():
            return str(value).strip()
    return f"row{origin.line}"


def iter_table_rows(
    path: Path, name: str
) -> Iterator[tuple[Origin, str, dict[str, Any] | None, str | None]]:
    """Every row of a CSV or Parquet table: (origin, patient id, flat row, parse error)."""
    if path.suffix.lower() == ".parquet":
        yield from _parquet_rows(path, name)
    else:
        yield from _csv_rows(path, name)


def _csv_rows(
    path: Path, name: str
) -> Iterator[tuple[Origin, str, dict[str, Any] | None, str | None]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Origin(name, 1), "row1", None, f"unreadable CSV header: {exc}"
            return
        start = reader.line_num + 1
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                origin = Origin(name, start)
                yield origin, f"row{start}", None, f"unreadable CSV row: {exc}"
                start = reader.line_num + 1
                continue
            origin = Origin(name, start)
            start = reader.line_num + 1
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(header):
                yield (
                    origin,
                    f"row{origin.line}",
                    None,
                    f"{len(values)} cells, the header has {len(header)} columns",
                )
                continue
            flat = dict(zip(header, values, strict=True))
            yield origin, _patient_id(flat, origin), flat, None


def _parquet_rows(
    path: Path, name: str
) -> Iterator[tuple[Origin, str, dict[str, Any] | None, str | None]]:
    import pyarrow.parquet as pq

    row = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=1024):
        for flat in batch.to_pylist():
            row += 1
            origin = Origin(name, row)
            yield origin, _patient_id(flat, origin), flat, None


def evaluate_rows(
    task: RowsTask,
    ctx: EvalContext,
    parts_dir: Path,
    strict: bool,
    progress: Callable[[int], None],
) -> PartWriter:
    """Assess a block of table rows and write its part."""
    writer = PartWriter(parts_dir, task.index)
    for origin, pid, flat, problem in task.rows:
        if flat is not None and problem is None:
            data = {k: v for k, v in flat.items() if k != PATIENT_ID_COLUMN}
            try:
                outcome = evaluate_native(pid, nest(data), origin, ctx)
            except ValueError as exc:
                problem = str(exc)
        if problem is not None:
            outcome = Outcome(pid, None, None, [RecordError.at(origin, "case", problem, pid)])
        writer.add(outcome, (origin.line or 0,))
        progress(1)
        if strict and writer.errors:
            break
    return writer


def evaluate_bundles(
    task: BundleTask,
    ctx: EvalContext,
    parts_dir: Path,
    strict: bool,
    progress: Callable[[int], None],
) -> PartWriter:
    """Assess a group of Bundle files (one patient each) and write their part."""
    writer = PartWriter(parts_dir, task.index)
    for order, (name, path) in enumerate(task.files):
        writer.add(_bundle_outcome(name, Path(path), ctx), (order,))
        progress(1)
        if strict and writer.errors:
            break
    return writer


def _bundle_outcome(name: str, path: Path, ctx: EvalContext) -> Outcome:
    stem = Path(name).stem
    origin = Origin(name, 1)
    try:
        data = orjson.loads(path.read_bytes())
    except OSError as exc:
        return Outcome(stem, None, None, [RecordError.at(origin, "json", f"cannot read: {exc}")])
    except orjson.JSONDecodeError as exc:
        where = Origin(name, _json_error_line(str(exc)))
        return Outcome(stem, None, None, [RecordError.at(where, "json", f"not valid JSON: {exc}")])
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        reason = "expected a FHIR Bundle (resourceType 'Bundle')"
        return Outcome(stem, None, None, [RecordError.at(origin, "resource", reason)])
    entries = data.get("entry")
    if not isinstance(entries, list):
        entries = []
    items: list[Item] = []
    pid = None
    for i, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        full = entry.get("fullUrl")
        items.append((Origin(name, None, i), resource, full if isinstance(full, str) else None))
        if pid is None and resource.get("resourceType") == "Patient":
            rid = resource.get("id")
            pid = rid if isinstance(rid, str) and rid else None
    return evaluate_fhir(pid or stem, items, ctx, canonical_refs=False)


def _json_error_line(message: str) -> int:
    """The line number in an orjson error message ("… line 3 column 5 (char 17)")."""
    m = _LINE_RE.search(message)
    return int(m.group(1)) if m else 1
