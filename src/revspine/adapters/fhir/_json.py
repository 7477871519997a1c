"""Plain-dict helpers for FHIR R4 JSON: typed access with JSON paths in every error, dates,
codings, references. No FHIR library is imported here (the hot path is orjson + dicts)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import orjson

from revspine._memo import remember
from revspine.errors import FhirParseError

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
REVSPINE = "http://revspine.example/fhir"
CASE_ID_SYSTEM = f"{REVSPINE}/NamingSystem/case-id"
EXT_INSTRUMENTED = f"{REVSPINE}/StructureDefinition/procedure-instrumented"
EXT_APPROACH = f"{REVSPINE}/StructureDefinition/procedure-approach"
EXT_INTERBODY = f"{REVSPINE}/StructureDefinition/procedure-interbody"
EXT_RULE_ID = f"{REVSPINE}/StructureDefinition/rule-id"
EXT_EVIDENCE = f"{REVSPINE}/StructureDefinition/evidence"
EXT_BLOCKS_DECISION = f"{REVSPINE}/StructureDefinition/blocks-decision"
EXT_KNOWLEDGE = f"{REVSPINE}/StructureDefinition/knowledge-version"
CS_SURGERY = f"{REVSPINE}/CodeSystem/spine-surgery"
CS_WORKUP = f"{REVSPINE}/CodeSystem/workup"
CS_DISPOSITION = f"{REVSPINE}/CodeSystem/disposition"
CS_RED_FLAG = f"{REVSPINE}/CodeSystem/red-flag"
CS_RECOMMENDATION = f"{REVSPINE}/CodeSystem/recommendation"

_DATE_RE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})"
    r"(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def fail(path: str, message: str) -> FhirParseError:
    """A parse error at JSON ``path``."""
    return FhirParseError(message, path)


def loads(raw: bytes | str, source: str = "$") -> Any:
    """Decode JSON with orjson; a syntax error becomes a :class:`FhirParseError`."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise fail(source, f"not valid JSON: {exc}") from None


def obj(value: Any, path: str) -> dict[str, Any]:
    """``value`` as a JSON object, else a parse error."""
    if not isinstance(value, dict):
        raise fail(path, f"expected a JSON object, got {_kind(value)}")
    return value


def opt_obj(value: Any, path: str) -> dict[str, Any] | None:
    """``value`` as a JSON object, or None when absent."""
    return None if value is None else obj(value, path)


def arr(value: Any, path: str) -> list[Any]:
    """``value`` as a JSON array (absent → empty), else a parse error."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise fail(path, f"expected a JSON array, got {_kind(value)}")
    return value


def text(value: Any, path: str) -> str | None:
    """``value`` as a string (absent → None), else a parse error."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise fail(path, f"expected a string, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


_dates: dict[str, tuple[date | None, bool]] = {}


def parse_date(value: Any, path: str) -> tuple[date | None, bool]:
    """A FHIR date/dateTime/instant → (its calendar date, partial). Partial dates (``2023``,
    ``2023-05``) give ``(None, True)``; anything that is not a FHIR date is a parse error.

    Valid strings are remembered (EHR extracts repeat the same dates), so a date is parsed once."""
    raw = text(value, path)
    if raw is None:
        return None, False
    found = _dates.get(raw)
    if found is None:
        found = remember(_dates, raw, _parse_date_text(raw, path))
    return found


def date_of(resource: dict[str, Any], key: str, e: Any) -> tuple[date | None, bool]:
    """:func:`parse_date` of ``resource[key]`` (``e``: the resource's entry, whose ``path``
    names the JSON path of an error), the path built only when it is needed: a date seen before
    needs none."""
    value = resource.get(key)
    if type(value) is str:
        found = _dates.get(value)
        if found is not None:
            return found
    return parse_date(value, f"{e.path}.{key}")


def text_of(resource: dict[str, Any], key: str, e: Any) -> str | None:
    """:func:`text` of ``resource[key]`` (``e`` as for :func:`date_of`), the path built only
    when the value is not a string."""
    value = resource.get(key)
    if value is None or type(value) is str:
        return value
    return text(value, f"{e.path}.{key}")


def _parse_date_text(raw: str, path: str) -> tuple[date | None, bool]:
    m = _DATE_RE.match(raw)
    if not m:
        raise fail(path, f"{raw!r} is not a FHIR date or dateTime (YYYY-MM-DD[Thh:mm:ss+zz:zz])")
    year, month, day = m.group(1), m.group(2), m.group(3)
    try:
        if day is None:
            date(int(year), int(month or 1), 1)
            return None, True
        return date(int(year), int(month), int(day)), False
    except ValueError as exc:
        raise fail(path, f"{raw!r} is not a valid date: {exc}") from None


def codings(cc: Any, path: str) -> list[Coding]:
    """(system, code, display) of every coding of a CodeableConcept (codings without a code
    are skipped).

    Same checks as :func:`opt_obj` / :func:`arr` / :func:`obj` on each level, written out so that
    the JSON path of an element is built only when it is wrong (this runs for every resource)."""
    if cc is None:
        return []
    if not isinstance(cc, dict):
        raise fail(path, f"expected a JSON object, got {_kind(cc)}")
    items = cc.get("coding")
    if items is None:
        return []
    if not isinstance(items, list):
        raise fail(f"{path}.coding", f"expected a JSON array, got {_kind(items)}")
    out: list[Coding] = []
    for i, coding in enumerate(items):
        if not isinstance(coding, dict):
            raise fail(f"{path}.coding[{i}]", f"expected a JSON object, got {_kind(coding)}")
        code = coding.get("code")
        if code is None:
            continue
        if not isinstance(code, str):
            raise fail(f"{path}.coding[{i}].code", f"expected a string, got {_kind(code)}")
        system = coding.get("system")
        display = coding.get("display")
        out.append(
            (
                system if isinstance(system, str) else "",
                code,
                display if isinstance(display, str) else None,
            )
        )
    return out


def concept_text(cc: Any) -> str:
    """The human text of a CodeableConcept: its ``text`` and every coding display."""
    if not isinstance(cc, dict):
        return ""
    parts = [cc["text"]] if isinstance(cc.get("text"), str) else []
    items = cc.get("coding")
    for c in items if isinstance(items, list) else ():  # codings() reports a malformed one
        if isinstance(c, dict) and isinstance(c.get("display"), str) and c["display"] not in parts:
            parts.append(c["display"])
    return " | ".join(parts)


Coding = tuple[str, str, str | None]
"""(system, code, display) of one coding, as :func:`codings` gives it."""


def simple_concept(cc: Any) -> tuple[Coding | None, str | None] | None:
    """``(coding, text)`` of a CodeableConcept in one of the common, well-formed shapes — a
    ``text`` and at most one coding, every element present a string (``coding`` None when there
    is none) — else None: the caller then takes the general path (:func:`codings`,
    :func:`concept_text`), which also reports what is malformed.

    For such a concept ``codings(cc, path)`` is ``[coding]`` (or ``[]``) and ``concept_text(cc)``
    depends only on ``text`` and the coding's display: the pair is a complete, hashable key for
    what the importer reads from the concept."""
    if type(cc) is not dict:
        return None
    text = cc.get("text")
    if text is not None and type(text) is not str:
        return None
    items = cc.get("coding")
    if not items:
        return (None, text) if items is None or type(items) is list else None
    if type(items) is not list or len(items) != 1:
        return None
    coding = items[0]
    if type(coding) is not dict:
        return None
    system, code, display = coding.get("system"), coding.get("code"), coding.get("display")
    if (
        type(code) is not str
        or type(system) is not str
        or (display is not None and type(display) is not str)
    ):
        return None
    return (system, code, display), text


def status_code(cc: Any, path: str) -> str | None:
    """The first code of a status CodeableConcept (``clinicalStatus``, ``verificationStatus``)."""
    code = _only_code(cc)
    if code is not None:
        return code
    found = codings(cc, path)
    return found[0][1] if found else None


def _only_code(cc: Any) -> str | None:
    """The code of a CodeableConcept of the usual status shape — one coding whose code is a
    string, nothing else to check — else None (the caller then takes :func:`codings`)."""
    if type(cc) is dict:
        items = cc.get("coding")
        if type(items) is list and len(items) == 1 and type(items[0]) is dict:
            code = items[0].get("code")
            if type(code) is str:
                return code
    return None


def status_of(resource: dict[str, Any], key: str, e: Any) -> str | None:
    """:func:`status_code` of ``resource[key]`` (``e``: the resource's entry, whose ``path``
    names the JSON path of an error), the path built only when it is needed."""
    cc = resource.get(key)
    if cc is None:
        return None
    code = _only_code(cc)
    return code if code is not None else status_code(cc, f"{e.path}.{key}")


def reference(value: Any) -> str | None:
    """The ``reference`` string of a Reference, if any."""
    if isinstance(value, dict) and isinstance(value.get("reference"), str):
        ref: str = value["reference"]
        return ref
    return None
