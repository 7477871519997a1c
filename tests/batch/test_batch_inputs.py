"""The other inputs of ``revspine batch``: a CSV or Parquet table of native case fields (dotted
column names) and a folder of FHIR Bundle files."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from batchtools import AS_OF, SEED, batch

from revspine import Case, assess, load_knowledge
from revspine.adapters.fhir import bundle_to_case
from revspine.batch.casegen import generate
from revspine.batch.synth import patient_bundle, synth_patient
from revspine.domain.checks import check_case

pytestmark = pytest.mark.req("REQ-601", "REQ-206", "REQ-113")


def _flat(case: dict[str, Any]) -> dict[str, Any]:
    """A case as one table row: sections flattened to dotted paths, lists as JSON text."""
    row: dict[str, Any] = {}
    for key, value in case.items():
        if isinstance(value, dict):
            for sub, v in value.items():
                row[f"{key}.{sub}"] = json.dumps(v) if isinstance(v, list | dict) else v
        elif isinstance(value, list):
            row[key] = json.dumps(value)
        else:
            row[key] = value
    return row


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _cases(n: int) -> list[dict[str, Any]]:
    cases = generate(n, seed=5)
    for i, c in enumerate(cases):
        c["site"] = ("North", "South", None)[i % 3]
    return [c for c in cases if c["site"] is not None or c.pop("site") is None]


def _expected(cases: list[dict[str, Any]]) -> tuple[dict[str, str], set[str]]:
    """Case id → assessment JSON for the cases that pass the consistency checks, and the ids of
    those that do not (``revspine batch`` refuses them, as ``revspine assess`` does)."""
    kb = load_knowledge()
    good, refused = {}, set()
    for c in cases:
        case = Case.model_validate(c)
        if check_case(case, AS_OF):
            refused.add(c["case_id"])
        else:
            good[c["case_id"]] = assess(case, kb, AS_OF).model_dump_json(by_alias=True)
    return good, refused


def _assessments(out: Path) -> dict[str, Any]:
    lines = (out / "assessments.jsonl").read_text().splitlines()
    return {d["patient_id"]: d["assessment"] for d in map(json.loads, lines)}


def test_csv_table(tmp_path: Path) -> None:
    cases = _cases(40)
    rows = [_flat(c) for c in cases]
    rows[7]["patient.age"] = "sixty"  # a bad row: named with its line
    columns = sorted({k for r in rows for k in r})
    path = tmp_path / "cases.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for r in rows:
            writer.writerow([_cell(r.get(c)) for c in columns])
    run = batch(path, tmp_path / "out", workers=2)
    expected, refused = _expected([c for i, c in enumerate(cases) if i != 7])
    assert len(expected) >= 10
    got = _assessments(run.out)
    assert got.keys() == expected.keys()
    for pid, data in got.items():
        assert data == json.loads(expected[pid]), pid
    errors = {e["patient_id"]: e for e in run.errors()}
    assert errors.keys() == refused | {cases[7]["case_id"]}
    assert all(e["kind"] == "case" and e["file"] == "cases.csv" for e in errors.values())
    line = {c["case_id"]: i + 2 for i, c in enumerate(cases)}  # the header is line 1
    assert all(e["line"] == line[pid] for pid, e in errors.items())
    assert "patient.age" in errors[cases[7]["case_id"]]["reason"]
    sites = {r["patient_id"]: r["site"] for r in run.rows()}
    assert {sites[c["case_id"]] for c in cases if c["case_id"] in sites} == {"North", "South", None}


def test_parquet_table_with_typed_columns(tmp_path: Path) -> None:
    cases = _cases(30)
    rows = [_flat(c) for c in cases]
    columns = sorted({k for r in rows for k in r})
    table = pa.Table.from_pylist([{c: r.get(c) for c in columns} for r in rows])
    path = tmp_path / "cases.parquet"
    pq.write_table(table, path)
    run = batch(path, tmp_path / "out", workers=1)
    expected, refused = _expected(cases)
    got = _assessments(run.out)
    assert got.keys() == expected.keys()
    for pid, data in got.items():
        assert data == json.loads(expected[pid]), pid
    assert {e["patient_id"] for e in run.errors()} == refused


def test_bundle_folder(tmp_path: Path) -> None:
    folder = tmp_path / "bundles"
    folder.mkdir()
    kb = load_knowledge()
    expected = {}
    for i in range(25):
        p = synth_patient(SEED, i)
        case = bundle_to_case(patient_bundle(p), as_of=AS_OF).case
        case = case.model_copy(update={"site": p.site, "surgeon": p.surgeon})
        expected[p.patient_id] = assess(case, kb, AS_OF).model_dump_json(by_alias=True)
        bundle = json.loads(json.dumps(patient_bundle(p)))
        for entry in bundle["entry"]:  # Bundle style: urn:uuid references, fullUrls
            entry["fullUrl"] = f"urn:uuid:{entry['resource']['id']}"
            for link in ("subject", "patient"):
                if link in entry["resource"]:
                    entry["resource"][link] = {"reference": f"urn:uuid:{p.patient_id}"}
        (folder / f"b{i:03d}.json").write_text(json.dumps(bundle, indent=2))
    (folder / "broken.json").write_text('{"resourceType": "Bundle",\n "entry": [\n')
    (folder / "patient.json").write_text('{"resourceType": "Patient", "id": "x"}')
    run = batch(folder, tmp_path / "out", workers=2)
    got = _assessments(run.out)
    assert got.keys() == expected.keys()
    for pid, data in got.items():
        assert data == json.loads(expected[pid]), pid
    errors = {(e["file"], e["kind"]): e for e in run.errors()}
    assert set(errors) == {("broken.json", "json"), ("patient.json", "resource")}
    assert errors[("broken.json", "json")]["line"] == 3
