"""FHIR import benchmark: bundle import time per patient vs plain ``orjson.loads``.

N seeded cases (``bench/casegen.py``) are turned into FHIR R4 collection Bundles with
``case_to_bundle`` and serialised once. Each bundle's bytes are then timed (``perf_counter_ns``,
after a warm-up, interleaved so that both sides see the same cache state):

* ``orjson.loads`` — the floor: JSON decoding alone;
* ``parse_bundle`` + ``bundle_to_case`` — decoding plus the import to a validated ``Case``.

The public Synthea bundles in ``shared/fixtures/external`` (0.7-2 MB, 240-700 resources) are
timed the same way when present. Prints a Markdown table (median, p95 per patient, in µs) and
the import/decode ratio. Run: ``.venv/bin/python bench/fhir.py [--n 500] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import gc
import math
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import casegen
import orjson

from revspine import Case
from revspine.adapters.fhir import bundle_to_case, case_to_bundle, parse_bundle

ROOT = Path(__file__).resolve().parents[1]
SYNTHEA = ROOT.parent / "shared" / "fixtures" / "external" / "google-fhir-data-pipes-synthea"


def _percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(pct / 100 * len(ordered))) - 1]


def _time(fn: Callable[[bytes], object], payloads: list[bytes], repeat: int) -> list[float]:
    """Per-payload median over ``repeat`` runs, in microseconds."""
    per: list[list[float]] = [[] for _ in payloads]
    for _ in range(repeat):
        for i, raw in enumerate(payloads):
            start = time.perf_counter_ns()
            fn(raw)
            per[i].append((time.perf_counter_ns() - start) / 1e3)
    return [statistics.median(p) for p in per]


def _import(raw: bytes) -> object:
    return bundle_to_case(parse_bundle(raw), as_of=casegen.AS_OF)


def _row(label: str, payloads: list[bytes], repeat: int) -> tuple[str, float, float, float]:
    for raw in payloads[: min(20, len(payloads))]:  # warm-up (map loading, caches)
        orjson.loads(raw)
        _import(raw)
    gc.collect()
    gc.disable()
    try:
        decode = _time(orjson.loads, payloads, repeat)
        imported = _time(_import, payloads, repeat)
    finally:
        gc.enable()
    kb = statistics.median(len(p) for p in payloads) / 1024
    ratio = statistics.median(imported) / statistics.median(decode)
    print(
        f"| {label} | {len(payloads)} | {kb:.1f} | {statistics.median(decode):.1f} | "
        f"{_percentile(decode, 95):.1f} | {statistics.median(imported):.1f} | "
        f"{_percentile(imported, 95):.1f} | {ratio:.1f}× |"
    )
    return label, statistics.median(decode), statistics.median(imported), ratio


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="generated patients (default 500)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per bundle (default 5)")
    parser.add_argument("--seed", type=int, default=20261101)
    args = parser.parse_args(argv)

    cases = [Case.model_validate(c) for c in casegen.generate(args.n, args.seed)]
    generated = [orjson.dumps(case_to_bundle(c)) for c in cases]
    entries = statistics.median(len(orjson.loads(b)["entry"]) for b in generated)
    print(
        f"FHIR import benchmark — {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}, orjson {orjson.__version__}; seed {args.seed}, "
        f"median over {args.repeat} runs per bundle\n"
    )
    print(
        "| bundles | n | median size (KiB) | orjson.loads median (µs) | p95 (µs) "
        "| import median (µs) | p95 (µs) | import / decode |"
    )
    print("|---|---|---|---|---|---|---|---|")
    _row(f"generated (case_to_bundle, ~{entries:.0f} resources)", generated, args.repeat)
    synthea = sorted(SYNTHEA.glob("*.json")) if SYNTHEA.is_dir() else []
    if synthea:
        payloads = [p.read_bytes() for p in synthea]
        _row("Synthea fixtures (240-700 resources)", payloads, max(args.repeat, 10))
    print(
        "\nimport = parse_bundle (orjson) + bundle_to_case (dict walk, code maps, unit checks, "
        "Case validation); per patient = per bundle."
    )


if __name__ == "__main__":
    sys.exit(main())
