"""Batch benchmark (issue 5, item 6): ``revspine batch`` throughput and memory against the time
to merely decode the same NDJSON, and the Spark local-mode throughput.

For each cohort size (default 10k and 100k patients, ``revspine synth``, seed 1, no bad
records) it measures, each in a fresh process:

* **decode** — ``orjson.loads`` of every line of every NDJSON file, one process, results
  discarded: the floor any reader of the export pays;
* **batch, 1 worker** and **batch, all cores** — ``revspine batch --workers N`` end to end (wall
  time, patients/s), the assessment phase alone (from ``manifest.json`` timings), and peak memory:
  the largest single process (``ru_maxrss`` of ``RUSAGE_CHILDREN`` in a wrapper process) and the
  whole process tree (``VmRSS`` of the batch process and its workers summed, sampled from
  ``/proc`` every 50 ms);
* **CPU per patient** — the CPU time of the run (the main process and the tasks in the workers,
  from ``manifest.json``) per patient: what a patient costs whatever the number of cores. With
  it, the cores at which the all-cores rate would reach the target if everything but the merge
  (which runs in the main process alone) divided evenly among them (a projection: only the cores
  of this machine are measured);
* **Spark local** — :mod:`revspine.batch.spark` with ``local[N]`` on the smallest cohort: wall
  time with and without the session start.

Prints a Markdown report (it does not edit BENCHMARKS.md). Run:
``.venv/bin/python bench/batch.py [--sizes 10000,100000] [--single-max 10000] [--no-spark]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
AS_OF = "2026-11-01"
DECODE_TARGET = 0.25

_WRAPPER = """
import resource, subprocess, sys
rc = subprocess.run(sys.argv[1:]).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
sys.exit(rc)
"""

_DECODE = """
import pathlib, sys, time, orjson
t = time.perf_counter(); lines = size = 0
for p in sorted(pathlib.Path(sys.argv[1]).glob("*.ndjson")):
    with open(p, "rb") as fh:
        for line in fh:
            orjson.loads(line); lines += 1; size += len(line)
print(time.perf_counter() - t, lines, size)
"""


@dataclass
class Measure:
    """One timed run."""

    seconds: float
    peak_process_mib: float = 0.0
    peak_tree_mib: float = 0.0
    assess_seconds: float | None = None
    cpu_seconds: float = 0.0
    merge_seconds: float = 0.0


def _tree_rss_kib(root: int) -> int:
    """Summed VmRSS of ``root`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, ()))
        try:
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def _run(argv: list[str]) -> Measure:
    """Run ``argv`` under the rusage wrapper, sampling the process tree's RSS."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRAPPER, *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _tree_rss_kib(proc.pid))
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    seconds = time.perf_counter() - start
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{err}")
    maxrss_kib = int(err.strip().splitlines()[-1])
    return Measure(seconds, maxrss_kib / 1024, peak[0] / 1024)


def _synth(n: int, folder: Path, workers: int) -> None:
    if (folder / "synth-manifest.json").exists():
        manifest = json.loads((folder / "synth-manifest.json").read_text())
        if manifest["patients"] == n and manifest["bad_rate"] == 0:
            return
    subprocess.run(
        [str(BIN / "revspine"), "synth", "--patients", str(n), "--seed", "1"]
        + ["--out", str(folder), "--workers", str(workers)],
        check=True,
        stderr=subprocess.DEVNULL,
    )


def _decode(folder: Path) -> tuple[float, int, int]:
    out = subprocess.run(
        [sys.executable, "-c", _DECODE, str(folder)], check=True, capture_output=True, text=True
    ).stdout.split()
    return float(out[0]), int(out[1]), int(out[2])


def _batch(folder: Path, out: Path, workers: int) -> Measure:
    m = _run(
        [str(BIN / "revspine"), "batch", str(folder), "--out", str(out)]
        + ["--as-of", AS_OF, "--workers", str(workers), "--no-progress"]
    )
    manifest = json.loads((out / "manifest.json").read_text())
    m.assess_seconds = manifest["timings"]["assess"]
    m.cpu_seconds = sum(manifest["cpu_seconds"].values())
    m.merge_seconds = manifest["timings"]["merge"]
    return m


def _cores_for(target_seconds: float, m: Measure) -> int | None:
    """The cores at which a run would take ``target_seconds`` if everything but the merge (which
    runs in the main process alone) divided evenly among them; None if the merge alone is
    longer."""
    room = target_seconds - m.merge_seconds
    return math.ceil((m.cpu_seconds - m.merge_seconds) / room) if room > 0 else None


def _spark(folder: Path, out: Path, workers: int) -> tuple[float, float]:
    """(seconds with session start, seconds without) for the Spark job in local mode."""
    code = f"""
import sys, time, datetime
t0 = time.perf_counter()
from revspine.batch.spark import assess_bulk, local_session, write_outputs
spark = local_session("local[{workers}]")
t1 = time.perf_counter()
result = assess_bulk(spark, {str(folder)!r}, as_of=datetime.date.fromisoformat({AS_OF!r}))
write_outputs(result, {str(out)!r})
t2 = time.perf_counter()
spark.stop()
print(t2 - t0, t2 - t1)
"""
    res = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.split()
    return float(res[-2]), float(res[-1])


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the Markdown report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="cohort sizes (comma-separated)")
    parser.add_argument(
        "--single-max", type=int, default=10000, help="largest cohort run on one worker"
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-spark", action="store_true", help="skip the Spark run")
    parser.add_argument("--data", type=Path, help="keep the cohorts here (reused if present)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="revspine-bench-") as tmp:
        data = args.data or Path(tmp) / "data"
        scratch = Path(tmp)
        rows: list[str] = []
        summary: list[str] = []
        for n in sizes:
            cohort = data / f"synth-{n}"
            _synth(n, cohort, args.workers)
            decode_s, lines, size = _decode(cohort)
            decode_rate = n / decode_s
            rows.append(
                f"| {n:,} | decode (orjson, 1 process) | {decode_s:.2f} | {decode_rate:,.0f} | - "
                f"| {size / decode_s / 1e6:,.0f} MB/s, {lines:,} lines, {size / 1e6:,.0f} MB "
                f"| {decode_s / n * 1e6:,.0f} | - | - |"
            )
            runs = [args.workers] if n > args.single_max else [1, args.workers]
            for workers in dict.fromkeys(runs):
                m = _batch(cohort, scratch / f"out-{n}-{workers}", workers)
                rate = n / m.seconds
                assess_rate = n / m.assess_seconds if m.assess_seconds else 0.0
                label = "batch, 1 worker" if workers == 1 else f"batch, {workers} workers"
                cpu_us = m.cpu_seconds / n * 1e6
                rows.append(
                    f"| {n:,} | {label} | {m.seconds:.2f} | {rate:,.0f} | {assess_rate:,.0f} "
                    f"| {rate / decode_rate:.1%} of decode | {cpu_us:,.0f} "
                    f"| {m.peak_process_mib:,.0f} | {m.peak_tree_mib:,.0f} |"
                )
                met = rate / decode_rate >= DECODE_TARGET
                line = (
                    f"- {n:,} patients, {label}: {rate:,.0f} patients/s end to end = "
                    f"{rate / decode_rate:.1%} of decode (target ≥ {DECODE_TARGET:.0%}: "
                    f"{'met' if met else 'not met'})"
                )
                if not met and workers > 1:
                    cores = _cores_for(n / (DECODE_TARGET * decode_rate), m)
                    line += f"; at {cpu_us:,.0f} µs of CPU per patient, " + (
                        f"{cores} cores would reach it if all but the merge scaled linearly "
                        "(a projection, not a measurement)"
                        if cores
                        else "the merge alone takes longer than the target allows"
                    )
                summary.append(line)
        if not args.no_spark:
            n = sizes[0]
            total, job = _spark(data / f"synth-{n}", scratch / "spark", args.workers)
            rows.append(
                f"| {n:,} | Spark local[{args.workers}] (mapInArrow) | {total:.2f} | {n / total:,.0f} "
                f"| {n / job:,.0f} (without session start) | - | - | - | - |"
            )
    print(
        f"- Machine: {os.cpu_count()} CPUs, {platform.machine()}, "
        f"Python {platform.python_version()}; `nproc` workers = {args.workers}\n"
        "- Input: `revspine synth --seed 1` (FHIR Bulk NDJSON, ~28 resources/patient, no bad "
        "records); `revspine batch --as-of 2026-11-01`\n"
    )
    print(
        "| patients | run | seconds | patients/s (end to end) | patients/s (assess phase) "
        "| note | CPU per patient (µs) | peak RSS, largest process (MiB) "
        "| peak RSS, process tree (MiB) |"
    )
    print("|---:|---|---:|---:|---:|---|---:|---:|---:|")
    print("\n".join(rows))
    print()
    print("\n".join(summary))


if __name__ == "__main__":
    main()
