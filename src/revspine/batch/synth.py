"""``revspine synth``: synthetic FBSS cohorts as a FHIR Bulk Data export (NDJSON), for tests and
benchmarks.

Each patient is a seeded random case (:mod:`revspine.batch.casegen`: a third complete
recurrent-herniation work-ups, the rest random over the whole vocabulary, with missing data)
written as FHIR R4 resources by :func:`~revspine.adapters.fhir.case_to_bundle`: Patient,
Observation (labs, vital signs, smoking, pain scores, PHQ-9), Condition, Procedure,
AllergyIntolerance and MedicationStatement, one file per type, every resource referring to
``Patient/<id>``. Patients belong to one of a few sites (``Patient.managingOrganization``) and
surgeons (``Procedure.performer``); Organization, Practitioner and Medication resources are
written once, as in a real export.

Bad records are injected at ``bad_rate`` (per line): ``malformed_json`` (a truncated line),
``missing_subject`` (no patient reference; a Patient loses its id), ``unknown_unit`` (a lab or
vital sign in an unknown unit). ``synth-manifest.json`` lists every injected record (file, line,
kind, patient) so a test can check that ``errors.jsonl`` names each one.

Patient ``i`` depends only on (seed, i): the output is byte-identical for the same arguments,
whatever the number of workers.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from revspine.batch.casegen import AS_OF, CaseGenerator

__all__ = [
    "BAD_KINDS",
    "FILES",
    "SynthPatient",
    "SynthResult",
    "patient_bundle",
    "synth_patient",
    "synthesize",
]

FILES = (
    "Patient.ndjson",
    "Observation.ndjson",
    "Condition.ndjson",
    "Procedure.ndjson",
    "AllergyIntolerance.ndjson",
    "MedicationStatement.ndjson",
    "Medication.ndjson",
    "Organization.ndjson",
    "Practitioner.ndjson",
)
BAD_KINDS = ("malformed_json", "missing_subject", "unknown_unit")
BAD_UNIT = "furlong/fortnight"
MANIFEST = "synth-manifest.json"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "http://revspine.example/fhir/synth")
#: (organization id, name, weight, surgeons: (practitioner id, given, family)).
SITES: tuple[tuple[str, str, int, tuple[tuple[str, str, str], ...]], ...] = (
    (
        "site-north",
        "North Spine Centre",
        5,
        (
            ("surg-01", "Amara", "Okafor"),
            ("surg-02", "Lukas", "Brenner"),
            ("surg-03", "Mei", "Tanaka"),
        ),
    ),
    (
        "site-south",
        "South Orthopaedic Hospital",
        3,
        (("surg-04", "Rafael", "Duarte"), ("surg-05", "Ingrid", "Solberg")),
    ),
    ("site-east", "East Neurosurgery Unit", 2, (("surg-06", "Priya", "Raman"),)),
)
_MEDICATION = {
    "resourceType": "Medication",
    "id": "med-opioid",
    "code": {"text": "Opioid analgesic"},
}


@dataclass
class SynthPatient:
    """One synthetic patient: its resources (clean), the lines to write, and what was injected."""

    index: int
    patient_id: str
    resources: list[dict[str, Any]]
    site: str | None
    surgeon: str | None
    lines: list[tuple[str, bytes, str | None]] = field(default_factory=list)
    """(file, line, injected bad kind or None), in write order."""


@dataclass
class SynthResult:
    """What :func:`synthesize` wrote."""

    out: Path
    patients: int
    lines: dict[str, int]
    bad_records: list[dict[str, Any]]


def _practitioner_name(given: str, family: str) -> str:
    return f"Dr {given} {family}"


def _file_of(resource: dict[str, Any]) -> str:
    return f"{resource['resourceType']}.ndjson"


def synth_patient(seed: int, index: int, bad_rate: float = 0.0) -> SynthPatient:
    """Patient ``index`` of the cohort ``seed`` (clean resources and the lines to write)."""
    from revspine.adapters.fhir import case_to_bundle
    from revspine.domain.case import Case

    rng = random.Random(f"revspine-synth/{seed}/{index}")
    data = CaseGenerator(rng.getrandbits(64)).case(index)
    data["case_id"] = f"SYN{seed}-{index:07d}"
    if rng.random() < 0.35:  # casegen leaves daily opioid use unknown; exports often record it
        data.setdefault("psychosocial", {})["daily_opioid_use"] = rng.random() < 0.5
    bundle = case_to_bundle(Case.model_validate(data))
    pid = str(uuid.uuid5(_NAMESPACE, f"{seed}/{index}"))
    resources = [entry["resource"] for entry in bundle["entry"]]
    patient = resources[0]
    patient["id"] = pid
    subject = {"reference": f"Patient/{pid}"}
    for r in resources[1:]:
        for link in ("subject", "patient"):
            if link in r:
                r[link] = subject
    site = surgeon = None
    if rng.random() < 0.92:
        org_id, site, _, surgeons = rng.choices(SITES, weights=[s[2] for s in SITES])[0]
        ref: dict[str, Any] = {"reference": f"Organization/{org_id}"}
        if rng.random() < 0.7:
            ref["display"] = site
        patient["managingOrganization"] = ref
        procedures = [r for r in resources if r["resourceType"] == "Procedure"]
        if procedures and rng.random() < 0.9:
            prac_id, given, family = rng.choice(surgeons)
            surgeon = _practitioner_name(given, family)
            actor: dict[str, Any] = {"reference": f"Practitioner/{prac_id}"}
            if rng.random() < 0.7:
                actor["display"] = surgeon
            for proc in procedures:
                proc["performer"] = [{"actor": actor}]
    for r in resources:
        if r["resourceType"] == "MedicationStatement" and rng.random() < 0.5:
            del r["medicationCodeableConcept"]
            r["medicationReference"] = {"reference": "Medication/med-opioid"}
    result = SynthPatient(index, pid, resources, site, surgeon)
    for r in resources:
        kind = _bad_kind(rng, r) if bad_rate and rng.random() < bad_rate else None
        result.lines.append((_file_of(r), _bad_line(r, kind, rng), kind))
    return result


def _bad_kind(rng: random.Random, resource: dict[str, Any]) -> str:
    kinds = ["malformed_json", "missing_subject"]
    if "valueQuantity" in resource:
        kinds.append("unknown_unit")
    return rng.choice(kinds)


def _bad_line(resource: dict[str, Any], kind: str | None, rng: random.Random) -> bytes:
    if kind is None:
        return orjson.dumps(resource)
    r = json.loads(json.dumps(resource))
    if kind == "missing_subject":
        for key in ("subject", "patient") if r["resourceType"] != "Patient" else ("id",):
            r.pop(key, None)
    elif kind == "unknown_unit":
        r["valueQuantity"] |= {"unit": BAD_UNIT, "code": BAD_UNIT}
    line = orjson.dumps(r)
    if kind == "malformed_json":
        line = line[: rng.randint(len(line) // 4, len(line) * 3 // 4)]
    return line


def patient_bundle(patient: SynthPatient) -> dict[str, Any]:
    """The clean resources of a synthetic patient as a collection Bundle (with the Medication
    its statements refer to) — what ``revspine batch`` should assess for it."""
    resources = list(patient.resources)
    if any("medicationReference" in r for r in resources):
        resources.append(dict(_MEDICATION))
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


def _block(args: tuple[int, int, int, float]) -> list[SynthPatient]:
    seed, start, stop, bad_rate = args
    out = []
    for i in range(start, stop):
        p = synth_patient(seed, i, bad_rate)
        p.resources = []  # the writer needs only the lines
        out.append(p)
    return out


def _blocks(seed: int, n: int, bad_rate: float, workers: int) -> Iterator[SynthPatient]:
    step = 500
    args = [(seed, s, min(n, s + step), bad_rate) for s in range(0, n, step)]
    if workers <= 1 or n <= step:
        for a in args:
            yield from _block(a)
        return
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for block in pool.imap(_block, args):
            yield from block


def _shared_lines() -> list[tuple[str, bytes]]:
    lines: list[tuple[str, bytes]] = [("Medication.ndjson", orjson.dumps(_MEDICATION))]
    for org_id, name, _, surgeons in SITES:
        org = {"resourceType": "Organization", "id": org_id, "name": name}
        lines.append(("Organization.ndjson", orjson.dumps(org)))
        for prac_id, given, family in surgeons:
            prac = {
                "resourceType": "Practitioner",
                "id": prac_id,
                "name": [{"prefix": ["Dr"], "given": [given], "family": family}],
            }
            lines.append(("Practitioner.ndjson", orjson.dumps(prac)))
    return lines


def synthesize(
    patients: int,
    seed: int,
    out: Path,
    *,
    bad_rate: float = 0.0,
    workers: int = 1,
) -> SynthResult:
    """Write a synthetic cohort to ``out`` (one NDJSON file per resource type + the manifest)."""
    from revspine import __version__

    if not 0 <= bad_rate <= 1:
        raise ValueError("bad_rate must be between 0 and 1")
    out.mkdir(parents=True, exist_ok=True)
    counts = dict.fromkeys(FILES, 0)
    bad: list[dict[str, Any]] = []
    handles = {name: open(out / name, "wb") for name in FILES}  # noqa: SIM115
    try:
        for name, line in _shared_lines():
            handles[name].write(line + b"\n")
            counts[name] += 1
        for p in _blocks(seed, patients, bad_rate, workers):
            for name, line, kind in p.lines:
                handles[name].write(line + b"\n")
                counts[name] += 1
                if kind is not None:
                    bad.append(
                        {
                            "file": name,
                            "line": counts[name],
                            "kind": kind,
                            "patient_id": p.patient_id,
                        }
                    )
    finally:
        for handle in handles.values():
            handle.close()
    bad.sort(key=lambda b: (b["file"], b["line"]))
    manifest = {
        "generator": "revspine synth",
        "revspine": __version__,
        "patients": patients,
        "seed": seed,
        "bad_rate": bad_rate,
        "as_of": AS_OF.isoformat(),
        "files": counts,
        "bad_records": bad,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return SynthResult(out, patients, counts, bad)
