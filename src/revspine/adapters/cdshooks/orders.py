"""Which draft orders are spine surgery, and which problem-list entries mark failed back surgery.

The decisions are data (``maps/spine_orders.csv``): coded rows (CPT, SNOMED CT, revspine-local
codes; each marked ``verified``/``unverified``/``local``) and keyword rules on the order's text.
A coded match wins over a keyword match; the first firing row of each kind wins.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

from revspine.adapters.cdshooks.errors import CdsHooksRequestError
from revspine.errors import FieldProblem, KnowledgeSchemaError

__all__ = ["SpineOrder", "find_spine_orders", "load_order_map", "scope_conditions"]

Planned = Literal[
    "revision_decompression",
    "revision_discectomy",
    "revision_fusion",
    "extension_of_fusion",
    "osteotomy",
    "hardware_revision",
    "other",
]
_KINDS = frozenset(
    {"fusion", "decompression", "discectomy", "hardware", "osteotomy", "disc_replacement", "other"}
)
_PLANNED: dict[str, Planned] = {
    "fusion": "revision_fusion",
    "decompression": "revision_decompression",
    "discectomy": "revision_discectomy",
    "hardware": "hardware_revision",
    "osteotomy": "osteotomy",
}
_LABEL = {
    "revision_fusion": "Revision fusion",
    "extension_of_fusion": "Extension of fusion",
    "revision_decompression": "Revision decompression",
    "revision_discectomy": "Revision discectomy",
    "hardware_revision": "Hardware revision",
    "osteotomy": "Spinal osteotomy",
    "other": "Spine surgery",
}
_SKIPPED_STATUS = frozenset({"revoked", "entered-in-error", "completed", "not-done", "stopped"})
_VERTEBRAE = (
    [f"C{i}" for i in range(1, 8)]
    + [f"T{i}" for i in range(1, 13)]
    + [f"L{i}" for i in range(1, 6)]
    + ["S1"]
)
_RANGE_RE = re.compile(r"\b([CTL]\d{1,2}|S1)\s*(?:-|–|/|to|through)\s*([CTL]\d{1,2}|S1)\b", re.I)


@dataclass(frozen=True)
class _Row:
    context: str
    system: str
    code: str
    match: str
    pattern: re.Pattern[str] | None
    require: re.Pattern[str] | None
    exclude: re.Pattern[str] | None
    target: str
    verified: str
    source: str
    line: int

    def fires(self, text: str) -> bool:
        return (
            self.pattern is not None
            and self.pattern.search(text) is not None
            and (self.require is None or self.require.search(text) is not None)
            and (self.exclude is None or self.exclude.search(text) is None)
        )

    def matches(self, system: str, code: str) -> bool:
        mine, theirs = _norm(self.code), _norm(code)
        same = mine == theirs if self.match == "exact" else theirs.startswith(mine)
        return self.system == system and same


@dataclass(frozen=True)
class OrderMap:
    """The rows of ``maps/spine_orders.csv`` by context, and the file's version."""

    version: str
    rows: dict[str, tuple[_Row, ...]]

    def coded(self, context: str, codings: list[tuple[str, str]]) -> _Row | None:
        """The first coded row of ``context`` that matches one of ``codings``."""
        for row in self.rows.get(context, ()):
            if row.pattern is None and any(row.matches(s, c) for s, c in codings):
                return row
        return None

    def worded(self, context: str, text: str) -> _Row | None:
        """The first keyword row of ``context`` that fires on ``text``."""
        return next((r for r in self.rows.get(context, ()) if r.fires(text)), None)


@dataclass(frozen=True)
class SpineOrder:
    """A draft order recognised as spine surgery."""

    reference: str
    resource_type: str
    resource_id: str | None
    text: str
    kind: str
    revision: bool
    extension: bool
    matched_by: str
    verified: str
    levels: tuple[str, ...] = ()

    @property
    def planned(self) -> Planned:
        """The case's ``planned_procedure.procedure`` for this order."""
        if self.kind == "fusion" and self.extension:
            return "extension_of_fusion"
        return _PLANNED.get(self.kind, "other")

    @property
    def label(self) -> str:
        """A short human name (``Revision fusion``)."""
        return _LABEL[self.planned]


def find_spine_orders(draft_orders: Any, selections: Any = None) -> list[SpineOrder]:
    """The spine operations among ``context.draftOrders`` (for ``order-select``, only the
    ``selections`` when given). A missing bundle means no orders; a malformed one is a 400."""
    if draft_orders is None:
        return []
    if not isinstance(draft_orders, dict) or draft_orders.get("resourceType") != "Bundle":
        raise CdsHooksRequestError("context.draftOrders must be a FHIR Bundle")
    entries = draft_orders.get("entry") or []
    if not isinstance(entries, list):
        raise CdsHooksRequestError("context.draftOrders.entry must be an array")
    chosen = {s for s in selections if isinstance(s, str)} if isinstance(selections, list) else None
    found = []
    for i, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        rtype, rid = resource.get("resourceType"), resource.get("id")
        if rtype not in ("ServiceRequest", "Procedure"):
            continue
        ref = f"{rtype}/{rid}" if isinstance(rid, str) else f"{rtype} at draftOrders.entry[{i}]"
        if chosen and ref not in chosen:
            continue
        if resource.get("status") in _SKIPPED_STATUS:
            continue
        order = _classify(resource, ref, rid if isinstance(rid, str) else None)
        if order is not None:
            found.append(order)
    return found


def scope_conditions(resources: Iterable[dict[str, Any]]) -> list[str]:
    """Descriptions of the Conditions that mark failed back surgery (refuted ones excluded)."""
    table = load_order_map()
    out = []
    for r in resources:
        if r.get("resourceType") != "Condition" or _refuted(r):
            continue
        codings, text = _concept(r.get("code"))
        row = table.coded("scope", codings) or (table.worded("scope", text) if text else None)
        if row is not None:
            out.append(text or " ".join(f"{s}|{c}" for s, c in codings))
    return out


def _classify(resource: dict[str, Any], ref: str, rid: str | None) -> SpineOrder | None:
    table = load_order_map()
    codings, text = _concept(resource.get("code"))
    row = table.coded("order", codings)
    if row is not None:
        how = f"{_system_name(row.system)} {row.code}"
    else:
        row = table.worded("order", text) if text else None
        how = f"text {text[:60]!r}"
    if row is None:
        return None
    kind, _, flag = row.target.partition("+")
    return SpineOrder(
        reference=ref,
        resource_type=str(resource["resourceType"]),
        resource_id=rid,
        text=text or how,
        kind=kind,
        revision=flag in ("revision", "extension")
        or table.worded("order.modifier", text) is not None,
        extension=flag == "extension"
        or getattr(table.worded("order.modifier", text), "target", "") == "extension",
        matched_by=how,
        verified=row.verified,
        levels=_levels(text),
    )


def _concept(cc: Any) -> tuple[list[tuple[str, str]], str]:
    if not isinstance(cc, dict):
        return [], ""
    codings: list[tuple[str, str]] = []
    words = [cc["text"]] if isinstance(cc.get("text"), str) else []
    for c in cc.get("coding") or []:
        if not isinstance(c, dict):
            continue
        if isinstance(c.get("system"), str) and isinstance(c.get("code"), str):
            codings.append((c["system"], c["code"]))
        if isinstance(c.get("display"), str):
            words.append(c["display"])
    return codings, " · ".join(dict.fromkeys(w.strip() for w in words if w.strip()))


def _refuted(r: dict[str, Any]) -> bool:
    codings, _ = _concept(r.get("verificationStatus"))
    return any(code in ("refuted", "entered-in-error") for _, code in codings)


def _levels(text: str) -> tuple[str, ...]:
    """Motion segments named as a range (``L4-S1`` → L4-L5, L5-S1); () when none or unclear."""
    m = _RANGE_RE.search(text)
    if not m:
        return ()
    names = [m.group(1).upper(), m.group(2).upper()]
    if any(n not in _VERTEBRAE for n in names):
        return ()
    lo, hi = sorted(_VERTEBRAE.index(n) for n in names)
    return tuple(f"{_VERTEBRAE[i]}-{_VERTEBRAE[i + 1]}" for i in range(lo, hi))


def _norm(code: str) -> str:
    return code.strip().replace(".", "").upper()


def _system_name(system: str) -> str:
    return {
        "http://www.ama-assn.org/go/cpt": "CPT",
        "http://snomed.info/sct": "SNOMED CT",
        "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
    }.get(system, system.rsplit("/", 1)[-1])


def _regex(line: int, pattern: str) -> re.Pattern[str] | None:
    if not pattern:
        return None
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise _problem(line, f"bad regular expression {pattern!r}: {exc}") from None


def _problem(line: int, message: str) -> KnowledgeSchemaError:
    return KnowledgeSchemaError(
        "cdshooks/maps/spine_orders.csv", [FieldProblem(f"line {line}", message)]
    )


def _lines() -> tuple[dict[str, str], Iterator[tuple[int, dict[str, str]]]]:
    text = resources.files("revspine.adapters.cdshooks").joinpath("maps", "spine_orders.csv")
    header: dict[str, str] = {}
    body: list[tuple[int, str]] = []
    for number, line in enumerate(text.read_text("utf-8").splitlines(), start=1):
        if line.startswith("#"):
            key, _, value = line[1:].partition(":")
            header.setdefault(key.strip(), value.strip())
        elif line.strip():
            body.append((number, line))
    reader = csv.reader(io.StringIO("\n".join(line for _, line in body)))
    columns = next(reader)
    numbers = [n for n, _ in body[1:]]

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        for i, values in enumerate(reader):
            if len(values) != len(columns):
                raise _problem(numbers[i], f"{len(values)} columns, expected {len(columns)}")
            yield numbers[i], dict(zip(columns, values, strict=True))

    return header, rows()


@functools.cache
def load_order_map() -> OrderMap:
    """Load and check ``maps/spine_orders.csv`` (cached); a bad row fails fast with its line."""
    header, rows = _lines()
    if "version" not in header or "source" not in header:
        raise _problem(1, "missing '# source:' or '# version:' header line")
    table: dict[str, list[_Row]] = {}
    for line, row in rows:
        if row["verified"] not in ("yes", "unverified", "local"):
            raise _problem(line, "verified must be yes, unverified or local")
        context, target = row["context"], row["target"]
        ok = {
            "order": target.partition("+")[0] in _KINDS,
            "order.modifier": target in ("revision", "extension"),
            "scope": target == "fbss",
        }.get(context)
        if not ok:
            raise _problem(line, f"unknown context/target {context!r}/{target!r}")
        pattern = _regex(line, row["pattern"])
        if (pattern is None) == (not row["code"]):
            raise _problem(line, "give either system+code or a pattern")
        if pattern is None and row["match"] not in ("exact", "prefix"):
            raise _problem(line, "match must be exact or prefix")
        table.setdefault(context, []).append(
            _Row(
                context=context,
                system=row["system"],
                code=row["code"],
                match=row["match"],
                pattern=pattern,
                require=_regex(line, row["require"]),
                exclude=_regex(line, row["exclude"]),
                target=target,
                verified=row["verified"],
                source=row["source"],
                line=line,
            )
        )
    return OrderMap(header["version"], {k: tuple(v) for k, v in table.items()})
