"""Prefetch: the FHIR queries revspine advertises, their expansion, and reading what came back.

Every resource type the FHIR importer maps is asked for (Patient, Condition, Observation by the
LOINC codes of ``adapters/fhir/maps/codes.csv``, Procedure, AllergyIntolerance,
MedicationStatement, MedicationRequest, Device). The client may honour none, some or all keys
(CDS Hooks 2.0): an absent key is *missing*, a ``null`` key means *no data*, an
OperationOutcome is treated as missing, and a searchset with a ``next`` link is *partial*.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from revspine.adapters.cdshooks.errors import CdsHooksRequestError
from revspine.adapters.fhir._maps import load_maps

__all__ = [
    "PrefetchSpec",
    "Received",
    "expand",
    "patient_bundle",
    "prefetch_specs",
    "read_prefetch",
    "templates",
]

_TOKEN_RE = re.compile(r"\{\{\s*([A-Za-z][A-Za-z0-9_.]*)\s*\}\}")
_USER_TOKENS = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}
_P = "{{context.patientId}}"


@dataclass(frozen=True)
class PrefetchSpec:
    """One prefetch key: its FHIR query template, whether the assessment needs it, and why."""

    key: str
    template: str
    required: bool
    purpose: str


@functools.cache
def prefetch_specs() -> tuple[PrefetchSpec, ...]:
    """The prefetch keys every revspine service advertises (same for all three hooks)."""
    maps = load_maps()
    loinc = [
        row.code
        for row in maps.rows
        if row.resource == "Observation"
        and row.system == "http://loinc.org"
        and not row.target.startswith("ignore:")
    ]
    codes = ",".join(f"http://loinc.org|{c}" for c in dict.fromkeys(loinc))
    return (
        PrefetchSpec("patient", f"Patient/{_P}", True, "age and sex"),
        PrefetchSpec("conditions", f"Condition?patient={_P}", True, "comorbidities, FBSS"),
        PrefetchSpec(
            "observations",
            f"Observation?patient={_P}&code={codes}",
            True,
            "labs, body size, smoking status, pain and PHQ-9 scores",
        ),
        PrefetchSpec("procedures", f"Procedure?patient={_P}", True, "prior spine surgery"),
        PrefetchSpec("allergies", f"AllergyIntolerance?patient={_P}", False, "allergies"),
        PrefetchSpec("medicationStatements", f"MedicationStatement?patient={_P}", False, "opioids"),
        PrefetchSpec(
            "medicationRequests",
            f"MedicationRequest?patient={_P}",
            False,
            "opioids and anticoagulants",
        ),
        PrefetchSpec("devices", f"Device?patient={_P}", False, "implanted devices"),
    )


def templates() -> dict[str, str]:
    """``prefetch`` of the discovery document."""
    return {s.key: s.template for s in prefetch_specs()}


def expand(template: str, context: Mapping[str, Any]) -> str:
    """A template with its ``{{context.X}}`` and ``{{userXId}}`` tokens filled (URL-encoded).

    Raises :class:`CdsHooksRequestError` when a token has no primitive value in the context."""

    def fill(m: re.Match[str]) -> str:
        name = m.group(1)
        value: Any = None
        if name.startswith("context."):
            value = context.get(name.removeprefix("context."))
        elif name in _USER_TOKENS:
            user = context.get("userId")
            kind = _USER_TOKENS[name]
            if isinstance(user, str) and user.startswith(kind + "/"):
                value = user.removeprefix(kind + "/")
        if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
            raise CdsHooksRequestError(f"prefetch token {{{{{name}}}}} has no value in the context")
        return quote(str(value), safe="")

    return _TOKEN_RE.sub(fill, template)


@dataclass
class Received:
    """What the client prefetched: the resources, what is missing, partial and why."""

    resources: list[tuple[str | None, dict[str, Any]]] = field(default_factory=list)
    missing: list[PrefetchSpec] = field(default_factory=list)
    next_links: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add_value(self, spec: PrefetchSpec, value: Any) -> None:
        """Read one prefetch (or fetched) value for ``spec``."""
        if value is None:
            return
        if isinstance(value, dict) and "resourceType" not in value and "resource" in value:
            value = value["resource"]  # a Bundle.entry-shaped value (older clients)
        if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
            self.missing.append(spec)
            self.notes.append(f"prefetch {spec.key!r} is not a FHIR resource: ignored")
            return
        kind = value["resourceType"]
        if kind == "OperationOutcome":
            self.missing.append(spec)
            self.notes.append(f"prefetch {spec.key!r} returned an OperationOutcome")
            return
        if kind != "Bundle":
            self.resources.append((None, value))
            return
        for entry in value.get("entry") or []:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict) or resource.get("resourceType") == "OperationOutcome":
                continue
            full = entry.get("fullUrl")
            self.resources.append((full if isinstance(full, str) else None, resource))
        for link in value.get("link") or []:
            if isinstance(link, dict) and link.get("relation") == "next":
                if isinstance(link.get("url"), str):
                    self.next_links[spec.key] = link["url"]


def read_prefetch(prefetch: Mapping[str, Any] | None) -> Received:
    """Sort the request's prefetch into resources, missing keys and partial searchsets."""
    got = Received()
    given = prefetch or {}
    for spec in prefetch_specs():
        if spec.key not in given:
            got.missing.append(spec)
        else:
            got.add_value(spec, given[spec.key])
    return got


def patient_bundle(
    resources: list[tuple[str | None, dict[str, Any]]], patient_id: str
) -> tuple[dict[str, Any], list[str]]:
    """One ``collection`` Bundle of the patient's resources (deduplicated by type and id; any
    other Patient dropped), and notes about what was dropped."""
    seen: set[tuple[str, str]] = set()
    entries: list[dict[str, Any]] = []
    notes: list[str] = []
    for full, r in resources:
        rtype, rid = r["resourceType"], r.get("id")
        if isinstance(rid, str):
            if (rtype, rid) in seen:
                continue
            seen.add((rtype, rid))
        if rtype == "Patient" and (
            rid not in (None, patient_id)
            or any(e["resource"]["resourceType"] == "Patient" for e in entries)
        ):
            notes.append("a second Patient resource in the prefetch was not used")
            continue
        entries.append({"fullUrl": full, "resource": r} if full else {"resource": r})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}, notes
