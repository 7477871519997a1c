"""Helpers of the batch tests: synthetic cohorts and in-process batch runs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from revspine.batch import BatchOptions, BatchSummary, run_batch
from revspine.batch.synth import synthesize

AS_OF = date(2026, 11, 1)
SEED = 11
PATIENTS = 200
OUTPUTS = ("patients.parquet", "assessments.jsonl", "errors.jsonl")


@dataclass
class Cohort:
    """A synthetic export and its manifest."""

    path: Path
    manifest: dict[str, Any]
    seed: int
    patients: int


@dataclass
class Run:
    """A finished batch run."""

    out: Path
    summary: BatchSummary

    def rows(self) -> list[dict[str, Any]]:
        return pq.read_table(self.out / "patients.parquet").to_pylist()

    def errors(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in (self.out / "errors.jsonl").read_text().splitlines()]

    def files(self) -> dict[str, bytes]:
        return {name: (self.out / name).read_bytes() for name in OUTPUTS}


def make_cohort(path: Path, bad_rate: float, patients: int = PATIENTS) -> Cohort:
    synthesize(patients, SEED, path, bad_rate=bad_rate, workers=1)
    manifest = json.loads((path / "synth-manifest.json").read_text())
    return Cohort(path, manifest, SEED, patients)


def batch(input_path: Path, out: Path, **options: Any) -> Run:
    """Run ``revspine batch`` in-process (no progress bar)."""
    opts = BatchOptions(input=input_path, out=out, as_of=AS_OF, progress=False, **options)
    return Run(out, run_batch(opts))
