"""Observation handlers: labs (LOINC + UCUM), body weight and height, smoking status, pain
scores and PHQ-9, as ``codes.csv`` maps them."""

from __future__ import annotations

from datetime import date
from typing import Any

from revspine._memo import remember
from revspine.adapters.fhir import _json as j
from revspine.adapters.fhir._maps import CodeRow
from revspine.adapters.fhir._state import Entry, State
from revspine.domain.units import ANALYTES, check_unit
from revspine.errors import UnitError

__all__ = ["observation"]

_SKIP_OBS_STATUS = frozenset({"cancelled", "entered-in-error", "registered"})


def observation(st: State, e: Entry) -> None:
    r = e.resource
    rows, hit = _code_rows(st, e)
    if not rows or hit is None:
        st.miss_concept(e, r.get("code"), f"{e.path}.code")
        return
    target = rows[0].target
    if target.startswith(("ignore:", "refuse:")):
        st.miss("Observation", hit, reason=target.split(":", 1)[1])
        if target.startswith("refuse:"):
            st.warn(e, target.split(":", 1)[1])
        return
    status = j.text_of(r, "status", e)
    if status in _SKIP_OBS_STATUS:
        st.warn(e, f"status '{status}': not used")
        return
    when = _effective(st, e)
    if target.startswith("lab:"):
        _lab(st, e, target[4:], hit, when)
    elif target in ("patient.weight", "patient.height"):
        analyte = target.split(".")[1]
        q = _quantity(st, e, analyte, hit)
        if q is not None:
            (st.weight if analyte == "weight" else st.height).offer(q, when)
    elif target == "smoking":
        _smoking_value(st, e, when)
    elif target == "nrs":
        _nrs(st, e, when)
    elif target in st.phq9:
        score = _score(st, e, 3 if target.endswith("item9") else 27)
        if score is not None:
            st.phq9[target].offer(score, when)


def _code_rows(st: State, e: Entry) -> tuple[tuple[CodeRow, ...], j.Coding | None]:
    """The ``codes.csv`` rows of the first coding of ``code`` that has any, and that coding."""
    cc = e.resource.get("code")
    return st.by_concept("Observation.code", e, cc, _read_code_rows)


def _read_code_rows(st: State, e: Entry, cc: Any) -> tuple[tuple[CodeRow, ...], j.Coding | None]:
    rows: tuple[CodeRow, ...] = ()
    hit = None
    for coding in j.codings(cc, f"{e.path}.code"):
        rows = st.maps.lookup("Observation", coding[0], coding[1])
        if rows:
            hit = coding
            break
    return rows, hit


def _effective(st: State, e: Entry) -> date | None:
    r = e.resource
    for key in ("effectiveDateTime", "effectiveInstant"):
        if key in r:
            when, partial = j.date_of(r, key, e)
            if partial:
                st.warn(e, "effective date is not a full date: treated as undated")
            return when
    if "effectivePeriod" in r:
        period = j.obj(r["effectivePeriod"], f"{e.path}.effectivePeriod")
        when, partial = j.parse_date(period.get("start"), f"{e.path}.effectivePeriod.start")
        if when is None and "end" in period:
            when, partial = j.parse_date(period.get("end"), f"{e.path}.effectivePeriod.end")
        return when
    if "issued" in r:
        when, _ = j.date_of(r, "issued", e)
        st.note(e, "no effective date: the issued date is used")
        return when
    return None


def _quantity(
    st: State, e: Entry, analyte: str, coding: tuple[str, str, str | None]
) -> dict[str, Any] | None:
    """valueQuantity as {value, unit}, its unit checked against revspine's unit table."""
    r = e.resource
    if "valueQuantity" not in r:
        what = "no value" if not any(k.startswith("value") for k in r) else "a non-Quantity"
        st.warn(e, f"{what} for {ANALYTES[analyte].name}: not used")
        return None
    vq = r["valueQuantity"]
    if type(vq) is not dict:
        vq = j.obj(vq, f"{e.path}.valueQuantity")
    value = vq.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise j.fail(f"{e.path}.valueQuantity.value", f"expected a number, got {j._kind(value)}")
    if vq.get("comparator"):
        st.warn(
            e,
            f"censored value ({vq['comparator']}{value}) for {ANALYTES[analyte].name}: not used",
        )
        return None
    code, unit, system = vq.get("code"), vq.get("unit"), vq.get("system")
    key = (analyte, code, unit, system)
    plain = type(code) in _PLAIN and type(unit) in _PLAIN and type(system) in _PLAIN
    if plain:
        unit_text = _units.get(key)
        if unit_text is not None:
            return {"value": float(value), "unit": unit_text}
    number, unit_text = _unit_text(e, analyte, coding, value, code, unit, system)
    if plain:
        remember(_units, key, unit_text, _UNIT_CACHE_SIZE)
    return {"value": number, "unit": unit_text}


_PLAIN = (str, type(None))  # JSON values that can key the unit cache
_UNIT_CACHE_SIZE = 1024
_units: dict[tuple[str, Any, Any, Any], str] = {}
"""(analyte, code, unit, system) of a valueQuantity → its checked unit text (refusals are not
remembered, so they raise afresh): extracts repeat the same few units."""


def _unit_text(
    e: Entry,
    analyte: str,
    coding: tuple[str, str, str | None],
    value: float,
    code: Any,
    unit: Any,
    system: Any,
) -> tuple[float, str]:
    """``value`` as a float and the unit of its valueQuantity (UCUM code, else unit, else code),
    checked against revspine's unit table; a missing or unknown unit is a parse error."""
    path = f"{e.path}.valueQuantity"
    unit_text = code if system == j.UCUM and isinstance(code, str) and code else None
    unit_text = unit_text or (unit if isinstance(unit, str) and unit else None)
    unit_text = unit_text or (code if isinstance(code, str) and code else None)
    if unit_text is None:
        label = f"{e.ref} ({coding[0] or 'no system'}|{coding[1]})"
        raise j.fail(path, f"{label}: {ANALYTES[analyte].name} has no unit; refused")
    number = float(value)
    try:
        check_unit(analyte, unit_text)
    except UnitError as exc:
        label = f"{e.ref} ({coding[0] or 'no system'}|{coding[1]})"
        raise j.fail(path, f"{label}: unit {unit_text!r} refused: {exc}") from None
    return number, unit_text


def _lab(st: State, e: Entry, test: str, coding: tuple[str, str, str | None], when: Any) -> None:
    q = _quantity(st, e, test, coding)
    if q is None:
        return
    lab: dict[str, Any] = {"test": test, **q}
    if when is not None:
        lab["date"] = when
    st.labs.append(lab)


def _value_rows(st: State, e: Entry) -> tuple[tuple[CodeRow, ...], str]:
    """The ``value`` rows of ``valueCodeableConcept``'s codings, and its display text."""
    cc = e.resource.get("valueCodeableConcept")
    return st.by_concept("Observation.value", e, cc, _read_value_rows)


def _read_value_rows(st: State, e: Entry, cc: Any) -> tuple[tuple[CodeRow, ...], str]:
    rows = tuple(
        row
        for system, code, _ in j.codings(cc, f"{e.path}.valueCodeableConcept")
        for row in st.maps.lookup("value", system, code)
    )
    return rows, j.concept_text(cc)


def _smoking_value(st: State, e: Entry, when: date | None) -> None:
    rows, label = _value_rows(st, e)
    values = [r.target.split("=", 1)[1] for r in rows if r.target.startswith("smoking=")]
    if not values and label:
        rules = st.maps.match_text("smoking", label)
        values = [r.target.split("=", 1)[1] for r in rules[:1]]
        if values:
            st.note(e, f"smoking status '{label}' read by keyword (unverified)")
    if values:
        st.smoking_obs.offer(values[0], when)
    else:
        st.miss_concept(e, e.resource.get("valueCodeableConcept"), f"{e.path}.valueCodeableConcept")
        st.warn(e, f"smoking status value {label or '(none)'!r} not recognised")


def _number(st: State, e: Entry) -> float | None:
    r = e.resource
    if "valueInteger" in r:
        v = r["valueInteger"]
    elif "valueQuantity" in r:
        v = j.obj(r["valueQuantity"], f"{e.path}.valueQuantity").get("value")
    else:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise j.fail(f"{e.path}.value[x]", f"expected a number, got {j._kind(v)}")
    return float(v)


def _score(st: State, e: Entry, top: int) -> int | None:
    value = _number(st, e)
    if value is None:
        rows, _ = _value_rows(st, e)
        scores = [int(r.target.split("=")[1]) for r in rows if r.target.startswith("score=")]
        value = float(scores[0]) if scores else None
    if value is None or value != int(value) or not 0 <= value <= top:
        st.warn(e, f"score {value!r} is not an integer 0-{top}: not used")
        return None
    return int(value)


def _nrs(st: State, e: Entry, when: date | None) -> None:
    score = _score(st, e, 10)
    if score is None:
        return
    sites, found = _pain_sites(st, e)
    if len(found) > 1:
        st.note(e, f"pain site {sites!r} is ambiguous: recorded as overall pain")
    site = next(iter(found)) if len(found) == 1 else "overall"
    st.nrs[site].offer(score, when)


def _pain_sites(st: State, e: Entry) -> tuple[str, frozenset[str]]:
    """The text of ``bodySite`` and the pain sites its keywords name."""
    body = e.resource.get("bodySite")
    return st.by_concept("Observation.bodySite", e, body, _read_pain_sites)


def _read_pain_sites(st: State, e: Entry, body: Any) -> tuple[str, frozenset[str]]:
    sites = j.concept_text(body) if body else ""
    rules = st.maps.match_text("pain_site", sites)
    return sites, frozenset(r.target.split("=")[1] for r in rules)
