"""Condition, Procedure, AllergyIntolerance, MedicationStatement/Request and Device handlers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter, ValidationError

from revspine._memo import remember
from revspine.adapters.fhir import _json as j
from revspine.adapters.fhir._state import Entry, State
from revspine.domain.case import Segment

__all__ = ["allergy", "condition", "device", "medication", "procedure"]

_SEGMENT = TypeAdapter(Segment)
_LEVEL_RE = re.compile(r"\b([CTL]\d{1,2})\s*[-/\u2013]\s*([CTLS]?\d{1,2})\b", re.IGNORECASE)
_ACTIVE = frozenset({"active", "recurrence", "relapse"})
_INACTIVE = frozenset({"inactive", "remission", "resolved"})
_UNCONFIRMED = frozenset({"unconfirmed", "provisional", "differential"})
_CURRENT_MED = frozenset({"active", "on-hold", "intended"})
_DONE_PROCEDURE = frozenset({"completed", "in-progress", "unknown"})
_SEVERITY_ORDER = ("mild", "moderate", "severe")
_BOOL = {"true": True, "false": False}
# Surgery details read from a revspine extension, else from the procedure's display text.
_SURGERY_DETAILS = (
    (j.EXT_INSTRUMENTED, "instrumented", "procedure.instrumented"),
    (j.EXT_APPROACH, "approach", "procedure.approach"),
    (j.EXT_INTERBODY, "interbody", "procedure.interbody"),
)


def condition(st: State, e: Entry) -> None:
    r = e.resource
    verification = j.status_of(r, "verificationStatus", e)
    clinical = j.status_of(r, "clinicalStatus", e)
    plan = st.by_concept(
        "Condition.plan", e, r.get("code"), _condition_plan, (verification, clinical)
    )
    for op, a, b in plan:
        if op == _FLAG:
            st.flags.setdefault(a, []).append((b, e.ref))
        elif op == _NOTE:
            st.note(e, a)
        elif op == _SMOKE:
            st.smoking_cond.append(a)
        else:
            st.miss("Condition", a, b)


# What a Condition does, as (op, a, b) steps: a flag (target, value), a note (message), a smoking
# status (value) or an unmapped code (coding, text). The steps depend only on the code, the
# verification and the clinical status, so for a concept of a common shape they are remembered.
_FLAG, _NOTE, _SMOKE, _MISS = 0, 1, 2, 3
_Plan = tuple[tuple[int, Any, Any], ...]


def _condition_plan(
    st: State, e: Entry, cc: Any, verification: str | None, clinical: str | None
) -> _Plan:
    """The steps of a Condition with code ``cc`` and these statuses (``e`` only names the JSON
    path of an error)."""
    label, targets, keyword = _condition_meaning(st, e)
    if not targets:
        found = j.codings(cc, f"{e.path}.code")
        return ((_MISS, found[0] if found else None, j.concept_text(cc) or None),)
    if verification == "entered-in-error":
        return ((_NOTE, f"'{label}' entered in error: not used", None),)
    if verification in _UNCONFIRMED:
        return ((_NOTE, f"'{label}' is {verification}: not used", None),)
    refuted = verification == "refuted"
    plan: list[tuple[int, Any, Any]] = []
    if keyword:
        plan.append((_NOTE, f"'{label}' mapped by display text (unverified keyword rule)", None))
    for target, status in targets:
        plan.extend(_condition_steps(target, status, refuted, clinical, label))
    return tuple(plan)


_Targets = Sequence[tuple[str, str]]
"""(target, status) pairs: status is ``note`` or ``smoking`` for those targets, else the
``targets.csv`` status rule (``current`` when the target has none)."""


def _condition_meaning(st: State, e: Entry) -> tuple[str, _Targets, bool]:
    """(label, targets, keyword) of a Condition's ``code``: its display text, the case targets
    it maps to (with their status rule) and whether they were found by keyword."""
    cc = e.resource.get("code")
    return st.by_concept("Condition.code", e, cc, _read_condition_code)


def _read_condition_code(st: State, e: Entry, cc: Any) -> tuple[str, _Targets, bool]:
    """:func:`_condition_meaning`, worked out."""
    label = j.concept_text(cc)
    targets, keyword = _condition_targets(st, e, label)
    statuses = []
    for target in targets:
        if target.startswith("note:"):
            status = "note"
        elif target.startswith("smoking="):
            status = "smoking"
        else:
            rule = st.maps.targets.get(target)
            status = rule.status if rule else "current"
        statuses.append((target, status))
    return label, tuple(statuses), keyword


def _condition_targets(st: State, e: Entry, label: str) -> tuple[list[str], bool]:
    """Case targets of a Condition's codes, else of its display text ``label`` (keyword=True)."""
    cc = e.resource.get("code")
    targets: list[str] = []
    for system, code, _ in j.codings(cc, f"{e.path}.code"):
        targets += [row.target for row in st.maps.lookup("Condition", system, code)]
    if targets:
        return list(dict.fromkeys(targets)), False
    if not label:
        return [], False
    rules = st.maps.match_text("condition", label)
    smoking = st.maps.match_text("smoking", label)[:1]
    return list(dict.fromkeys(r.target for r in [*rules, *smoking])), True


def _condition_steps(
    target: str, status: str, refuted: bool, clinical: str | None, label: str
) -> list[tuple[int, Any, Any]]:
    if status == "note":
        return [] if refuted else [(_NOTE, target[5:], None)]
    if status == "smoking":
        return [] if refuted else [(_SMOKE, target.split("=")[1], None)]
    if refuted:
        return [(_FLAG, target, "none" if status == "cancer" else False)]
    if status == "cancer":
        return [(_FLAG, target, "history" if clinical in _INACTIVE else "active")]
    if status == "history" or clinical is None or clinical in _ACTIVE:
        return [(_FLAG, target, True)]
    return [(_NOTE, f"'{label}' is {clinical}: {target} left unknown", None)]


def procedure(st: State, e: Entry) -> None:
    r = e.resource
    cc = r.get("code")
    label, kind, keyword = st.by_concept("Procedure.code", e, cc, _read_procedure_code)
    if kind is None:
        st.miss_concept(e, cc, f"{e.path}.code")
        return
    status = j.text_of(r, "status", e)
    if status is not None and status not in _DONE_PROCEDURE:
        st.warn(e, f"spine surgery '{label}' has status '{status}': not used")
        return
    if keyword:
        st.note(e, f"'{label}' read as a prior {kind} by display text (unverified)")
    surgery: dict[str, Any] = {"type": kind}
    when, partial = None, False
    if "performedDateTime" in r:
        when, partial = j.date_of(r, "performedDateTime", e)
    elif "performedPeriod" in r:
        period = j.obj(r["performedPeriod"], f"{e.path}.performedPeriod")
        when, partial = j.parse_date(period.get("start"), f"{e.path}.performedPeriod.start")
    if partial or ("performedString" in r and when is None):
        st.warn(e, "surgery date is not a full date: recorded as undated")
    if when is not None:
        surgery["date"] = when
    sites = [j.concept_text(s) for s in j.arr(r.get("bodySite"), f"{e.path}.bodySite")]
    where = " | ".join([*sites, label])
    levels, not_segments, region = _where(st, where)
    for text in not_segments:
        st.warn(e, f"'{text}' is not one motion segment: level not recorded")
    if levels:
        surgery["levels"] = list(levels)
    if region is not None:
        surgery["region"] = region
    ext = _extensions(r, e.path)
    for (url, key, _), value in zip(_SURGERY_DETAILS, _details(st, label), strict=True):
        if url in ext:
            surgery[key] = ext[url]
        elif value is not _NONE:
            surgery[key] = value
    complications = []
    for i, comp in enumerate(j.arr(r.get("complication"), f"{e.path}.complication")):
        text = j.concept_text(j.obj(comp, f"{e.path}.complication[{i}]"))
        rules = st.maps.match_text("procedure.complication", text)
        complications.append(rules[0].target.split("=")[1] if rules else "other")
    if complications:
        surgery["complications"] = list(dict.fromkeys(complications))
    st.surgeries.append(surgery)


def _read_procedure_code(st: State, e: Entry, cc: Any) -> tuple[str, str | None, bool]:
    """(label, kind, keyword) of a Procedure's ``code``: its display text, the prior surgery it
    names (None when none) and whether that was found by keyword."""
    label = j.concept_text(cc)
    kind = None
    for system, code, _ in j.codings(cc, f"{e.path}.code"):
        rows = st.maps.lookup("Procedure", system, code)
        if rows:
            kind = rows[0].target.split("=")[1]
            break
    keyword = False
    if kind is None and label:
        rules = st.maps.match_text("procedure", label)
        kind = rules[0].target.split("=")[1] if rules else None
        keyword = kind is not None
    return label, kind, keyword


def _where(st: State, where: str) -> tuple[tuple[str, ...], tuple[str, ...], str | None]:
    """(levels, texts that are not one motion segment, region) of a surgery's site text
    ``where`` (remembered: the same few texts recur)."""
    cache = st.maps.memo("Procedure.where")
    found: tuple[tuple[str, ...], tuple[str, ...], str | None] | None = cache.get(where)
    if found is None:
        levels: list[str] = []
        not_segments: list[str] = []
        for m in _LEVEL_RE.finditer(where):
            try:
                level = _SEGMENT.validate_python(f"{m.group(1)}-{m.group(2)}")
            except ValidationError:
                not_segments.append(m.group(0))
                continue
            if level not in levels:
                levels.append(level)
        regions = st.maps.match_text("procedure.region", where)
        region = regions[0].target.split("=")[1] if regions else None
        found = remember(cache, where, (tuple(levels), tuple(not_segments), region))
    return found


_NONE: Any = object()  # no keyword rule gave a surgery detail


def _details(st: State, label: str) -> tuple[Any, ...]:
    """The value of each :data:`_SURGERY_DETAILS` read from a procedure's display text
    ``label`` (:data:`_NONE` when no rule fires), remembered per label."""
    cache = st.maps.memo("Procedure.details")
    found: tuple[Any, ...] | None = cache.get(label)
    if found is None:
        values = []
        for _, _, context in _SURGERY_DETAILS:
            rules = st.maps.match_text(context, label)
            if rules:
                value = rules[0].target.split("=")[1]
                values.append(_BOOL.get(value, value))
            else:
                values.append(_NONE)
        found = remember(cache, label, tuple(values))
    return found


def allergy(st: State, e: Entry) -> None:
    r = e.resource
    if st.allergies is None:
        st.allergies = []
    cc = r.get("code")
    label = j.concept_text(cc)
    verification = j.status_of(r, "verificationStatus", e)
    clinical = j.status_of(r, "clinicalStatus", e)
    if st.maps.match_text("allergy.none", label):
        return
    if verification in ("refuted", "entered-in-error") or clinical in ("inactive", "resolved"):
        st.note(e, f"allergy '{label}' is {verification or clinical}: not used")
        return
    rules = st.maps.match_text("allergy.substance", label)
    substance = rules[0].target.split("=")[1] if rules else "other"
    if substance == "other":
        st.miss_concept(e, cc, f"{e.path}.code", "recorded as an 'other' allergy")
    allergy: dict[str, Any] = {"substance": substance}
    severities = []
    reaction_text = []
    for i, reaction in enumerate(j.arr(r.get("reaction"), f"{e.path}.reaction")):
        reaction = j.obj(reaction, f"{e.path}.reaction[{i}]")
        if reaction.get("severity") in _SEVERITY_ORDER:
            severities.append(reaction["severity"])
        for m in j.arr(reaction.get("manifestation"), f"{e.path}.reaction[{i}].manifestation"):
            reaction_text.append(j.concept_text(m))
        if isinstance(reaction.get("description"), str):
            reaction_text.append(reaction["description"])
    found = st.maps.match_text("allergy.reaction", " | ".join(reaction_text))
    if found:
        allergy["reaction"] = found[0].target.split("=")[1]
    elif r.get("type") == "intolerance":
        allergy["reaction"] = "intolerance"
    if severities:
        allergy["severity"] = max(severities, key=_SEVERITY_ORDER.index)
    elif r.get("criticality") == "high":
        allergy["severity"] = "severe"
        st.note(e, "criticality 'high' recorded as a severe allergy")
    st.allergies.append(allergy)


def medication(st: State, e: Entry) -> None:
    r = e.resource
    cc = r.get("medicationCodeableConcept")
    if cc is None:
        ref = j.reference(r.get("medicationReference"))
        med = _resolve(st, ref, r) if ref else None
        cc = med.get("code") if med else None
    label = j.concept_text(cc)
    classes = [rule.target.split("=")[1] for rule in st.maps.match_text("medication", label)]
    if not classes:
        st.miss_concept(e, cc, f"{e.path}.medication[x]")
        return
    status = j.text_of(r, "status", e)
    if e.rtype == "MedicationStatement" and status == "not-taken":
        if "opioid" in classes:
            st.opioid.append(False)
        return
    if status not in _CURRENT_MED:
        st.note(e, f"{'/'.join(classes)} '{label}' has status '{status}': not current")
        return
    dosage = r.get("dosage") or r.get("dosageInstruction") or []
    prn = any(isinstance(d, dict) and d.get("asNeededBoolean") is True for d in dosage)
    for kind in dict.fromkeys(classes):
        if kind == "opioid":
            if prn:
                st.note(e, f"opioid '{label}' is as needed: daily use not inferred")
            else:
                st.opioid.append(True)
        else:
            st.warn(e, f"{kind} '{label}' is current: plan its perioperative management")


def _resolve(st: State, ref: str, container: dict[str, Any]) -> dict[str, Any] | None:
    if ref.startswith("#"):
        for c in container.get("contained") or ():
            if isinstance(c, dict) and c.get("id") == ref[1:]:
                return c
        return None
    found = st.index.get(ref)
    if found is None and "/" in ref:
        found = st.index.get("/".join(ref.rsplit("/", 2)[-2:]))
    return found


def device(st: State, e: Entry) -> None:
    label = j.concept_text(e.resource.get("type")) or "device"
    st.note(e, f"implanted device recorded ('{label}'): check MRI conditionality")
    st.miss_concept(e, e.resource.get("type"), f"{e.path}.type", "no case field")


def _extensions(resource: dict[str, Any], path: str) -> dict[str, Any]:
    """revspine extensions of a resource: url → value."""
    out: dict[str, Any] = {}
    for i, ext in enumerate(j.arr(resource.get("extension"), f"{path}.extension")):
        ext = j.obj(ext, f"{path}.extension[{i}]")
        url = ext.get("url")
        if not isinstance(url, str) or not url.startswith(j.REVSPINE):
            continue
        for key in ("valueBoolean", "valueCode", "valueString"):
            if key in ext:
                out[url] = ext[key]
    return out
