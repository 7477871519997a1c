"""``revspine batch``: assess every patient of an input, on every core, resumably.

Inputs (:func:`detect_input`): a FHIR Bulk Data export (a folder of ``*.ndjson``), a folder of
FHIR Bundle files (``*.json``, one patient each), or a table of native case fields (``.csv`` or
``.parquet``, see :mod:`revspine.batch._tables`).

The output folder holds ``patients.parquet`` (one row per patient, :mod:`revspine.batch.rows`),
``assessments.jsonl`` (the full assessments), ``errors.jsonl`` (every refused record with file,
line and reason) and ``manifest.json`` (run metadata: timings, counts, versions, the sha256 of
each data file). The data files hold no timestamps and are sorted, so the same input and options
give byte-identical files whatever the number of workers.

Work happens in ``OUT/.work``: the shards of a Bulk export, one part per finished task, and a work
manifest listing the finished tasks. Every file is written to a temporary name and renamed, so an
interrupted run (Ctrl-C, a killed process, a full disk) resumes with ``--resume`` where it
stopped, without duplicates. ``.work`` is removed when the run completes.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from revspine.batch._bulk import ChunkResult, ShardTask, plan_chunks, shard_files
from revspine.batch._merge import OUTPUTS, merge_parts
from revspine.batch._merge import warm_up as merge_warm_up
from revspine.batch._parts import atomic_write
from revspine.batch._progress import BatchProgress
from revspine.batch._tables import BundleTask, RowsTask, iter_table_rows
from revspine.batch._worker import (
    Task,
    TaskResult,
    WorkerConfig,
    init_worker,
    run_task,
    set_progress,
)
from revspine.batch.records import RecordError
from revspine.errors import InputError

__all__ = [
    "BatchOptions",
    "BatchSummary",
    "ResumeError",
    "StrictStop",
    "detect_input",
    "run_batch",
]

INPUT_KINDS = ("fhir-bulk", "bundles", "csv", "parquet")
WORK_VERSION = 1
MIB = 1 << 20


class StrictStop(InputError):
    """``--strict``: the run stopped at the first refused record."""

    def __init__(self, error: RecordError) -> None:
        self.error = error
        where = error.file + (f":{error.line}" if error.line is not None else "")
        if error.entry is not None:
            where += f" entry[{error.entry}]"
        super().__init__(f"{where}: {error.kind}: {error.reason}")


class ResumeError(InputError):
    """``--resume`` cannot continue: the input or the options changed since the run started."""


@dataclass
class BatchOptions:
    """Options of one batch run (the CLI flags)."""

    input: Path
    out: Path
    as_of: date | None = None
    workers: int | None = None
    strict: bool = False
    resume: bool = False
    knowledge: Path | None = None
    input_format: str = "auto"
    progress: bool = True
    today: date | None = None
    """The date used when neither ``as_of`` nor a case's assessment date is given (default: the
    run's date, recorded in the manifest and reused on resume)."""
    shard_bytes: int = 16 * MIB
    chunk_bytes: int = 8 * MIB
    rows_per_task: int = 500
    files_per_task: int = 100


@dataclass
class BatchSummary:
    """What a run did."""

    input_kind: str
    patients: int
    errors: int
    errors_by_kind: dict[str, int]
    tasks: int
    tasks_resumed: int
    seconds: float
    out: Path
    as_of: str | None
    default_as_of: str
    knowledge: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Input:
    kind: str
    root: Path
    files: list[tuple[str, Path]]

    def fingerprint(self) -> str:
        h = hashlib.sha256(self.kind.encode())
        for name, path in self.files:
            st = path.stat()
            h.update(f"\0{name}\0{st.st_size}\0{st.st_mtime_ns}".encode())
        return h.hexdigest()

    @property
    def size(self) -> int:
        return sum(path.stat().st_size for _, path in self.files)


def detect_input(path: Path, input_format: str = "auto") -> tuple[str, list[tuple[str, Path]]]:
    """The kind of input and its files (name relative to the input, path), sorted by name."""
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_file():
        suffix = path.suffix.lower()
        guess = {
            ".csv": "csv",
            ".parquet": "parquet",
            ".ndjson": "fhir-bulk",
            ".json": "bundles",
        }.get(suffix)
        kind = guess if input_format == "auto" else input_format
        if kind is None:
            raise InputError(
                f"{path}: cannot tell the input format from {suffix!r}; use --input-format"
            )
        return kind, [(path.name, path)]
    pattern = {"fhir-bulk": "*.ndjson", "bundles": "*.json"}
    if input_format == "auto":
        for kind in ("fhir-bulk", "bundles"):
            if any(p.is_file() for p in path.glob(pattern[kind])):
                input_format = kind
                break
        else:
            raise InputError(
                f"{path}: no *.ndjson (FHIR Bulk Data) or *.json (FHIR Bundles) files; "
                "a CSV or Parquet table is given as a file"
            )
    if input_format not in pattern:
        raise InputError(f"{path}: a {input_format} input is a file, not a folder")
    files = sorted((p.name, p) for p in path.glob(pattern[input_format]) if p.is_file())
    return input_format, files


def default_workers() -> int:
    """The CPUs this process may run on (all cores by default)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())


class _Work:
    """The ``.work`` folder and its manifest (the finished tasks)."""

    def __init__(self, out: Path) -> None:
        self.dir = out / ".work"
        self.manifest = self.dir / "manifest.json"
        self.shards = self.dir / "shards"
        self.parts = self.dir / "parts"
        self.partition_errors = self.dir / "partition.errors.jsonl"
        self.shared = self.dir / "shared.tsv"
        self.state: dict[str, Any] = {}

    def load(self) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads(self.manifest.read_text())
        except (OSError, ValueError):
            return None
        return data

    def reset(self, key: dict[str, Any]) -> None:
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.parts.mkdir(parents=True)
        self.state = {"version": WORK_VERSION, "key": key, "partitioned": False, "done": {}}
        self.save()

    def save(self) -> None:
        _write_json(self.manifest, self.state)

    def done(self) -> dict[int, int]:
        return {int(k): v for k, v in self.state["done"].items()}

    def mark_done(self, index: int, patients: int) -> None:
        self.state["done"][str(index)] = patients
        self.save()


def _start_workers_early(workers: int) -> None:
    """Let the fork server import the worker modules while this process prepares the run."""
    if workers > 1:
        mp = _context()
        if mp.get_start_method() == "forkserver":
            from multiprocessing import forkserver

            forkserver.ensure_running()


def _warm_up_merge() -> None:
    """While the workers assess, this process is idle: load what the merge needs meanwhile."""
    threading.Thread(target=merge_warm_up, name="warm-up-merge", daemon=True).start()


def _context() -> Any:
    """The multiprocessing context of the worker pool: a fork server where there is one (Linux,
    macOS), else spawn. Both start workers from a fresh, single-threaded interpreter (never a
    fork of this process, its threads and its Arrow state); the fork server imports
    :mod:`revspine.batch._preload` once and forks every worker from there, instead of each
    worker importing everything again (about half a second of CPU per worker). It outlives the
    run, so later runs in the same process start their workers at once."""
    import multiprocessing

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    mp = multiprocessing.get_context("forkserver")
    mp.set_forkserver_preload(["revspine.batch._preload"])
    return mp


class _Pool:
    """Runs tasks in worker processes (or in this process for one worker) with a bounded number
    of tasks in flight, reporting progress as workers send it.

    The workers start in a background thread; until they are up, in-order tasks (the partition
    of a Bulk export) run in this process, so that it works while the fork server imports."""

    def __init__(self, workers: int, config: WorkerConfig, progress: BatchProgress) -> None:
        self.workers = workers
        self.progress = progress
        self.config = config
        self.pool: Any = None
        self.updates: Any = None
        self._starting: threading.Thread | None = None
        self._start_error: BaseException | None = None
        self._here = workers == 1  # this process can run tasks (init_worker was called)
        self.worker_cpu = 0.0
        """CPU seconds of the tasks that ran in worker processes (this process's own CPU is
        its ``time.process_time()``)."""
        if workers > 1:
            mp = _context()
            self.updates = mp.Queue()
            self._starting = threading.Thread(
                target=self._start, args=(mp,), name="start-workers", daemon=True
            )
            self._starting.start()
        else:
            init_worker(config)
            set_progress(progress.advance)

    def _start(self, mp: Any) -> None:
        try:
            self.pool = mp.Pool(
                self.workers, initializer=init_worker, initargs=(self.config, self.updates)
            )
        except BaseException as exc:  # raised in the main thread by _started
            self._start_error = exc

    def _started(self, *, wait: bool) -> bool:
        """Whether the worker pool is up (after waiting for it if ``wait``)."""
        if self._starting is not None:
            if wait:
                self._starting.join()
            elif self._starting.is_alive():
                return False
            self._starting = None
            if self._start_error is not None:
                raise self._start_error
        return True

    def _run_here(self, task: Task) -> TaskResult:
        if not self._here:
            init_worker(self.config)
            self._here = True
        return run_task(task)

    def close(self, *, abort: bool) -> None:
        if self._starting is not None:
            self._starting.join()
            self._starting = None
        if self.pool is not None:
            if abort:
                self.pool.terminate()
            else:
                self.pool.close()
            self.pool.join()
            self.pool = None

    def _drain(self) -> None:
        if self.updates is None:
            return
        while True:
            try:
                self.progress.advance(self.updates.get_nowait())
            except queue.Empty:
                return

    def run(
        self,
        tasks: Iterable[Task],
        on_result: Callable[[TaskResult], None],
        *,
        ordered: bool = False,
    ) -> None:
        """Run ``tasks``; ``on_result`` is called in this process (in task order if ``ordered``)."""
        if self.workers == 1:
            for task in tasks:
                on_result(run_task(task))
            return
        pending = iter(tasks)
        if ordered:  # until the workers are up, run the first tasks here
            while not self._started(wait=False):
                here = next(pending, None)
                if here is None:
                    return
                on_result(self._run_here(here))
        else:
            self._started(wait=True)
        # in order, a slow task holds back the results after it: keep more tasks in flight
        window = self.workers * (4 if ordered else 2)
        done: queue.SimpleQueue[Any] = queue.SimpleQueue()
        outstanding, exhausted = 0, False
        buffered: dict[int, TaskResult] = {}
        order: list[int] = []
        while True:
            while not exhausted and outstanding < window:
                nxt = next(pending, None)
                if nxt is None:
                    exhausted = True
                    break
                task = nxt
                order.append(task.index)
                self.pool.apply_async(run_task, (task,), callback=done.put, error_callback=done.put)
                outstanding += 1
            if outstanding == 0:
                return
            try:
                item = done.get(timeout=0.1)
            except queue.Empty:
                self._drain()
                continue
            if isinstance(item, BaseException):
                raise item
            if item.pid != os.getpid():
                self.worker_cpu += item.cpu_seconds
            self._drain()
            if not ordered:
                outstanding -= 1
                on_result(item)
                continue
            buffered[item.index] = item
            while order and order[0] in buffered:
                outstanding -= 1
                on_result(buffered.pop(order.pop(0)))


def run_batch(options: BatchOptions, *, interrupt_after: int | None = None) -> BatchSummary:
    """Run (or resume) a batch; raises :class:`StrictStop`, :class:`ResumeError` or
    :class:`~revspine.errors.InputError`. ``interrupt_after`` (tests) raises KeyboardInterrupt
    after that many assessment tasks have finished, as Ctrl-C would."""
    from revspine import __version__
    from revspine.knowledge import load_knowledge

    started, clock, cpu = _now(), time.perf_counter(), time.process_time()
    workers = max(1, options.workers or default_workers())
    _start_workers_early(workers)
    kind, files = detect_input(options.input, options.input_format)
    source = _Input(kind, options.input, files)
    kb = load_knowledge(override=options.knowledge)
    out = options.out
    out.mkdir(parents=True, exist_ok=True)
    work = _Work(out)
    today = options.today or date.today()
    key = {
        "input": str(options.input.resolve()),
        "kind": kind,
        "fingerprint": source.fingerprint(),
        "as_of": options.as_of.isoformat() if options.as_of else None,
        "knowledge_sha256": kb.sha256,
        "knowledge_override": str(options.knowledge.resolve()) if options.knowledge else None,
    }
    previous = work.load() if options.resume else None
    if options.resume and previous is None:
        finished = _completed(out, key)
        if finished is not None:
            return finished
    if previous is not None:
        if previous.get("version") != WORK_VERSION or previous.get("key") != key:
            raise ResumeError(
                f"{out}: cannot resume: the input, --as-of or the knowledge base changed since "
                "the interrupted run (run again without --resume to start over)"
            )
        work.state = previous
    else:
        for name in (*OUTPUTS, "manifest.json"):
            (out / name).unlink(missing_ok=True)
        work.reset(key)
        work.state["default_as_of"] = today.isoformat()
        work.save()
    default_as_of = date.fromisoformat(work.state["default_as_of"])
    config = WorkerConfig(
        options.as_of,
        default_as_of,
        str(options.knowledge) if options.knowledge else None,
        str(work.parts),
        options.strict,
    )
    resumed = len(work.done())
    interrupted = [0]
    timings: dict[str, float] = {}
    with BatchProgress(options.progress) as progress:
        pool = _Pool(workers, config, progress)
        try:
            tasks: Iterable[Task]
            total: int | None
            if kind == "fhir-bulk":
                tasks, total = _bulk_tasks(source, options, work, pool, progress, workers)
            elif kind == "bundles":
                tasks, total = _bundle_tasks(source, options)
            else:
                tasks, total = _row_tasks(source, options)
            done = work.done()
            timings["prepare"] = time.perf_counter() - clock
            progress.phase("assess", total, "patients", completed=sum(done.values()))

            def record(result: TaskResult) -> None:
                if options.strict and result.first_error is not None:
                    raise StrictStop(result.first_error)
                work.mark_done(result.index, result.patients)
                interrupted[0] += 1
                if interrupt_after is not None and interrupted[0] >= interrupt_after:
                    raise KeyboardInterrupt

            pending = (t for t in tasks if t.index not in done)
            if workers > 1:
                _warm_up_merge()
            pool.run(pending, record)
            progress.finish()
            timings["assess"] = time.perf_counter() - clock - timings["prepare"]
        except BaseException:
            pool.close(abort=True)
            raise
        pool.close(abort=False)
    parts = sorted(work.done())
    extra = [work.partition_errors]
    mark = time.perf_counter()
    merged = merge_parts(parts, work.parts, out, extra)
    timings["merge"] = time.perf_counter() - mark
    cpu_seconds = {"main": time.process_time() - cpu, "workers": pool.worker_cpu}
    summary = BatchSummary(
        input_kind=kind,
        patients=merged.patients,
        errors=merged.errors,
        errors_by_kind=merged.errors_by_kind,
        tasks=len(parts),
        tasks_resumed=resumed,
        seconds=round(time.perf_counter() - clock, 3),
        out=out,
        as_of=options.as_of.isoformat() if options.as_of else None,
        default_as_of=default_as_of.isoformat(),
        knowledge={"id": kb.meta.id, "version": kb.version, "sha256": kb.sha256},
    )
    manifest = {
        "revspine": __version__,
        "status": "complete",
        "started": started,
        "finished": _now(),
        "seconds": summary.seconds,
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "cpu_seconds": {k: round(v, 3) for k, v in cpu_seconds.items()},
        "workers": workers,
        "input": {"path": str(options.input), "kind": kind, "files": [n for n, _ in files]},
        "options": {
            "as_of": summary.as_of,
            "default_as_of": summary.default_as_of,
            "strict": options.strict,
            "knowledge_override": str(options.knowledge) if options.knowledge else None,
        },
        "knowledge": summary.knowledge,
        "counts": {
            "patients": summary.patients,
            "errors": summary.errors,
            "errors_by_kind": summary.errors_by_kind,
            "tasks": summary.tasks,
            "tasks_resumed": summary.tasks_resumed,
        },
        "outputs": {name: _sha256(out / name) for name in OUTPUTS},
        "key": key,
        "columns": _columns(),
    }
    _write_json(out / "manifest.json", manifest)
    shutil.rmtree(work.dir, ignore_errors=True)
    return summary


def _completed(out: Path, key: dict[str, Any]) -> BatchSummary | None:
    """``--resume`` of a run that already completed (same key, outputs intact): its summary."""
    try:
        manifest = json.loads((out / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("key") != key or manifest.get("status") != "complete":
        return None
    for name, digest in manifest["outputs"].items():
        if not (out / name).is_file() or _sha256(out / name) != digest:
            return None
    counts, options = manifest["counts"], manifest["options"]
    return BatchSummary(
        input_kind=manifest["input"]["kind"],
        patients=counts["patients"],
        errors=counts["errors"],
        errors_by_kind=counts["errors_by_kind"],
        tasks=counts["tasks"],
        tasks_resumed=counts["tasks"],
        seconds=0.0,
        out=out,
        as_of=options["as_of"],
        default_as_of=options["default_as_of"],
        knowledge=manifest["knowledge"],
    )


def _columns() -> list[str]:
    from revspine.batch.rows import column_names

    return column_names()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _bulk_tasks(
    source: _Input,
    options: BatchOptions,
    work: _Work,
    pool: _Pool,
    progress: BatchProgress,
    workers: int,
) -> tuple[list[Task], int]:
    """Phase 1 (unless a resumed run finished it): partition the export into patient shards."""
    names = tuple(name for name, _ in source.files)
    if not work.state["partitioned"]:
        size = source.size
        # several shards per worker: smaller tasks, so that the workers finish closer together
        shards = max(workers * 8 if workers > 1 else 4, -(-size // options.shard_bytes))
        shards = min(shards, 512)
        chunk = max(64 * 1024, min(options.chunk_bytes, size // (workers * 4) + 1))
        if work.shards.exists():
            shutil.rmtree(work.shards)
        work.shards.mkdir(parents=True)
        progress.phase("partition", size, "bytes")
        patients = [0]
        with (
            open(work.partition_errors, "wb") as errors,
            open(work.shared, "wb") as shared,
        ):

            def write(result: TaskResult) -> None:
                chunk_result: ChunkResult | None = result.chunk
                assert chunk_result is not None
                if options.strict and result.first_error is not None:
                    raise StrictStop(result.first_error)
                shared.write(chunk_result.shared)
                for e in chunk_result.errors:
                    errors.write(e.to_json() + b"\n")
                patients[0] += chunk_result.patients
                progress.advance(chunk_result.size)

            tasks = plan_chunks(source.files, chunk, shards, work.shards)
            pool.run(tasks, write, ordered=True)
        progress.finish()
        work.state |= {"partitioned": True, "shards": shards, "patients": patients[0]}
        work.save()
    shards = int(work.state["shards"])
    shared_path = str(work.shared) if work.shared.stat().st_size else None
    return [
        ShardTask(i, paths, names, shared_path)
        for i, paths in enumerate(shard_files(work.shards, shards))
    ], int(work.state["patients"])


def _bundle_tasks(source: _Input, options: BatchOptions) -> tuple[Iterator[Task], int]:
    step = options.files_per_task
    files = [(name, str(path)) for name, path in source.files]
    tasks = (
        BundleTask(i, tuple(files[start : start + step]))
        for i, start in enumerate(range(0, len(files), step))
    )
    return tasks, len(files)


def _row_tasks(source: _Input, options: BatchOptions) -> tuple[Iterator[Task], int | None]:
    name, path = source.files[0]
    total: int | None
    if source.kind == "parquet":
        import pyarrow.parquet as pq

        total = pq.ParquetFile(path).metadata.num_rows
    else:
        with open(path, "rb") as fh:
            total = max(0, sum(block.count(b"\n") for block in iter(lambda: fh.read(MIB), b"")) - 1)

    def tasks() -> Iterator[Task]:
        block: list[Any] = []
        index = 0
        for row in iter_table_rows(path, name):
            block.append(row)
            if len(block) == options.rows_per_task:
                yield RowsTask(index, tuple(block))
                index, block = index + 1, []
        if block:
            yield RowsTask(index, tuple(block))

    return tasks(), total
