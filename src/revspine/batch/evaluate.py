"""Assess one patient of a batch: the function the local runner and the Spark job share.

* :func:`evaluate_fhir` — the FHIR resources of one patient (grouped from a Bulk Data export, or
  the entries of one Bundle) → a collection Bundle → :func:`~revspine.adapters.fhir.bundle_to_case`
  → :func:`~revspine.engine.assess` → the output row and the full assessment. A record the
  importer refuses (an unknown unit, a bad date, a second Patient…) is dropped, listed as an
  error with its file and line, and the patient is imported again without it: one bad record
  never costs the rest of the patient's data. The row's ``input_errors`` says how many records
  were dropped.
* :func:`evaluate_native` — one native case (a mapping of case fields, e.g. a CSV row).

A case that is invalid as a whole or fails the temporal/consistency checks
(:func:`~revspine.domain.checks.check_case`, as ``revspine assess`` applies them) gets no row:
its error names the Patient record (or the row).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from revspine.batch import fhir_links
from revspine.batch.records import Origin, RecordError
from revspine.batch.rows import assessment_row

if TYPE_CHECKING:
    from revspine.domain.assessment import Assessment
    from revspine.domain.case import Case
    from revspine.knowledge import Knowledge

__all__ = [
    "EvalContext",
    "Item",
    "Outcome",
    "SharedIndex",
    "assessment_json",
    "assessment_line",
    "evaluate_fhir",
    "evaluate_native",
]

_ENTRY_RE = re.compile(r"\$\.entry\[(\d+)\](?:\.resource)?")
"""A bundle entry's JSON path: ``match`` at the start of an error's path, ``sub`` in a reason."""


@dataclass
class SharedIndex:
    """Non-patient resources of a Bulk Data export, read through references: Medications (whole
    resources) and the names of Organizations (sites) and Practitioners (surgeons)."""

    medications: dict[str, tuple[Origin, dict[str, Any]]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def add(self, origin: Origin, resource: dict[str, Any]) -> None:
        """Index one shared resource (other types are ignored)."""
        rtype, rid = resource.get("resourceType"), resource.get("id")
        if not isinstance(rid, str):
            return
        if rtype == "Medication":
            self.medications[f"Medication/{rid}"] = (origin, resource)
        elif rtype in ("Organization", "Practitioner"):
            name = fhir_links.resource_name(resource)
            if name:
                self.names[f"{rtype}/{rid}"] = name


@dataclass
class EvalContext:
    """What every patient of a run is assessed with."""

    knowledge: Knowledge
    as_of: date | None
    """``--as-of``; None: the case's assessment date, else :attr:`default_as_of`."""
    default_as_of: date
    shared: SharedIndex = field(default_factory=SharedIndex)


@dataclass
class Outcome:
    """The result for one patient: a row and the assessment JSON, or none (see ``errors``)."""

    patient_id: str
    row: dict[str, Any] | None
    assessment_json: bytes | None
    errors: list[RecordError]


Item = tuple[Origin, dict[str, Any], str | None]
"""One resource of a patient: its origin, the resource, and its Bundle ``fullUrl`` (if any)."""


def evaluate_fhir(
    patient_id: str,
    items: Sequence[Item],
    ctx: EvalContext,
    *,
    canonical_refs: bool = True,
) -> Outcome:
    """Assess the FHIR resources of one patient (sorted by origin; Patient resources first).

    ``canonical_refs`` rewrites each resource's patient reference to ``Patient/<patient_id>``
    (Bulk Data: the records were grouped by that reference already); a Bundle keeps its own
    references and ``fullUrl``s.
    """
    from revspine.adapters.fhir import bundle_to_case
    from revspine.errors import FhirParseError

    ordered = sorted(items, key=_item_order)
    if canonical_refs:
        for _, resource, _ in ordered:
            fhir_links.set_patient_reference(resource, patient_id)
    ordered += _referenced_medications(ordered, ctx.shared)
    anchor = next(
        (o for o, r, _ in ordered if r.get("resourceType") == "Patient"),
        ordered[0][0] if ordered else Origin("(none)"),
    )
    errors: list[RecordError] = []
    as_of = ctx.as_of or ctx.default_as_of
    while True:
        bundle = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {"fullUrl": full, "resource": r} if full else {"resource": r}
                for _, r, full in ordered
            ],
        }
        try:
            result = bundle_to_case(bundle, as_of=as_of)
            break
        except FhirParseError as exc:
            path = exc.path or "$"
            m = _ENTRY_RE.match(path)
            if m is None or int(m.group(1)) >= len(ordered):
                errors.append(RecordError.at(anchor, "case", exc.reason, patient_id))
                return Outcome(patient_id, None, None, errors)
            # another entry named in the reason is named by its file and line, as the user knows it
            reason = _ENTRY_RE.sub(
                lambda other: _label(ordered, int(other.group(1)), other.group(0)), exc.reason
            )
            origin, resource, _ = ordered.pop(int(m.group(1)))
            where = "$" + path[m.end() :]
            errors.append(
                RecordError.at(origin, "fhir", f"{where}: {reason}", patient_id, _ref(resource))
            )
        except Exception as exc:  # an importer bug must cost one patient, not the whole run
            reason = f"the FHIR import failed ({type(exc).__name__}: {exc}): a revspine bug"
            errors.append(RecordError.at(anchor, "internal", reason, patient_id))
            return Outcome(patient_id, None, None, errors)
    site, surgeon = fhir_links.site_and_surgeon([r for _, r, _ in ordered], ctx.shared.names)
    case = result.case
    if site or surgeon:
        case = case.model_copy(update={"site": site, "surgeon": surgeon})
    return _assess(
        patient_id,
        case,
        as_of,
        anchor,
        ctx,
        errors,
        import_warnings=len(result.warnings),
    )


def evaluate_native(
    patient_id: str, data: dict[str, Any], origin: Origin, ctx: EvalContext
) -> Outcome:
    """Assess one native case (a mapping of case fields)."""
    from revspine.casefile import load_case_data
    from revspine.errors import CaseValidationError, InputError

    try:
        case = load_case_data(data, origin.label())
    except CaseValidationError as exc:
        reason = "; ".join(str(p) for p in exc.problems)
        return Outcome(patient_id, None, None, [RecordError.at(origin, "case", reason, patient_id)])
    except InputError as exc:
        return Outcome(
            patient_id, None, None, [RecordError.at(origin, "case", str(exc), patient_id)]
        )
    as_of = ctx.as_of or case.assessment_date or ctx.default_as_of
    return _assess(patient_id, case, as_of, origin, ctx, [])


def _assess(
    patient_id: str,
    case: Case,
    as_of: date,
    anchor: Origin,
    ctx: EvalContext,
    errors: list[RecordError],
    *,
    import_warnings: int = 0,
) -> Outcome:
    from revspine.domain.checks import check_case
    from revspine.engine import assess
    from revspine.errors import EngineError

    problems = check_case(case, as_of)
    if problems:
        reason = "; ".join(str(p) for p in problems)
        errors.append(RecordError.at(anchor, "case", reason, patient_id))
        return Outcome(patient_id, None, None, errors)
    try:
        assessment = assess(case, ctx.knowledge, as_of)
    except EngineError as exc:
        errors.append(RecordError.at(anchor, "engine", str(exc), patient_id))
        return Outcome(patient_id, None, None, errors)
    row = assessment_row(
        patient_id,
        case,
        assessment,
        input_errors=len(errors),
        import_warnings=import_warnings,
    )
    return Outcome(
        patient_id, row, assessment_line(patient_id, assessment_json(assessment)), errors
    )


def assessment_json(assessment: Assessment) -> bytes:
    """``assessment.model_dump_json(by_alias=True)`` as the UTF-8 bytes pydantic's serializer
    makes (``model_dump_json`` is this call decoded to a str, which the line encodes again)."""
    return assessment.__pydantic_serializer__.to_json(assessment, by_alias=True)


def assessment_line(patient_id: str, assessment_json: str | bytes) -> bytes:
    """One line of ``assessments.jsonl``: ``{"patient_id": …, "assessment": {…}}``, from the
    assessment's JSON (:func:`assessment_json`, or a ``model_dump_json`` str)."""
    import orjson

    if isinstance(assessment_json, str):
        assessment_json = assessment_json.encode()
    # one join: the assessment JSON (kilobytes) is copied once
    return b"".join(
        (b'{"patient_id":', orjson.dumps(patient_id), b',"assessment":', assessment_json, b"}")
    )


def _item_order(item: Item) -> tuple[bool, str, int | None, int | None]:
    """Patient resources first, then by origin (the fields :class:`Origin` compares, in its
    order: the same order as comparing the origins, without a Python ``__lt__`` per pair)."""
    origin, resource, _ = item
    return resource.get("resourceType") != "Patient", origin.file, origin.line, origin.entry


def _referenced_medications(items: list[Item], shared: SharedIndex) -> list[Item]:
    if not shared.medications:
        return []
    found: dict[str, Item] = {}
    for _, r, _ in items:
        if "medicationReference" not in r:  # most records: nothing to look up
            continue
        ref = fhir_links.reference(r.get("medicationReference"))
        key = fhir_links.typed_key(ref, "Medication") if ref else None
        if key and key in shared.medications:
            origin, med = shared.medications[key]
            found.setdefault(key, (origin, med, None))
    return [found[k] for k in sorted(found)]


def _label(items: list[Item], index: int, default: str) -> str:
    """Where entry ``index`` of the patient's bundle came from (``file:line``)."""
    return items[index][0].label() if index < len(items) else default


def _ref(resource: dict[str, Any]) -> str | None:
    rtype, rid = resource.get("resourceType"), resource.get("id")
    if isinstance(rtype, str) and isinstance(rid, str):
        return f"{rtype}/{rid}"
    return rtype if isinstance(rtype, str) else None
