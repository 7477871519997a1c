"""Malformed FHIR never crashes the importer: every element of real bundles replaced, one at a
time, by a value of the wrong JSON type gives either a case or a :class:`FhirParseError` that
names a JSON path — never a ``TypeError`` or ``AttributeError`` (which would stop a batch run)."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from revspine.adapters.fhir import bundle_to_case, case_to_bundle
from revspine.casefile import load_case
from revspine.errors import FhirParseError

pytestmark = pytest.mark.req("REQ-401", "REQ-601", "HAZ-006")

ROOT = Path(__file__).resolve().parents[2]
SYNTHEA = ROOT.parent / "shared" / "fixtures" / "external" / "google-fhir-data-pipes-synthea"
WRONG: list[Any] = [5, {"a": 1}, [1], None]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if path:
        yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*path, i))


def _with(bundle: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """``bundle`` with the element at ``path`` replaced; only the containers on the path are
    copied (the importer does not change its input)."""
    out = copy.copy(bundle)
    node: Any = out
    for p in path[:-1]:
        node[p] = copy.copy(node[p])
        node = node[p]
    node[path[-1]] = value
    return out


def _bundles() -> list[tuple[str, dict[str, Any]]]:
    found = [
        (p.stem, case_to_bundle(load_case(p)))
        for p in sorted((ROOT / "examples").glob("*.yaml"))
        if p.stem.startswith(("02_", "29_"))
    ]
    synthea = sorted(SYNTHEA.glob("*.json"))
    assert synthea, f"the external Synthea fixtures are missing ({SYNTHEA})"
    data = orjson.loads(synthea[0].read_bytes())
    data["entry"] = data["entry"][:40]
    found.append((synthea[0].stem[:20], data))
    return found


@pytest.mark.parametrize(
    ("name", "bundle"), _bundles(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_element_of_the_wrong_type_is_a_parse_error_or_ignored(
    name: str, bundle: dict[str, Any]
) -> None:
    crashes: list[str] = []
    checked = 0
    for path in _paths(bundle):
        for value in WRONG:
            checked += 1
            try:
                bundle_to_case(_with(bundle, path, value), as_of=dt.date(2026, 11, 1))
            except FhirParseError as exc:
                assert exc.path and exc.path.startswith("$"), (path, value, exc)
            except Exception as exc:  # noqa: BLE001 - any other exception is the bug under test
                crashes.append(
                    f"{'.'.join(map(str, path))} = {value!r}: {type(exc).__name__}: {exc}"
                )
    assert checked > 300
    assert not crashes, "\n".join(crashes[:20])
