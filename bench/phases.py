"""Per-patient cost of each phase of a FHIR batch assessment, measured in one process without a
profiler: decode, import (``bundle_to_case``), checks (``check_case``), engine (``assess``),
output (row + JSON line). Patients are processed one at a time and dropped, as in a batch
worker, with the loaded export frozen out of the garbage collector's way. The tool for finding
where batch time goes.

Run: ``.venv/bin/python bench/phases.py [--patients 2000] [--data DIR]`` (DIR: a ``revspine
synth`` folder; generated in a temporary folder when absent).
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

import orjson

BIN = Path(sys.executable).parent
AS_OF = date(2026, 11, 1)


def _load(folder: Path) -> tuple[list[tuple[str, list[bytes]]], float]:
    """Patients' raw NDJSON lines grouped by patient, and the seconds to decode them all."""
    from revspine.batch import fhir_links

    groups: dict[str, list[bytes]] = defaultdict(list)
    shared: list[bytes] = []
    for path in sorted(folder.glob("*.ndjson")):
        for raw in path.read_bytes().splitlines():
            if not raw.strip():
                continue
            try:
                kind, key = fhir_links.patient_key(orjson.loads(raw))
            except Exception:
                continue
            (shared if kind == "shared" else groups[key]).append(raw)
    patients = sorted(groups.items())
    t = time.perf_counter()
    for _, lines in patients:
        for raw in lines:
            orjson.loads(raw)
    return patients, time.perf_counter() - t


def main(argv: list[str] | None = None) -> None:
    """Print the per-patient cost of each phase."""
    from revspine.adapters.fhir import bundle_to_case
    from revspine.batch.evaluate import assessment_json, assessment_line
    from revspine.batch.rows import assessment_row
    from revspine.domain.checks import check_case
    from revspine.engine import assess
    from revspine.knowledge import load_knowledge

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--data", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or Path(tmp)
        if not (data / "Patient.ndjson").exists():
            subprocess.run(
                [str(BIN / "revspine"), "synth", "--patients", str(args.patients)]
                + ["--seed", "1", "--out", str(data)],
                check=True,
                stderr=subprocess.DEVNULL,
            )
        patients, decode_s = _load(data)
    kb = load_knowledge()
    n = len(patients)
    gc.collect()
    gc.freeze()  # the loaded export is not garbage: keep collections to what one patient makes
    import_s = check_s = assess_s = out_s = 0.0
    clock = time.perf_counter
    for pid, lines in patients:  # one patient at a time, as a batch worker does
        bundle = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": orjson.loads(r)} for r in lines],
        }
        t0 = clock()
        case = bundle_to_case(bundle, as_of=AS_OF).case
        t1 = clock()
        check_case(case, AS_OF)
        t2 = clock()
        result = assess(case, kb, AS_OF)
        t3 = clock()
        assessment_row(pid, case, result, input_errors=0, import_warnings=0)
        assessment_line(pid, assessment_json(result))
        t4 = clock()
        import_s += t1 - t0
        check_s += t2 - t1
        assess_s += t3 - t2
        out_s += t4 - t3
    total = import_s + check_s + assess_s + out_s
    print(f"{n} patients; per patient (µs):")
    for name, s in [
        ("decode (orjson)", decode_s),
        ("import", import_s),
        ("check_case", check_s),
        ("assess", assess_s),
        ("row + json line", out_s),
        ("total without decode", total),
    ]:
        print(f"  {name:<22} {s / n * 1e6:8.1f}")
    print(f"  in-process ceiling: {(total + decode_s) / decode_s:.1f}× decode")


if __name__ == "__main__":
    main()
