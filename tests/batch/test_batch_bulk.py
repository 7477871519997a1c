"""``revspine batch`` over a FHIR Bulk Data export: rows = per-patient ``assess()``, every bad
record named, ``--strict``, byte-identical re-runs, resume without duplicates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from batchtools import AS_OF, OUTPUTS, Cohort, Run, batch
from typer.testing import CliRunner

from revspine import assess, load_knowledge
from revspine.adapters.fhir import bundle_to_case
from revspine.batch import BatchOptions, ResumeError, run_batch
from revspine.batch.fhir_links import SHARED_TYPES
from revspine.batch.rows import OPTIMISATION_CODES, WORKUP_TESTS
from revspine.batch.synth import patient_bundle, synth_patient
from revspine.cli.app import app

pytestmark = pytest.mark.req("REQ-601", "REQ-401", "REQ-113", "REQ-302")

#: How each injected bad record shows up in errors.jsonl.
ERROR_KIND = {
    "malformed_json": {"json"},
    "missing_subject": {"reference", "resource"},
    "unknown_unit": {"fhir"},
}


def _expected(cohort: Cohort) -> dict[str, tuple[dict[str, Any], str]]:
    """Patient id → (key columns, assessment JSON), computed patient by patient with the FHIR
    adapter and ``assess()``, without the batch machinery."""
    kb = load_knowledge()
    out = {}
    for i in range(cohort.patients):
        p = synth_patient(cohort.seed, i)
        case = bundle_to_case(patient_bundle(p), as_of=AS_OF).case
        case = case.model_copy(update={"site": p.site, "surgeon": p.surgeon})
        a = assess(case, kb, AS_OF)
        missing = {w.test for w in a.workup}
        opt = {r.code: r.status for r in a.optimisation}
        causes = [c.cause for c in a.differential[:3]] + [None] * 3
        cols = {
            "case_id": a.case_id,
            "site": p.site,
            "surgeon": p.surgeon,
            "as_of": AS_OF,
            "disposition": a.disposition.code,
            "cause_1": causes[0],
            "cause_2": causes[1],
            "cause_3": causes[2],
            "red_flags": [f.code for f in a.red_flags],
            "knowledge_sha256": kb.sha256,
            "knowledge_version": kb.version,
            **{f"workup_{t}": t in missing for t in WORKUP_TESTS},
            **{f"opt_{c}": opt.get(c) for c in OPTIMISATION_CODES},
        }
        out[p.patient_id] = (cols, a.model_dump_json(by_alias=True))
    return out


def test_rows_are_the_per_patient_assessments(clean_cohort: Cohort, clean_run: Run) -> None:
    expected = _expected(clean_cohort)
    rows = clean_run.rows()
    assert [r["patient_id"] for r in rows] == sorted(expected)
    for row in rows:
        cols, _ = expected[row["patient_id"]]
        assert {k: row[k] for k in cols} == cols, row["patient_id"]
        assert row["input_errors"] == 0
    lines = (clean_run.out / "assessments.jsonl").read_text().splitlines()
    assert len(lines) == len(rows)
    for line, row in zip(lines, rows, strict=True):
        data = json.loads(line)
        assert data["patient_id"] == row["patient_id"]
        assert data["assessment"] == json.loads(expected[row["patient_id"]][1])
    assert clean_run.errors() == []
    dispositions = {r["disposition"] for r in rows}
    assert len(dispositions) >= 2 and len({r["cause_1"] for r in rows}) >= 4
    assert {r["site"] for r in rows} > {None} and {r["surgeon"] for r in rows} > {None}


def test_errors_name_every_injected_bad_record(bad_cohort: Cohort, bad_run: Run) -> None:
    injected = {(b["file"], b["line"]): b for b in bad_cohort.manifest["bad_records"]}
    assert len(injected) >= 20
    assert {b["kind"] for b in injected.values()} == set(ERROR_KIND)
    errors = bad_run.errors()
    found = {(e["file"], e["line"]): e for e in errors}
    assert len(found) == len(errors), "one error per bad record"
    assert found.keys() == injected.keys()
    for where, bad in injected.items():
        assert found[where]["kind"] in ERROR_KIND[bad["kind"]], (where, found[where])
        assert found[where]["reason"]
    assert bad_run.summary.errors == len(injected)
    manifest = json.loads((bad_run.out / "manifest.json").read_text())
    assert manifest["counts"]["errors"] == len(injected)


def test_a_bad_record_costs_only_itself(bad_cohort: Cohort, bad_run: Run) -> None:
    """Patients without a bad record are assessed exactly as in the clean export; a patient with a
    refused record keeps a row, which counts the refusal."""
    bad_patients = {b["patient_id"] for b in bad_cohort.manifest["bad_records"]}
    fhir_refused: dict[str, int] = {}
    for e in bad_run.errors():
        if e["kind"] == "fhir":
            fhir_refused[e["patient_id"]] = fhir_refused.get(e["patient_id"], 0) + 1
    expected = _expected(bad_cohort)
    rows = {r["patient_id"]: r for r in bad_run.rows()}
    assert len(rows) == bad_cohort.patients
    for pid, (cols, _) in expected.items():
        if pid not in bad_patients:
            assert {k: rows[pid][k] for k in cols} == cols
        assert rows[pid]["input_errors"] == fhir_refused.get(pid, 0)


def test_strict_stops_at_the_first_bad_record(bad_cohort: Cohort, tmp_path: Path) -> None:
    first = min((b["file"], b["line"]) for b in bad_cohort.manifest["bad_records"])
    argv = ["batch", str(bad_cohort.path), "--out", str(tmp_path), "--as-of", AS_OF.isoformat()]
    result = CliRunner().invoke(app, [*argv, "--strict", "--workers", "2", "--no-progress"])
    assert result.exit_code == 2, result.stderr
    assert f"{first[0]}:{first[1]}" in result.stderr
    assert not (tmp_path / "patients.parquet").exists()
    relaxed = CliRunner().invoke(app, [*argv, "--workers", "1", "--no-progress"])
    assert relaxed.exit_code == 0, relaxed.stderr
    assert "bad record(s)" in relaxed.stderr


def test_rerun_is_byte_identical_whatever_the_workers(
    clean_cohort: Cohort, clean_run: Run, tmp_path: Path
) -> None:
    again = batch(clean_cohort.path, tmp_path / "again", workers=1)
    assert again.files() == clean_run.files()
    a = json.loads((clean_run.out / "manifest.json").read_text())
    b = json.loads((again.out / "manifest.json").read_text())
    assert a["outputs"] == b["outputs"]
    assert not (again.out / ".work").exists()
    # The run's CPU cost: with workers, the tasks' CPU is theirs; with one, all of it is here.
    assert a["cpu_seconds"]["workers"] > a["cpu_seconds"]["main"] > 0
    assert b["cpu_seconds"]["workers"] == 0 and b["cpu_seconds"]["main"] > 0


def test_interrupted_run_resumes_without_duplicates(
    clean_cohort: Cohort, clean_run: Run, tmp_path: Path
) -> None:
    out = tmp_path / "resumed"
    options = BatchOptions(input=clean_cohort.path, out=out, as_of=AS_OF, workers=2, progress=False)
    with pytest.raises(KeyboardInterrupt):
        run_batch(options, interrupt_after=3)
    work = out / ".work" / "manifest.json"
    state = json.loads(work.read_text())
    assert len(state["done"]) == 3
    assert not (out / "patients.parquet").exists()
    # A part renamed into place but not yet recorded (killed between the two) is redone.
    forgotten = sorted(state["done"])[0]
    del state["done"][forgotten]
    work.write_text(json.dumps(state))
    (out / ".work" / "parts" / ".part-000000.arrow.999.tmp").write_bytes(b"half a file")
    with pytest.raises(ResumeError):
        run_batch(BatchOptions(**{**options.__dict__, "resume": True, "as_of": None}))
    summary = run_batch(BatchOptions(**{**options.__dict__, "resume": True}))
    assert summary.tasks_resumed == 2
    resumed = Run(out, summary)
    assert resumed.files() == clean_run.files()
    ids = [r["patient_id"] for r in resumed.rows()]
    assert len(ids) == len(set(ids)) == clean_cohort.patients
    # Resuming a run that already completed changes nothing.
    done = run_batch(BatchOptions(**{**options.__dict__, "resume": True}))
    assert done.tasks_resumed == done.tasks and done.patients == clean_cohort.patients
    assert Run(out, done).files() == clean_run.files()


def test_a_partition_that_did_not_finish_starts_again_from_empty_shards(
    clean_cohort: Cohort, clean_run: Run, tmp_path: Path
) -> None:
    """Workers append to their own shard files; a partition that was interrupted (the work
    manifest does not say ``partitioned``) must not leave lines that the next attempt appends to
    again."""
    out = tmp_path / "repartitioned"
    options = BatchOptions(input=clean_cohort.path, out=out, as_of=AS_OF, workers=2, progress=False)
    with pytest.raises(KeyboardInterrupt):
        run_batch(options, interrupt_after=1)
    shards = out / ".work" / "shards"
    routed = sum(p.read_bytes().count(b"\n") for p in shards.iterdir())
    patient_lines = sum(
        1
        for f in clean_cohort.path.glob("*.ndjson")
        if f.stem not in SHARED_TYPES
        for line in f.read_bytes().splitlines()
        if line.strip()
    )
    assert routed == patient_lines
    work = out / ".work" / "manifest.json"
    state = json.loads(work.read_text())
    state |= {"partitioned": False, "done": {}}
    work.write_text(json.dumps(state))
    (shards / "s00000-1.tsv").write_bytes(b"stale\t0\t1\t{}\n")  # a process that died
    with pytest.raises(KeyboardInterrupt):
        run_batch(BatchOptions(**{**options.__dict__, "resume": True}), interrupt_after=1)
    assert sum(p.read_bytes().count(b"\n") for p in shards.iterdir()) == routed
    summary = run_batch(BatchOptions(**{**options.__dict__, "resume": True}))
    assert Run(out, summary).files() == clean_run.files()


def test_synth_is_deterministic(clean_cohort: Cohort, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["synth", "--patients", "200", "--seed", "11", "--out", str(tmp_path), "--workers", "2"],
    )
    assert result.exit_code == 0, result.stderr
    for path in clean_cohort.path.iterdir():
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


def test_batch_cli_progress_and_summary(clean_cohort: Cohort, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "batch",
            str(clean_cohort.path),
            "--out",
            str(tmp_path),
            "--workers",
            "1",
            "--as-of",
            AS_OF.isoformat(),
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert "assess" in result.stderr and "patients/s" in result.stderr
    assert f"{clean_cohort.patients} patient(s) assessed" in result.stderr
    assert result.stdout == ""
    for name in (*OUTPUTS, "manifest.json"):
        assert (tmp_path / name).is_file()


@pytest.mark.parametrize("phase", ["partition", "part", "merge"])
def test_a_full_disk_is_named_and_the_run_resumes(
    clean_cohort: Cohort,
    clean_run: Run,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    phase: str,
) -> None:
    """A full disk is the machine's refusal, not a revspine bug: exit 4 naming the file, the
    finished work kept, and ``--resume`` once there is room writes what a clean run writes."""
    import errno

    from revspine.batch import _merge, _parts, _worker

    target, name = {
        "partition": (_worker, "partition_chunk"),
        "part": (_parts, "atomic_write"),
        "merge": (_merge, "replace_atomic"),
    }[phase]
    real = getattr(target, name)
    calls = [0]

    def full(*args: object, **kwargs: object) -> object:
        calls[0] += 1
        if calls[0] == 2:  # the second write finds the disk full
            raise OSError(errno.ENOSPC, "No space left on device", "/data/out/.work/some-file")
        return real(*args, **kwargs)

    monkeypatch.setattr(target, name, full)
    argv = ["batch", str(clean_cohort.path), "--out", str(tmp_path), "--workers", "1"]
    argv += ["--as-of", AS_OF.isoformat(), "--no-progress"]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 4, result.stderr
    assert "/data/out/.work/some-file: No space left on device" in result.stderr
    assert "--resume" in result.stderr and "bug" not in result.stderr
    assert not (tmp_path / "manifest.json").exists()
    monkeypatch.setattr(target, name, real)
    result = CliRunner().invoke(app, [*argv, "--resume"])
    assert result.exit_code == 0, result.stderr
    assert Run(tmp_path, None).files() == clean_run.files()  # type: ignore[arg-type]


def test_strict_stops_at_a_record_the_import_refuses(clean_cohort: Cohort, tmp_path: Path) -> None:
    """A bad unit is found only when the patient is imported (after partitioning)."""
    bulk = tmp_path / "bulk"
    bulk.mkdir()
    for path in clean_cohort.path.glob("*.ndjson"):
        (bulk / path.name).write_bytes(path.read_bytes())
    lines = (bulk / "Observation.ndjson").read_text().splitlines()
    number = next(i for i, line in enumerate(lines, 1) if '"valueQuantity"' in line)
    resource = json.loads(lines[number - 1])
    resource["valueQuantity"] |= {"unit": "furlong/fortnight", "code": "furlong/fortnight"}
    lines[number - 1] = json.dumps(resource)
    (bulk / "Observation.ndjson").write_text("\n".join(lines) + "\n")
    argv = ["batch", str(bulk), "--out", str(tmp_path / "out"), "--as-of", AS_OF.isoformat()]
    result = CliRunner().invoke(app, [*argv, "--strict", "--workers", "2", "--no-progress"])
    assert result.exit_code == 2, result.stderr
    assert f"Observation.ndjson:{number}: fhir:" in result.stderr
    assert "furlong" in result.stderr


def test_workers_follow_the_working_directory_of_each_run(
    clean_cohort: Cohort, clean_run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Workers are forked from a fork server that outlives a run and may have started elsewhere
    # (multiprocessing moves each worker to the directory of the process that starts it).
    for where in ("first", "second"):
        (tmp_path / where).mkdir()
        monkeypatch.chdir(tmp_path / where)
        Path("input").symlink_to(clean_cohort.path, target_is_directory=True)
        run = batch(Path("input"), Path("out"), workers=2)
        assert Run(tmp_path / where / "out", run.summary).files() == clean_run.files()
