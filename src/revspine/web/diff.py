""" "What changed since the last version": facts (case fields) and recommendations.

Pure comparisons of two stored versions; no clinical judgement. Facts are compared leaf by
leaf on the case document (``labs[2].value``); recommendations by their stable keys (cause,
workup test, recommendation code, red-flag code) in each section of the assessment.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["added", "removed", "changed"]

#: Assessment sections compared item by item, and the key that identifies an item.
_SECTIONS: dict[str, str] = {
    "red_flags": "code",
    "differential": "cause",
    "workup": "test",
    "optimisation": "code",
    "surgical_planning": "code",
    "postop_orders": "code",
    "nonsurgical_plan": "code",
    "missing_data": "field",
}
#: The fields of an item whose change is worth showing (the rest is provenance).
_SHOWN: dict[str, tuple[str, ...]] = {
    "red_flags": ("action",),
    "differential": ("likelihood", "rank"),
    "workup": ("priority", "blocks_decision"),
    "optimisation": ("status", "text"),
    "surgical_planning": ("status", "text"),
    "postop_orders": ("status", "text"),
    "nonsurgical_plan": ("status", "text"),
    "missing_data": ("why",),
}


@dataclass(frozen=True)
class Change:
    """One difference: where, what kind, the value before and after."""

    section: str
    key: str
    kind: Kind
    before: Any = None
    after: Any = None


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        if not value and path:
            yield path, {}
        for key in value:
            yield from _leaves(value[key], f"{path}.{key}" if path else str(key))
    elif isinstance(value, list) and value and any(isinstance(v, dict | list) for v in value):
        for i, item in enumerate(value):
            yield from _leaves(item, f"{path}[{i}]")
    else:
        yield path, value


def fact_changes(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """Case fields added, removed or changed between two case documents."""
    old, new = dict(_leaves(before)), dict(_leaves(after))
    changes: list[Change] = []
    for path in sorted(old.keys() | new.keys()):
        if path not in old:
            changes.append(Change("facts", path, "added", None, new[path]))
        elif path not in new:
            changes.append(Change("facts", path, "removed", old[path], None))
        elif old[path] != new[path]:
            changes.append(Change("facts", path, "changed", old[path], new[path]))
    return changes


def _items(assessment: dict[str, Any], section: str) -> dict[str, dict[str, Any]]:
    key = _SECTIONS[section]
    return {str(item.get(key)): item for item in assessment.get(section) or []}


def recommendation_changes(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """Disposition and recommendation items added, removed or changed between assessments."""
    changes: list[Change] = []
    old_disp = (before.get("disposition") or {}).get("code")
    new_disp = (after.get("disposition") or {}).get("code")
    if old_disp != new_disp:
        changes.append(Change("disposition", "disposition", "changed", old_disp, new_disp))
    for section in _SECTIONS:
        old, new = _items(before, section), _items(after, section)
        for key in sorted(old.keys() | new.keys()):
            if key not in old:
                changes.append(Change(section, key, "added", None, _shown(section, new[key])))
            elif key not in new:
                changes.append(Change(section, key, "removed", _shown(section, old[key]), None))
            else:
                was, now = _shown(section, old[key]), _shown(section, new[key])
                if was != now:
                    changes.append(Change(section, key, "changed", was, now))
    return changes


def _shown(section: str, item: dict[str, Any]) -> dict[str, Any]:
    return {name: item.get(name) for name in _SHOWN[section] if name in item}
