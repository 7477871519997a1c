"""FHIR R4 Bundle → :class:`~revspine.domain.case.Case`.

The bundle is walked as plain dicts (orjson-decoded); FHIR models are used only when
``validate=True`` asks for a boundary check. What each code means comes from ``maps/*.csv``
(see :mod:`._maps`), not from code here. Nothing is dropped silently: every resource or code that
sets no case field is listed in :attr:`ImportResult.unmapped`, every item skipped on purpose gets
a warning, and every recognised fact without a case field (FBSS M96.1, an implanted device…)
gets a note. A value in a unit revspine does not know is refused (never guessed).

Absent means unknown: a missing Condition never sets a comorbidity to false; only a *refuted*
Condition (verificationStatus ``refuted``) or a ``not-taken`` MedicationStatement records a
negative.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError

from revspine.adapters.fhir import _json as j
from revspine.adapters.fhir._observations import observation
from revspine.adapters.fhir._records import allergy, condition, device, medication, procedure
from revspine.adapters.fhir._state import Entry, ImportMessage, State, UnmappedItem
from revspine.domain.case import Case
from revspine.errors import FhirParseError

__all__ = ["ImportMessage", "ImportResult", "UnmappedItem", "bundle_to_case", "parse_bundle"]

_URL_TYPES = (str, type(None))  # an entry's fullUrl, when it needs no check
BUNDLE_TYPES = frozenset(
    {"collection", "searchset", "transaction", "batch", "document", "transaction-response"}
)


@dataclass(frozen=True)
class ImportResult:
    """The case read from a bundle, and everything that did not become case data."""

    case: Case
    unmapped: list[UnmappedItem]
    warnings: list[ImportMessage]
    notes: list[ImportMessage] = field(default_factory=list)
    patient_ref: str | None = None
    resources: int = 0


def parse_bundle(raw: bytes | str) -> dict[str, Any]:
    """Decode bundle JSON (orjson) and check it is a FHIR Bundle object."""
    data = j.loads(raw)
    _check_bundle(data)
    result: dict[str, Any] = data
    return result


def bundle_to_case(
    bundle: dict[str, Any], *, as_of: date | None = None, validate: bool = False
) -> ImportResult:
    """Map a FHIR R4 Bundle (collection, searchset, transaction, …) to a case.

    ``as_of`` fixes the age (from ``Patient.birthDate``) and becomes the case's
    ``assessment_date``; without it only the birth date is recorded. ``validate=True`` first
    checks the bundle against the ``fhir.resources`` R4B models (slow; for boundaries).
    Raises :class:`~revspine.errors.FhirParseError` (with a JSON path) for a malformed bundle, a
    bad date, or a value in a unit revspine does not know.
    """
    _check_bundle(bundle)
    if validate:
        from revspine.adapters.fhir.validate import validate_r4b

        validate_r4b(bundle)
    return _Importer(bundle, as_of).run()


def _check_bundle(data: Any) -> None:
    if not isinstance(data, dict):
        raise j.fail("$", f"expected a FHIR Bundle object, got {j._kind(data)}")
    kind = data.get("resourceType")
    if kind != "Bundle":
        raise j.fail(
            "$.resourceType",
            f"expected 'Bundle', got {kind!r}" if kind is not None else "missing resourceType",
        )
    btype = data.get("type")
    if btype is not None and not isinstance(btype, str):
        raise j.fail("$.type", f"expected a string, got {j._kind(btype)}")
    if btype is not None and btype not in BUNDLE_TYPES:
        raise j.fail(
            "$.type",
            f"Bundle.type {btype!r} is not supported (expected one of {sorted(BUNDLE_TYPES)})",
        )
    j.arr(data.get("entry"), "$.entry")


class _Importer(State):
    """One pass over the bundle; :meth:`run` assembles the case."""

    def __init__(self, bundle: dict[str, Any], as_of: date | None) -> None:
        super().__init__()
        self.bundle = bundle
        self.as_of = as_of

    def run(self) -> ImportResult:
        entries: list[Entry] = []
        if self.bundle.get("type") is None:
            self.warnings.append(
                ImportMessage(
                    "Bundle.type is missing (it is required): read as a collection", "$.type"
                )
            )
        resource: Any
        seen: dict[tuple[str, str], Entry] = {}  # (resourceType, id) → its first entry
        for i, entry in enumerate(self.bundle.get("entry") or ()):
            if type(entry) is dict:  # the usual shape, checked without isinstance
                resource = entry.get("resource")
                rtype = resource.get("resourceType") if type(resource) is dict else None
                full_url = entry.get("fullUrl")
                if type(rtype) is not str or not rtype or type(full_url) not in _URL_TYPES:
                    rtype, full_url = self._entry_parts(entry, i)
                    if rtype is None:
                        continue
                    resource = entry["resource"]
            else:
                rtype, full_url = self._entry_parts(entry, i)
                if rtype is None:
                    continue
                resource = entry["resource"]
            e = Entry(resource, _entry_path(i), rtype, full_url)
            rid = resource.get("id")
            if type(rid) is str:
                first = seen.get((rtype, rid))
                if first is not None:
                    self._repeated(e, first)  # read once, or refused when they differ
                    continue
                seen[(rtype, rid)] = e
            self.entries.append(e)
            if rtype == "Patient":
                self._patient(e, e.full_url)
            else:
                entries.append(e)
        keys = self.patient_keys
        for e in entries:
            handler = _HANDLERS.get(e.rtype)
            if handler is None:
                self.miss_concept(e, e.resource.get("code"), f"{e.path}.code", None)
                continue
            if keys:
                subject = e.resource.get("subject")
                if type(subject) is dict:
                    ref = subject.get("reference")
                    if type(ref) is not str or ref not in keys:
                        if not self._about_patient(e):
                            continue
                elif not self._about_patient(e):
                    continue
            handler(self, e)
        return self._result(len(entries) + (1 if self.patient_ref or self.patient else 0))

    def _repeated(self, e: Entry, first: Entry) -> None:
        """``e`` has the type and id of an earlier entry (a Bulk export or a bundle that lists a
        resource twice). The same resource is read once — counting it twice would count a
        surgery or a lab result twice; two different versions are refused, as revspine cannot
        tell which one is right (the batch drops the later and reports it)."""
        ref = f"{e.rtype}/{e.resource['id']}"
        if e.resource != first.resource:
            raise j.fail(
                e.path,
                f"{ref} is also {first.path}, with different content: "
                "revspine cannot tell which version is right",
            )
        self.warnings.append(
            ImportMessage(f"the same {ref} as {first.path}: read once", e.path, ref)
        )

    def _entry_parts(self, entry: Any, i: int) -> tuple[str | None, Any]:
        """(resourceType, fullUrl) of the bundle entry ``entry`` at index ``i``, checked; None
        for a request-only entry that is skipped (any other entry without a resource raises)."""
        resource = entry.get("resource") if isinstance(entry, dict) else None
        rtype = resource.get("resourceType") if isinstance(resource, dict) else None
        if not isinstance(resource, dict) or not isinstance(rtype, str) or not rtype:
            _no_resource(entry, f"$.entry[{i}]")  # raises, unless the entry is a request
            return None, None
        return rtype, j.text(entry.get("fullUrl"), f"$.entry[{i}].fullUrl")

    def _about_patient(self, e: Entry) -> bool:
        """False (with a warning) when the resource is about another patient."""
        if not self.patient_keys:
            return True
        subject = e.resource.get("subject")
        if isinstance(subject, dict):
            ref = subject.get("reference")
            if isinstance(ref, str) and ref in self.patient_keys:
                return True  # the common case: the subject is this bundle's patient
        ref = j.reference(e.resource.get("subject")) or j.reference(e.resource.get("patient"))
        if ref is None or ref in self.patient_keys:
            return True
        if any(ref.endswith("/" + key) for key in self.patient_keys if key.startswith("Patient/")):
            return True
        self.warn(e, f"refers to another patient ({ref}); not used")
        return False

    def _patient(self, e: Entry, full_url: str | None) -> None:
        r = e.resource
        if self.patient_keys or self.patient:
            raise j.fail(e.path, "the bundle holds more than one Patient; revspine reads one")
        rid = r.get("id")
        if isinstance(rid, str):
            self.patient_keys.add(f"Patient/{rid}")
            self.patient_ref = f"Patient/{rid}"
        if full_url:
            self.patient_keys.add(full_url)
        gender = j.text_of(r, "gender", e)
        if gender in ("female", "male", "other"):
            self.patient["sex"] = gender
        birth, partial = j.date_of(r, "birthDate", e)
        if birth is not None:
            self.patient["birth_date"] = birth
            if self.as_of is not None:
                age = _years(birth, self.as_of)
                if not 0 <= age <= 120:
                    raise j.fail(
                        f"{e.path}.birthDate",
                        f"age {age} on {self.as_of.isoformat()} is outside 0-120",
                    )
                self.patient["age"] = age
        elif partial:
            self.warn(e, "birthDate is not a full date; age not derived", f"{e.path}.birthDate")
        if r.get("deceasedBoolean") is True or r.get("deceasedDateTime"):
            self.warn(e, "the patient is recorded as deceased")
        for i, ident in enumerate(j.arr(r.get("identifier"), f"{e.path}.identifier")):
            ident = j.obj(ident, f"{e.path}.identifier[{i}]")
            if ident.get("system") == j.CASE_ID_SYSTEM and isinstance(ident.get("value"), str):
                self.case_id = ident["value"]

    def _result(self, count: int) -> ImportResult:
        data: dict[str, Any] = {}
        if self.case_id is not None:
            data["case_id"] = self.case_id[:64]
        if self.as_of is not None:
            data["assessment_date"] = self.as_of
        patient = dict(self.patient)
        if self.weight.seen:
            patient["weight"] = self.weight.value
        if self.height.seen:
            patient["height"] = self.height.value
        data["patient"] = patient
        data["surgeries"] = self.surgeries
        data["labs"] = self.labs
        symptoms = {
            key: best.value
            for key, best in (
                ("pain_nrs", self.nrs["overall"]),
                ("back_pain_nrs", self.nrs["back"]),
                ("leg_pain_nrs", self.nrs["leg"]),
            )
            if best.seen
        }
        data["symptoms"] = symptoms
        comorbidities: dict[str, Any] = {}
        psychosocial: dict[str, Any] = {}
        if self.smoking_obs.seen:
            comorbidities["smoking_status"] = self.smoking_obs.value
        elif self.smoking_cond:
            order = ("current", "former", "never")
            comorbidities["smoking_status"] = min(self.smoking_cond, key=order.index)
        for target, values in self.flags.items():
            place = _FLAG_PLACES.get(target)
            if place is None:
                section, name = target.split(".", 1)
                place = _FLAG_PLACES[target] = (section == "comorbidities", name)
            if len(values) == 1:  # one record: nothing to resolve
                chosen = values[0][0]
            else:
                chosen = _resolve_flag(values)
                if len({v for v, _ in values}) > 1:
                    refs = ", ".join(ref for _, ref in values)
                    self.warnings.append(
                        ImportMessage(f"conflicting records for {target} ({refs}): {chosen!r} used")
                    )
            (comorbidities if place[0] else psychosocial)[place[1]] = chosen
        for target, best in self.phq9.items():
            if best.seen:
                psychosocial[target.split(".")[1]] = best.value
        if self.opioid:
            psychosocial["daily_opioid_use"] = any(self.opioid) or psychosocial.get(
                "daily_opioid_use", False
            )
        if "phq9_item9" in psychosocial and "phq9_total" in psychosocial:
            if psychosocial["phq9_item9"] > psychosocial["phq9_total"]:
                self.warnings.append(
                    ImportMessage("PHQ-9 item 9 is above the PHQ-9 total: check the scores")
                )
        data["comorbidities"] = comorbidities
        data["psychosocial"] = psychosocial
        if self.allergies is not None:
            data["allergies"] = self.allergies
        try:
            case = Case.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise FhirParseError(
                f"the imported case is invalid at {where}: {first['msg']}", "$"
            ) from None
        unmapped = [
            UnmappedItem(rtype, system, code, slot[1], slot[0], slot[2])
            for (rtype, system, code), slot in self.unmapped.items()
        ]
        unmapped.sort(key=lambda u: (u.resource_type, -u.count, u.code_system or "", u.code or ""))
        return ImportResult(
            case=case,
            unmapped=unmapped,
            warnings=self.warnings,
            notes=self.notes,
            patient_ref=self.patient_ref,
            resources=count,
        )


_FLAG_PLACES: dict[str, tuple[bool, str]] = {}
"""Flag target → (in comorbidities, field name): the few targets of ``targets.csv``."""


def _skip(st: State, e: Entry) -> None:
    """Resources read only through references (Medication)."""


_HANDLERS: dict[str, Callable[[State, Entry], None]] = {
    "Observation": observation,
    "Condition": condition,
    "Procedure": procedure,
    "AllergyIntolerance": allergy,
    "MedicationStatement": medication,
    "MedicationRequest": medication,
    "Medication": _skip,  # read through references
    "Device": device,
}


_ENTRY_PATHS = tuple(f"$.entry[{i}].resource" for i in range(512))
"""``$.entry[i].resource`` for the first entries: the same strings for every bundle, made once."""


def _entry_path(i: int) -> str:
    """The JSON path of the resource of entry ``i``."""
    return _ENTRY_PATHS[i] if i < len(_ENTRY_PATHS) else f"$.entry[{i}].resource"


def _no_resource(entry: Any, path: str) -> None:
    """The bundle entry at ``path`` holds no usable resource: skip a request-only entry (DELETE,
    GET, HEAD), raise the parse error for anything else."""
    entry = j.obj(entry, path)
    resource = entry.get("resource")
    if resource is None:
        method = (entry.get("request") or {}).get("method")
        if method in ("DELETE", "GET", "HEAD"):
            return
        raise j.fail(f"{path}.resource", "bundle entry has no resource")
    j.obj(resource, f"{path}.resource")
    raise j.fail(f"{path}.resource.resourceType", "resource has no resourceType")


def _resolve_flag(values: list[tuple[Any, str]]) -> Any:
    """Several records for one field: any positive wins (true; cancer active > history > none)."""
    ranked = [v for v, _ in values]
    for best in (True, "active", "history"):
        if best in ranked:
            return best
    return ranked[-1]


def _years(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
