"""What runs inside a worker process: the per-process context (knowledge loaded once) and the
task dispatcher. The same functions run in the main process when ``--workers 1``."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from revspine.batch._bulk import (
    ChunkResult,
    ChunkTask,
    ShardTask,
    evaluate_shard,
    load_shared,
    partition_chunk,
)
from revspine.batch._tables import BundleTask, RowsTask, evaluate_bundles, evaluate_rows
from revspine.batch.evaluate import EvalContext
from revspine.batch.records import RecordError

__all__ = ["TaskResult", "WorkerConfig", "init_worker", "run_task"]

Task = ChunkTask | ShardTask | RowsTask | BundleTask


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a worker needs to build its context (picklable)."""

    as_of: date | None
    default_as_of: date
    knowledge: str | None
    parts_dir: str
    strict: bool


@dataclass
class TaskResult:
    """A finished task: patients assessed, errors found (the first one for ``--strict``)."""

    index: int
    patients: int
    errors: int
    first_error: RecordError | None
    chunk: ChunkResult | None = None
    cpu_seconds: float = 0.0
    """CPU time the task took in its process (for the run's CPU cost per patient)."""
    pid: int = 0
    """The process that ran the task."""


class _State:
    config: WorkerConfig | None = None
    ctx: EvalContext | None = None
    shared_path: str | None = None
    progress: Callable[[int], None] = staticmethod(lambda n: None)


def init_worker(config: WorkerConfig, queue: Any = None) -> None:
    """Load the knowledge base once per process; progress goes to ``queue`` (if any)."""
    from revspine.knowledge import load_knowledge

    _State.config = config
    kb = load_knowledge(override=Path(config.knowledge) if config.knowledge else None)
    _State.ctx = EvalContext(kb, config.as_of, config.default_as_of)
    _State.shared_path = None
    if queue is not None:  # a pool worker: Ctrl-C is the main process's to handle
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _State.progress = queue.put


def set_progress(callback: Callable[[int], None]) -> None:
    """In-process runs: report progress by calling ``callback``."""
    _State.progress = callback


def run_task(task: Task) -> TaskResult:
    """Run one task in this process."""
    started = time.process_time()
    result = _run(task)
    result.cpu_seconds = time.process_time() - started
    result.pid = os.getpid()
    return result


def _run(task: Task) -> TaskResult:
    config, ctx = _State.config, _State.ctx
    assert config is not None and ctx is not None, "init_worker was not called"
    if isinstance(task, ChunkTask):
        chunk = partition_chunk(task, config.strict)
        first = chunk.errors[0] if chunk.errors else None
        return TaskResult(task.index, chunk.patients, len(chunk.errors), first, chunk)
    parts = Path(config.parts_dir)
    if isinstance(task, ShardTask):
        if task.shared_path != _State.shared_path:
            ctx.shared = load_shared(task.shared_path, task.files)
            _State.shared_path = task.shared_path
        writer = evaluate_shard(task, ctx, parts, config.strict, _State.progress)
    elif isinstance(task, RowsTask):
        writer = evaluate_rows(task, ctx, parts, config.strict, _State.progress)
    else:
        writer = evaluate_bundles(task, ctx, parts, config.strict, _State.progress)
    first = min(writer.errors, key=lambda e: (e.file, e.line or 0)) if writer.errors else None
    if not (config.strict and first is not None):
        writer.write()
    return TaskResult(task.index, writer.patients, len(writer.errors), first)
