"""The Rich progress bar of a batch run (stderr): one line per phase with rate and ETA."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.progress import Progress, Task, TaskID

__all__ = ["BatchProgress"]


def _human(value: float, unit: str) -> str:
    if unit == "bytes":
        for scale, suffix in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
            if value >= scale:
                return f"{value / scale:.1f} {suffix}"
        return f"{value:.0f} B"
    return f"{value:,.0f} {unit}"


def _columns() -> list[Any]:
    from rich.progress import (
        BarColumn,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class Amount(ProgressColumn):
        def render(self, task: Task) -> Text:
            unit = task.fields.get("unit", "")
            total = "?" if task.total is None else _human(task.total, unit)
            done = _human(task.completed, "bytes") if unit == "bytes" else f"{task.completed:,.0f}"
            return Text(f"{done} / {total}")

    class Rate(ProgressColumn):
        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            unit = task.fields.get("unit", "")
            return Text("-" if speed is None else f"{_human(speed, unit)}/s", style="cyan")

    return [
        TextColumn("{task.description:<10}"),
        BarColumn(),
        Amount(),
        Rate(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    ]


class BatchProgress:
    """A progress display on stderr, or nothing when disabled."""

    def __init__(self, enabled: bool) -> None:
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        if enabled:
            from rich.console import Console
            from rich.progress import Progress

            self._progress = Progress(
                *_columns(), console=Console(stderr=True), transient=False, speed_estimate_period=60
            )

    def __enter__(self) -> BatchProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def phase(self, name: str, total: float | None, unit: str, completed: int = 0) -> None:
        """Start a new phase (the previous one stays on screen, finished)."""
        if self._progress is None:
            return
        if self._task is not None:
            self._progress.stop_task(self._task)
        self._task = self._progress.add_task(name, total=total, completed=completed, unit=unit)

    def advance(self, amount: float) -> None:
        """Count ``amount`` more units done in the current phase."""
        if self._progress is not None and self._task is not None and amount:
            self._progress.advance(self._task, amount)
            task = self._progress.tasks[-1]
            if task.total is not None and task.completed > task.total:
                self._progress.update(self._task, total=task.completed)

    def finish(self) -> None:
        """Mark the current phase complete (its total becomes what was done)."""
        if self._progress is not None and self._task is not None:
            task = self._progress.tasks[-1]
            self._progress.update(self._task, total=task.completed)
            self._progress.stop_task(self._task)
