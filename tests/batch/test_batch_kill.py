"""``kill -9`` of a whole ``revspine batch`` run (main process, fork server and workers) in
each phase — while it starts, while it partitions, while it assesses, while it merges — then
``--resume``: the files are byte for byte those of a run that was never interrupted, and no
patient is duplicated. Each kill waits until the run is seen in its phase (the work folder's
files, polled every millisecond), so every phase is hit whatever the machine's speed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from batchtools import AS_OF, OUTPUTS, Cohort, make_cohort

pytestmark = pytest.mark.req("REQ-601", "REQ-302")

REVSPINE = Path(sys.executable).with_name("revspine")


def _argv(cohort: Path, out: Path) -> list[str]:
    return [str(REVSPINE), "batch", str(cohort), "--out", str(out)] + [
        "--as-of",
        AS_OF.isoformat(),
        "--workers",
        "2",
        "--no-progress",
    ]


def _state(out: Path) -> dict[str, object]:
    try:
        state: dict[str, object] = json.loads((out / ".work" / "manifest.json").read_text())
    except (OSError, ValueError):  # not there yet, or being replaced
        return {}
    return state


def _starting(out: Path) -> bool:
    return True


def _partitioning(out: Path) -> bool:
    shards = out / ".work" / "shards"
    return shards.is_dir() and any(shards.iterdir()) and _state(out).get("partitioned") is False


def _assessing(out: Path) -> bool:
    done = _state(out).get("done")
    return isinstance(done, dict) and len(done) >= 2


def _merging(out: Path) -> bool:
    return out.is_dir() and any(p.name.endswith(".tmp") for p in out.iterdir())


PHASES: dict[str, Callable[[Path], bool]] = {
    "starting": _starting,
    "partitioning": _partitioning,
    "assessing": _assessing,
    "merging": _merging,
}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Cohort:
    """2,000 patients with 3 % bad lines: every phase lasts long enough to be seen."""
    return make_cohort(tmp_path_factory.mktemp("kill") / "bulk", 0.03, patients=2000)


@pytest.fixture(scope="module")
def reference(cohort: Cohort, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The files of an uninterrupted run."""
    out = tmp_path_factory.mktemp("kill-ref")
    done = subprocess.run(_argv(cohort.path, out), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return {name: (out / name).read_bytes() for name in OUTPUTS}


@pytest.mark.parametrize("phase", list(PHASES))
def test_kill_9_then_resume_gives_the_uninterrupted_files(
    cohort: Cohort, reference: dict[str, bytes], tmp_path: Path, phase: str
) -> None:
    out = tmp_path / "out"
    argv = _argv(cohort.path, out)
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    seen = PHASES[phase]
    while not seen(out) and proc.poll() is None:
        time.sleep(0.001)
    assert proc.poll() is None, f"the run ended before it was seen {phase}"
    os.killpg(proc.pid, signal.SIGKILL)  # the main process, the fork server and the workers
    proc.wait(timeout=30)
    assert not (out / "manifest.json").exists()
    resumed = subprocess.run([*argv, "--resume"], capture_output=True, text=True, check=False)
    assert resumed.returncode == 0, resumed.stderr
    assert {name: (out / name).read_bytes() for name in OUTPUTS} == reference
    assert not (out / ".work").exists()
