"""Knowledge diff: what a knowledge update changes, parameter by parameter and case by case.

``diff_knowledge`` re-assesses every case under both knowledge bases and compares the two
assessments section by section (disposition, red flags, causes, workup, orders and doses,
plans, missing data, warnings, derived values, rules fired), naming the rules responsible.
Anything else that differs is still reported (section ``other``), so a case whose advice moved
is never missed. This is the review a clinician signs before a knowledge update goes live
(REQ-305, HAZ-005). Loading knowledge specs is here too; the comparison itself is pure.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from revspine.domain.assessment import Assessment, Recommendation
from revspine.domain.case import Case
from revspine.engine.run import assess
from revspine.knowledge import Knowledge, load_knowledge
from revspine.rules.registry import ordered_rules

BUILTIN = "builtin"

#: Sections compared generically (everything but the knowledge block and the sensitivity).
_IGNORED = {"knowledge", "sensitivity"}


@dataclass(frozen=True)
class ParamChange:
    """One parameter whose value or provenance differs between the two knowledge bases."""

    key: str
    change: str  # "changed" | "added" | "removed"
    old: Any = None
    new: Any = None
    fields: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class Change:
    """One difference in one case's advice."""

    section: str
    what: str
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaseDiff:
    """Every difference for one case."""

    name: str
    case_id: str | None
    old_disposition: str
    new_disposition: str
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class KnowledgeLabel:
    """Which knowledge base a side of the diff is."""

    spec: str
    id: str
    version: str
    sha256: str
    overrides: tuple[str, ...] = ()


@dataclass
class KnowledgeDiff:
    """The full diff: parameters, and the cases whose advice changed."""

    old: KnowledgeLabel
    new: KnowledgeLabel
    params: list[ParamChange] = field(default_factory=list)
    cases: list[CaseDiff] = field(default_factory=list)
    compared: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when neither a parameter nor any case's advice changed."""
        return not self.params and not self.cases


# -- loading -----------------------------------------------------------------------------------


def _is_full_base(path: Path) -> bool:
    """A full knowledge file has a [meta] table and every parameter of the built-in base as a
    table with a value; anything else is a site override applied on the built-in base."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        return False  # let the loader report the problem with file and reason
    if not isinstance(data.get("meta"), dict):
        return False
    keys = {
        f"{group}.{name}"
        for group, table in data.items()
        if group != "meta" and isinstance(table, dict)
        for name, value in table.items()
        if isinstance(value, dict) and "value" in value
    }
    return set(load_knowledge().params) <= keys


def load_spec(spec: str) -> Knowledge:
    """Load a knowledge spec: ``builtin``, a full knowledge file, a site override (applied on
    the built-in base), or ``BASE+OVERRIDE`` (``builtin+site.toml``, ``base.toml+site.toml``)."""
    if spec == BUILTIN:
        return load_knowledge()
    if "+" in spec and not Path(spec).exists():
        base, _, override = spec.partition("+")
        base_path = None if base == BUILTIN else Path(base)
        return load_knowledge(base=base_path, override=Path(override))
    path = Path(spec)
    if _is_full_base(path):
        return load_knowledge(base=path)
    return load_knowledge(override=path)


def _label(spec: str, kb: Knowledge) -> KnowledgeLabel:
    overrides = tuple(f"{o.key}: {o.base!r} -> {o.value!r}" for o in kb.overrides)
    return KnowledgeLabel(spec, kb.meta.id, kb.version, kb.sha256, overrides)


# -- parameters --------------------------------------------------------------------------------


def diff_params(old: Knowledge, new: Knowledge) -> list[ParamChange]:
    """Parameters added, removed, or changed in value, unit, status or sources."""
    readers: dict[str, list[str]] = {}
    for r in ordered_rules():
        for key in r.params:
            readers.setdefault(key, []).append(r.id)
    out: list[ParamChange] = []
    for key in sorted(set(old.params) | set(new.params)):
        a, b = old.params.get(key), new.params.get(key)
        rules = tuple(readers.get(key, ()))
        if a is None and b is not None:
            out.append(ParamChange(key, "added", None, b.value, rules=rules))
        elif b is None and a is not None:
            out.append(ParamChange(key, "removed", a.value, None, rules=rules))
        elif a is not None and b is not None:
            fields = tuple(
                f
                for f in ("value", "unit", "status", "sources", "alternatives", "note")
                if getattr(a, f) != getattr(b, f)
            )
            if fields:
                out.append(ParamChange(key, "changed", a.value, b.value, fields, rules))
    return out


# -- assessments -------------------------------------------------------------------------------


def _h(code: str) -> str:
    return code.replace("_", " ")


def _keyed_recs(items: Iterable[Recommendation]) -> dict[str, Recommendation]:
    out: dict[str, Recommendation] = {}
    for r in items:
        key, n = r.code, 1
        while key in out:
            n += 1
            key = f"{r.code}#{n}"
        out[key] = r
    return out


def _value_diff(path: str, a: Any, b: Any) -> list[str]:
    """Paths whose values differ between two JSON-like values (``agents[0].dose: … → …``)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for k in sorted(set(a) | set(b), key=str):
            out += _value_diff(f"{path}.{k}" if path else str(k), a.get(k), b.get(k))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _value_diff(f"{path}[{i}]", x, y)
        ]
    return [] if a == b else [f"{path}: {a!r} → {b!r}"]


def _recommendations(
    section: str, old: list[Recommendation], new: list[Recommendation]
) -> list[Change]:
    out: list[Change] = []
    a, b = _keyed_recs(old), _keyed_recs(new)
    for key in [*a, *(k for k in b if k not in a)]:
        x, y = a.get(key), b.get(key)
        if x is None and y is not None:
            out.append(Change(section, f"added {_h(y.code)}: {y.text}", _ids(y.rule_id)))
        elif y is None and x is not None:
            out.append(Change(section, f"removed {_h(x.code)}", _ids(x.rule_id)))
        elif x is not None and y is not None and x != y:
            parts = _value_diff("", x.details, y.details)
            if x.status != y.status:
                parts.append(f"status {x.status} → {y.status}")
            if x.text != y.text and not parts:
                parts.append(f"text: {x.text!r} → {y.text!r}")
            if not parts:
                parts.append("facts or evidence changed")
            out.append(
                Change(section, f"{_h(x.code)}: {'; '.join(parts)}", _ids(x.rule_id, y.rule_id))
            )
    return out


def _ids(*rule_ids: str | None) -> tuple[str, ...]:
    """Rule ids in order, without duplicates or blanks (deterministic, unlike a set)."""
    return tuple(dict.fromkeys(r for r in rule_ids if r))


def _disposition(old: Assessment, new: Assessment) -> list[Change]:
    d0, d1 = old.disposition, new.disposition
    if d0.code != d1.code:
        return [
            Change("disposition", f"{_h(d0.code)} → {_h(d1.code)}", _ids(d0.rule_id, d1.rule_id))
        ]
    if d0 != d1:
        return [Change("disposition", "same disposition, reasons changed", _ids(d1.rule_id))]
    return []


def _red_flags(old: Assessment, new: Assessment) -> list[Change]:
    out: list[Change] = []
    f0 = {rf.code: rf for rf in old.red_flags}
    f1 = {rf.code: rf for rf in new.red_flags}
    for code in [*f0, *(c for c in f1 if c not in f0)]:
        x, y = f0.get(code), f1.get(code)
        if x is None and y is not None:
            out.append(Change("red_flags", f"added {_h(code)}", _ids(y.rule_id)))
        elif y is None and x is not None:
            out.append(Change("red_flags", f"removed {_h(code)}", _ids(x.rule_id)))
        elif x is not None and x != y:
            out.append(
                Change("red_flags", f"{_h(code)}: rationale or facts changed", _ids(x.rule_id))
            )
    return out


def _differential(old: Assessment, new: Assessment) -> list[Change]:
    out: list[Change] = []
    c0 = {c.cause: c for c in old.differential}
    c1 = {c.cause: c for c in new.differential}
    for cause in [*c0, *(c for c in c1 if c not in c0)]:
        x, y = c0.get(cause), c1.get(cause)
        if x is None and y is not None:
            out.append(
                Change("differential", f"added {_h(cause)} ({y.likelihood})", _ids(*y.rule_ids))
            )
        elif y is None and x is not None:
            out.append(Change("differential", f"removed {_h(cause)}", _ids(*x.rule_ids)))
        elif x is not None and y is not None:
            rules = _ids(*x.rule_ids, *y.rule_ids)
            if x.likelihood != y.likelihood:
                out.append(
                    Change("differential", f"{_h(cause)}: {x.likelihood} → {y.likelihood}", rules)
                )
            fx, fy = [*x.for_, *x.against], [*y.for_, *y.against]
            if fx != fy:
                changed = [f.rule_id for f in fx if f not in fy] + [
                    f.rule_id for f in fy if f not in fx
                ]
                out.append(
                    Change("differential", f"{_h(cause)}: findings changed", _ids(*sorted(changed)))
                )
            if x.rank != y.rank:
                out.append(Change("differential", f"{_h(cause)}: rank {x.rank} → {y.rank}", rules))
    return out


def _workup(old: Assessment, new: Assessment) -> list[Change]:
    out: list[Change] = []
    w0 = {w.test: w for w in old.workup}
    w1 = {w.test: w for w in new.workup}
    for test in [*w0, *(t for t in w1 if t not in w0)]:
        x, y = w0.get(test), w1.get(test)
        if x is None and y is not None:
            block = ", blocks the decision" if y.blocks_decision else ""
            out.append(Change("workup", f"added {_h(test)} ({y.priority}{block})", _ids(y.rule_id)))
        elif y is None and x is not None:
            out.append(Change("workup", f"removed {_h(test)}", _ids(x.rule_id)))
        elif x is not None and y is not None and x != y:
            parts = [
                f"{name} {getattr(x, name)} → {getattr(y, name)}"
                for name in ("priority", "blocks_decision")
                if getattr(x, name) != getattr(y, name)
            ]
            if x.reason != y.reason:
                parts.append("reason changed")
            what = f"{_h(test)}: {', '.join(parts) or 'facts changed'}"
            out.append(Change("workup", what, _ids(x.rule_id, y.rule_id)))
    return out


def diff_assessments(old: Assessment, new: Assessment) -> list[Change]:
    """Every difference between two assessments of the same case, with the rules responsible."""
    out = _disposition(old, new) + _red_flags(old, new) + _differential(old, new)
    out += _workup(old, new)
    for section in ("optimisation", "surgical_planning", "postop_orders", "nonsurgical_plan"):
        out += _recommendations(section, getattr(old, section), getattr(new, section))

    m0 = {(m.field, m.rule_id) for m in old.missing_data}
    m1 = {(m.field, m.rule_id) for m in new.missing_data}
    out += [
        Change("missing_data", f"now unknown and needed: {f}", (r,)) for f, r in sorted(m1 - m0)
    ]
    out += [Change("missing_data", f"no longer needed: {f}", (r,)) for f, r in sorted(m0 - m1)]

    g0 = {(w.code, w.field, w.message): w for w in old.warnings}
    g1 = {(w.code, w.field, w.message): w for w in new.warnings}
    for key in [k for k in g1 if k not in g0]:
        out.append(
            Change("warnings", f"added {key[0]} ({key[1] or 'case'})", _ids(g1[key].rule_id))
        )
    for key in [k for k in g0 if k not in g1]:
        out.append(
            Change("warnings", f"removed {key[0]} ({key[1] or 'case'})", _ids(g0[key].rule_id))
        )

    for name in type(old.derived).model_fields:
        a, b = getattr(old.derived, name), getattr(new.derived, name)
        if a != b:
            out.append(Change("derived", f"{name}: {a} → {b}"))

    r0, r1 = set(old.rules_fired), set(new.rules_fired)
    if r0 != r1:
        what = ", ".join([*(f"+{r}" for r in sorted(r1 - r0)), *(f"-{r}" for r in sorted(r0 - r1))])
        out.append(Change("rules_fired", what, tuple(sorted(r0 ^ r1))))

    if not out and _content(old) != _content(new):
        out.append(Change("other", "the assessment differs (see the JSON of both)"))
    return out


def _content(a: Assessment) -> dict[str, Any]:
    return a.model_dump(mode="json", exclude=_IGNORED)


@dataclass(frozen=True)
class CaseInput:
    """One case to compare: a display name, the case and its as-of date."""

    name: str
    case: Case
    as_of: date


def diff_knowledge(
    old: Knowledge,
    new: Knowledge,
    cases: Sequence[CaseInput],
    *,
    old_spec: str = "old",
    new_spec: str = "new",
    errors: Sequence[str] = (),
) -> KnowledgeDiff:
    """Assess every case under both knowledge bases and report the parameter diff and, case by
    case, every change in the advice."""
    diff = KnowledgeDiff(
        _label(old_spec, old),
        _label(new_spec, new),
        diff_params(old, new),
        compared=len(cases),
        errors=list(errors),
    )
    for item in cases:
        a = assess(item.case, old, item.as_of)
        b = assess(item.case, new, item.as_of)
        changes = diff_assessments(a, b)
        if changes:
            diff.cases.append(
                CaseDiff(
                    item.name,
                    item.case.case_id,
                    a.disposition.code,
                    b.disposition.code,
                    tuple(changes),
                )
            )
    return diff
