"""How FHIR resources of a Bulk Data export link to their patient, site and surgeon.

This is the bulk-format layer (which patient a line belongs to); everything clinical is read by
:mod:`revspine.adapters.fhir`. A resource belongs to the patient its ``subject`` (or, for
AllergyIntolerance and Device, ``patient``) references; Patient resources to themselves. A few
resource types hold no patient data and are read through references (:data:`SHARED_TYPES`).
"""

from __future__ import annotations

import re
from typing import Any

from revspine._memo import remember

__all__ = [
    "SHARED_TYPES",
    "BadRecord",
    "patient_key",
    "reference",
    "resource_name",
    "set_patient_reference",
    "site_and_surgeon",
    "typed_key",
]

SHARED_TYPES = frozenset(
    {"Medication", "Organization", "Practitioner", "PractitionerRole", "Location", "Substance"}
)
"""Resource types without a patient: indexed (Medication, Organization and Practitioner names)
and read through references, never grouped."""
_LINKS = ("subject", "patient")
_ID_RE = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_NAME_MAX = 64


class BadRecord(Exception):
    """A line that cannot be routed to a patient: ``kind`` and ``reason`` for ``errors.jsonl``."""

    def __init__(self, kind: str, reason: str) -> None:
        self.kind = kind
        self.reason = reason
        super().__init__(reason)


def reference(value: Any) -> str | None:
    """The ``reference`` string of a Reference, if any."""
    if isinstance(value, dict):
        ref = value.get("reference")
        if isinstance(ref, str):
            return ref
    return None


def typed_key(ref: str, rtype: str) -> str | None:
    """``<rtype>/<id>`` from a relative, absolute or versioned reference to a ``rtype``."""
    if ref.startswith(rtype) and ref[len(rtype) : len(rtype) + 1] == "/":
        rid = ref[len(rtype) + 1 :]
        if _ID_RE.match(rid):  # ``<rtype>/<id>``: an id holds no ``/``, so no ``/_history/``
            return ref
    ref = ref.split("/_history/", 1)[0]
    marker = f"{rtype}/"
    if ref.startswith(marker):
        rid = ref[len(marker) :]
    elif f"/{marker}" in ref:
        rid = ref.rsplit(f"/{marker}", 1)[1]
    else:
        return None
    return f"{rtype}/{rid}" if _ID_RE.match(rid) else None


_PATIENT_IDS: dict[str, str] = {}
"""Remembered patient ids of references (every resource of a patient repeats its reference)."""


def _patient_id(ref: str) -> str:
    rid = _PATIENT_IDS.get(ref)
    if rid is None:
        rid = remember(_PATIENT_IDS, ref, _parse_patient_id(ref))
    return rid


def _parse_patient_id(ref: str) -> str:
    if ref.startswith("urn:uuid:"):
        rid = ref[9:]
        if _ID_RE.match(rid):
            return rid
        raise BadRecord("reference", f"patient reference {ref!r} is not a usable id")
    key = typed_key(ref, "Patient")
    if key is None:
        raise BadRecord("reference", f"the subject {ref!r} is not a Patient reference")
    return key[8:]


def patient_key(resource: Any) -> tuple[str, str]:
    """``("patient", id)`` for a patient's resource, ``("shared", type)`` for a shared one.

    Raises :class:`BadRecord` when the record is not a resource, a Patient has no usable id, or
    another resource has no patient reference."""
    if not isinstance(resource, dict):
        raise BadRecord("resource", "expected a FHIR resource (a JSON object)")
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        raise BadRecord("resource", "the resource has no resourceType")
    if rtype == "Patient":
        rid = resource.get("id")
        if not isinstance(rid, str) or not _ID_RE.match(rid):
            raise BadRecord("resource", "the Patient has no usable id")
        return "patient", rid
    if rtype in SHARED_TYPES:
        return "shared", rtype
    for link in _LINKS:
        if link in resource:
            ref = reference(resource[link])
            if ref is None:
                raise BadRecord("reference", f"{rtype}.{link} has no reference")
            return "patient", _patient_id(ref)
    raise BadRecord("reference", f"{rtype} has no subject or patient reference")


def set_patient_reference(resource: dict[str, Any], patient_id: str) -> None:
    """Point the resource's patient link at ``Patient/<patient_id>`` (the id it was grouped by)."""
    for link in _LINKS:
        value = resource.get(link)
        if isinstance(value, dict) and "reference" in value:
            reference = f"Patient/{patient_id}"
            if value["reference"] != reference:  # already canonical: nothing to copy
                resource[link] = {**value, "reference": reference}
            return


def resource_name(resource: dict[str, Any]) -> str | None:
    """The display name of an Organization (``name``) or a Practitioner (``name[0]``)."""
    name = resource.get("name")
    if isinstance(name, str):
        return name.strip()[:_NAME_MAX] or None
    if isinstance(name, list) and name and isinstance(name[0], dict):
        human = name[0]
        if isinstance(human.get("text"), str):
            return human["text"].strip()[:_NAME_MAX] or None
        parts = [p for p in human.get("prefix") or () if isinstance(p, str)]
        parts += [p for p in human.get("given") or () if isinstance(p, str)]
        if isinstance(human.get("family"), str):
            parts.append(human["family"])
        return " ".join(parts).strip()[:_NAME_MAX] or None
    return None


def _named(value: Any, rtype: str, names: dict[str, str], local: dict[str, str]) -> str | None:
    """The name behind a Reference: its ``display``, else the referenced resource's name."""
    if not isinstance(value, dict):
        return None
    display = value.get("display")
    if isinstance(display, str) and display.strip():
        return display.strip()[:_NAME_MAX]
    ref = reference(value)
    key = typed_key(ref, rtype) if ref else None
    if key is None:
        return None
    return local.get(key) or names.get(key)


def _performed(resource: dict[str, Any]) -> str:
    when = resource.get("performedDateTime")
    if not isinstance(when, str):
        period = resource.get("performedPeriod")
        when = period.get("start") if isinstance(period, dict) else None
    return when if isinstance(when, str) else ""


def site_and_surgeon(
    resources: list[dict[str, Any]], names: dict[str, str]
) -> tuple[str | None, str | None]:
    """The patient's site (``Patient.managingOrganization``) and surgeon (a performer of the most
    recent Procedure that names one), from reference displays or the names in ``names`` or in
    the resources themselves."""
    local: dict[str, str] = {}
    patient = None
    procedures = []
    for r in resources:  # one pass: the patient, the procedures, the local names
        rtype = r.get("resourceType")
        if rtype == "Procedure":
            if r.get("status") != "entered-in-error":
                procedures.append(r)
        elif rtype == "Patient":
            if patient is None:
                patient = r
        elif rtype in ("Organization", "Practitioner"):
            rid = r.get("id")
            if isinstance(rid, str) and (name := resource_name(r)):
                local[f"{rtype}/{rid}"] = name
    site = None
    if patient is not None:
        site = _named(patient.get("managingOrganization"), "Organization", names, local)
    surgeon = None
    for r in sorted(procedures, key=_performed, reverse=True):
        for performer in r.get("performer") or ():
            if isinstance(performer, dict):
                surgeon = _named(performer.get("actor"), "Practitioner", names, local)
                if surgeon:
                    return site, surgeon
    return site, surgeon
