"""``make bench``: how fast is one assessment, and how fast does the CLI start?

(a) In-process: every ``examples/*.yaml`` plus seeded generated cases (``bench/casegen.py``)
    are parsed (``Case.model_validate``) and assessed (``assess``) after a warm-up; each call is
    timed with ``time.perf_counter_ns``; median, p95 and p99 are reported in milliseconds.
(b) CLI cold start: wall time of fresh processes — ``python -c pass`` (the same interpreter the
    CLI runs on), ``revspine --version`` and ``revspine assess <example> --format json`` —
    interleaved, median of ``--runs`` each, and the ratio to bare Python.

The Markdown table is printed and written to ``BENCHMARKS.md`` with the machine, the command,
the date and the issue's targets (median ≤ 1 ms, p99 ≤ 5 ms, cold start ≤ 3× bare Python).
``--profile`` instead prints the engine's cProfile hotspots over the same assessments.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import io
import math
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import casegen
import yaml

from revspine import Case, __version__, assess, load_knowledge

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
OUTPUT = ROOT / "BENCHMARKS.md"
OTHER_MARKER = "<!-- other benchmarks: FHIR import, batch, CDS Hooks, web (bench/*.py) -->"
BIN = Path(sys.executable).parent
CLI = BIN / "revspine"
COMMAND = "make bench"

MEDIAN_TARGET_MS = 1.0
P99_TARGET_MS = 5.0
COLD_START_TARGET_RATIO = 3.0


@dataclass(frozen=True)
class Stats:
    """Latency summary of one measured operation, in milliseconds."""

    label: str
    n: int
    median: float
    p95: float
    p99: float
    maximum: float

    @classmethod
    def of(cls, label: str, samples_ns: Sequence[int]) -> Stats:
        ms = sorted(s / 1e6 for s in samples_ns)
        return cls(
            label,
            len(ms),
            statistics.median(ms),
            _percentile(ms, 95),
            _percentile(ms, 99),
            ms[-1],
        )


def _percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted sequence."""
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------


def load_examples() -> tuple[list[tuple[str, Any]], list[str]]:
    """(name, raw dict) of every example that validates, and the names of those that did not."""
    good: list[tuple[str, Any]] = []
    bad: list[str] = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        try:
            Case.model_validate(data)
        except ValueError:
            bad.append(path.name)
            continue
        good.append((path.name, data))
    return good, bad


def generated(n: int, seed: int) -> list[tuple[str, Any]]:
    """``n`` seeded generated cases; every one must be valid."""
    cases = casegen.generate(n, seed)
    for data in cases:
        Case.model_validate(data)  # a generator bug must fail loudly, not skew the timing
    return [(data["case_id"], data) for data in cases]


# --------------------------------------------------------------------------------------------
# In-process timing
# --------------------------------------------------------------------------------------------


def _time_each(fn: Callable[[Any], Any], items: Sequence[Any], min_calls: int) -> list[int]:
    """Call ``fn`` on ``items`` round-robin until at least ``min_calls`` calls; ns per call."""
    rounds = max(1, math.ceil(min_calls / len(items)))
    samples: list[int] = []
    clock = time.perf_counter_ns
    gc.collect()
    for _ in range(rounds):
        for item in items:
            start = clock()
            fn(item)
            samples.append(clock() - start)
    return samples


def in_process(
    examples: list[tuple[str, Any]], gen: list[tuple[str, Any]], min_calls: int
) -> list[Stats]:
    """Parse and assess timings: examples, generated cases, and all together."""
    kb = load_knowledge()
    parsed_examples = [Case.model_validate(d) for _, d in examples]
    parsed_generated = [Case.model_validate(d) for _, d in gen]
    everything = parsed_examples + parsed_generated
    for case in everything:  # warm-up: knowledge, rule registry, lazy imports, caches
        assess(case, kb)

    def run(case: Case) -> Any:
        return assess(case, kb)

    rows = []
    if parsed_examples:
        rows.append(
            Stats.of(
                f"`assess` — examples ({len(parsed_examples)})",
                _time_each(run, parsed_examples, min_calls),
            )
        )
    rows.append(
        Stats.of(
            f"`assess` — generated ({len(parsed_generated)})",
            _time_each(run, parsed_generated, min_calls),
        )
    )
    rows.append(
        Stats.of(f"`assess` — all ({len(everything)})", _time_each(run, everything, min_calls))
    )
    raw = [d for _, d in examples] + [d for _, d in gen]
    rows.append(
        Stats.of(
            f"`Case.model_validate` — all ({len(raw)})",
            _time_each(Case.model_validate, raw, min_calls),
        )
    )
    return rows


# --------------------------------------------------------------------------------------------
# CLI cold start
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColdStart:
    """Median wall time of one command in fresh processes."""

    label: str
    median_ms: float | None
    runs: int
    error: str | None = None


def _wall_ms(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    start = time.perf_counter_ns()
    proc = subprocess.run(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, cwd=ROOT, env=env
    )
    return (time.perf_counter_ns() - start) / 1e6, proc.returncode


def _bytecode_env(cache: str) -> dict[str, str]:
    """The environment with bytecode caching on, caches kept outside the repository.

    Installed packages normally run from cached bytecode; a shell that sets
    ``PYTHONDONTWRITEBYTECODE`` would make every start recompile revspine's own modules.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = cache
    return env


def cold_start(example: Path | None, runs: int) -> list[ColdStart]:
    """Interleaved runs of bare Python and the CLI commands; the median of each."""
    with tempfile.TemporaryDirectory(prefix="revspine-bench-pycache-") as cache:
        return _cold_start(example, runs, _bytecode_env(cache))


def _cold_start(example: Path | None, runs: int, env: dict[str, str]) -> list[ColdStart]:
    commands: list[tuple[str, list[str], set[int]]] = [
        ("`python -c pass`", [sys.executable, "-c", "pass"], {0}),
        ("`revspine --version`", [str(CLI), "--version"], {0}),
    ]
    if example is not None:
        rel = example.relative_to(ROOT)
        # assess exits 0 (or 1 only for an internal error); any valid case exits 0.
        commands.append(
            (
                f"`revspine assess {rel} --format json`",
                [str(CLI), "assess", str(example), "--format", "json"],
                {0},
            )
        )
    samples: dict[str, list[float]] = {label: [] for label, _, _ in commands}
    errors: dict[str, str] = {}
    for label, argv, ok in commands:  # warm the file cache, and find broken commands early
        if not Path(argv[0]).exists():
            errors[label] = f"{argv[0]} not found"
            continue
        _, code = _wall_ms(argv, env)
        if code not in ok:
            errors[label] = f"exit status {code}"
    for _ in range(runs):
        for label, argv, _ in commands:
            if label not in errors:
                samples[label].append(_wall_ms(argv, env)[0])
    return [
        ColdStart(
            label,
            statistics.median(samples[label]) if samples[label] else None,
            runs,
            errors.get(label),
        )
        for label, _, _ in commands
    ]


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    """nproc, CPU model, RAM, Python, OS."""
    model = "unknown"
    ram = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    nproc = "unknown"
    if shutil.which("nproc"):
        nproc = subprocess.run(
            ["nproc"], capture_output=True, text=True, check=False
        ).stdout.strip()
    return {
        "CPUs (`nproc`)": nproc or str(os.cpu_count()),
        "CPU model": model,
        "RAM": ram,
        "Python": f"{platform.python_version()} ({platform.python_implementation()})",
        "OS": f"{platform.system()} {platform.release()}",
    }


def _git_commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" (with uncommitted changes)" if dirty else "")


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def render(
    rows: list[Stats],
    starts: list[ColdStart],
    info: dict[str, str],
    notes: list[str],
) -> tuple[str, str]:
    """(tables, whole BENCHMARKS.md)."""
    lines = [
        "| Operation | n | median (ms) | p95 (ms) | p99 (ms) | max (ms) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.label} | {r.n} | {r.median:.3f} | {r.p95:.3f} | {r.p99:.3f} | {r.maximum:.3f} |"
        for r in rows
    ]
    bare = starts[0].median_ms
    lines += [
        "",
        "| Command (fresh process) | runs | median (ms) | × bare Python |",
        "|---|---:|---:|---:|",
    ]
    for s in starts:
        if s.median_ms is None:
            lines.append(f"| {s.label} | – | not available ({s.error}) | – |")
        else:
            ratio = f"{s.median_ms / bare:.2f}×" if bare else "–"
            lines.append(f"| {s.label} | {s.runs} | {s.median_ms:.1f} | {ratio} |")
    tables = "\n".join(lines)

    overall = next(r for r in rows if r.label.startswith("`assess` — all"))
    targets = [
        "| Target (issue 2, item 9) | Measured | Status |",
        "|---|---:|---|",
        f"| `assess` median ≤ {MEDIAN_TARGET_MS:g} ms | {overall.median:.3f} ms | {_met(overall.median <= MEDIAN_TARGET_MS)} |",
        f"| `assess` p99 ≤ {P99_TARGET_MS:g} ms | {overall.p99:.3f} ms | {_met(overall.p99 <= P99_TARGET_MS)} |",
    ]
    for s in starts[1:]:
        if s.median_ms is None or not bare:
            targets.append(
                f"| {s.label} ≤ {COLD_START_TARGET_RATIO:g}× bare Python | not measured | **not measured** |"
            )
        else:
            ratio = s.median_ms / bare
            targets.append(
                f"| {s.label} ≤ {COLD_START_TARGET_RATIO:g}× bare Python | {ratio:.2f}× | {_met(ratio <= COLD_START_TARGET_RATIO)} |"
            )
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine_lines = [f"- {k}: {v}" for k, v in info.items()]
    doc = "\n".join(
        [
            "# Benchmarks",
            "",
            "Latency of one in-process assessment and of the CLI's cold start (issue 2, item 9).",
            f"Regenerate with `{COMMAND}` (this part: `make bench-engine`, `bench/run.py`; it is overwritten).",
            "",
            f"- Command: `{COMMAND}`",
            f"- Date: {when}",
            f"- revspine {__version__}, commit {_git_commit()}, knowledge {load_knowledge().version}",
            *machine_lines,
            "",
            "## Targets",
            "",
            *targets,
            "",
            "## Results",
            "",
            tables,
            "",
            "## Method",
            "",
            "- In-process: every `examples/*.yaml` that validates plus seeded generated cases "
            "(`bench/casegen.py`: one third complete surgical-candidate work-ups, the rest random "
            "over the whole vocabulary). After one warm-up pass, each call is timed with "
            "`time.perf_counter_ns`, round-robin over the cases until at least the requested number "
            "of calls; the garbage collector stays on, as in real use. Percentiles are nearest-rank.",
            "- `assess` excludes parsing; `Case.model_validate` is timed separately on the same "
            "cases (as loaded from YAML/JSON).",
            "- Cold start: fresh processes, wall time from `subprocess.run` to exit, output discarded; "
            "the commands are interleaved and each median is taken over the runs shown. Bare Python "
            "is the virtualenv's interpreter, the one the `revspine` script runs on. Bytecode "
            "caching is on (caches in a temporary `PYTHONPYCACHEPREFIX`, written by one warm-up "
            "run of each command), as for an installed package.",
            *(f"- {n}" for n in notes),
            "",
            "## Where the cold start goes",
            "",
            "`python -X importtime` on `revspine assess … --format json` (2026-11-25): Typer and "
            "its Click adapters ≈ 90 ms, building the pydantic `Case` and `Assessment` models ≈ "
            "40 ms, the rule modules and engine ≈ 25 ms, PyYAML ≈ 10 ms; the assessment itself is "
            "< 1 ms. `--version` is answered before Typer is imported and pydantic plugin discovery "
            "is switched off. Reaching 3× bare Python (~32 ms) for `assess` would need a CLI "
            "without Typer and a case model without pydantic, which the issue rules out; a "
            "long-running process (the web app, CDS Hooks service, batch) pays the import once.",
            "",
        ]
    )
    return tables, doc


# --------------------------------------------------------------------------------------------
# Profile
# --------------------------------------------------------------------------------------------


def profile(cases: list[Case], calls: int, top: int) -> str:
    """cProfile of ``calls`` assessments: the top functions by own time and by cumulative time."""
    kb = load_knowledge()
    for case in cases:
        assess(case, kb)
    rounds = max(1, math.ceil(calls / len(cases)))
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(rounds):
        for case in cases:
            assess(case, kb)
    profiler.disable()
    out = io.StringIO()
    out.write(f"{rounds * len(cases)} assessments\n")
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or the profile) and write BENCHMARKS.md."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000, help="minimum timed calls per row")
    parser.add_argument("--generated", type=int, default=300, help="generated cases")
    parser.add_argument("--seed", type=int, default=20261101)
    parser.add_argument("--runs", type=int, default=21, help="cold-start runs per command (≥ 15)")
    parser.add_argument("--no-write", action="store_true", help="print only; keep BENCHMARKS.md")
    parser.add_argument("--profile", action="store_true", help="print cProfile hotspots and exit")
    parser.add_argument("--top", type=int, default=25, help="rows per profile table")
    args = parser.parse_args(argv)

    examples, invalid = load_examples()
    gen = generated(args.generated, args.seed)
    if args.profile:
        cases = [Case.model_validate(d) for _, d in examples + gen]
        print(profile(cases, args.calls, args.top))
        return 0

    notes: list[str] = []
    if invalid:
        notes.append(f"Examples left out because they do not validate: {', '.join(invalid)}.")
    if not examples:
        notes.append("No valid `examples/*.yaml` found: generated cases only.")
    rows = in_process(examples, gen, args.calls)
    sample = EXAMPLES / examples[0][0] if examples else None
    preferred = EXAMPLES / "25_recurrent_herniation_l5_candidate.yaml"
    if preferred.exists() and preferred.name in {n for n, _ in examples}:
        sample = preferred
    starts = cold_start(sample, max(args.runs, 15))
    for s in starts:
        if s.error:
            notes.append(f"{s.label} could not be measured: {s.error}.")
    tables, doc = render(rows, starts, machine(), notes)
    print(tables)
    if not args.no_write:
        # Sections below the marker are written by the other bench scripts; keep them.
        kept = ""
        if OUTPUT.exists() and OTHER_MARKER in (old := OUTPUT.read_text(encoding="utf-8")):
            kept = old[old.index(OTHER_MARKER) :]
        OUTPUT.write_text(
            doc.rstrip("\n") + "\n\n" + (kept or OTHER_MARKER + "\n"), encoding="utf-8"
        )
        print(f"\nwrote {OUTPUT.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
