"""The engine builds its output items without re-validating them
(:func:`revspine.domain.assessment.trusted`). They must be exactly what validation would build:
every field present in declaration order, values of the declared types, and the same JSON after
a validation round trip (so a new field or a mistyped value at a call site fails here)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from revspine.batch.casegen import generate
from revspine.casefile import load_case
from revspine.domain.assessment import Assessment, Fact, MissingData, trusted
from revspine.domain.case import Case
from revspine.engine import assess
from revspine.knowledge import load_knowledge

pytestmark = pytest.mark.req("REQ-201")

AS_OF = date(2026, 11, 1)
EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))


def _models(obj: Any) -> Iterator[BaseModel]:
    if isinstance(obj, BaseModel):
        yield obj
        for value in obj.__dict__.values():
            yield from _models(value)
    elif isinstance(obj, list | tuple):
        for value in obj:
            yield from _models(value)
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from _models(value)


def _cases() -> list[Case]:
    return [load_case(p) for p in EXAMPLES] + [
        Case.model_validate(d) for d in generate(60, seed=11)
    ]


def test_trusted_equals_validated() -> None:
    built = trusted(MissingData, {"field": "exam", "why": "no exam", "rule_id": "WU001"})
    validated = MissingData(field="exam", why="no exam", rule_id="WU001")
    assert built == validated
    assert built.model_fields_set == validated.model_fields_set
    assert built.model_dump_json() == validated.model_dump_json()
    fact = trusted(Fact, {"field": "symptoms.fever", "value": True})
    assert fact == Fact(field="symptoms.fever", value=True)


def test_every_item_is_what_validation_builds() -> None:
    kb = load_knowledge()
    for case in _cases():
        a = assess(case, kb, AS_OF, sensitivity=True)
        for m in _models(a):
            assert list(m.__dict__) == list(type(m).model_fields), type(m).__name__
            again = type(m).model_validate(m.model_dump())
            assert repr(again.model_dump()) == repr(m.model_dump()), type(m).__name__
        text = a.model_dump_json(by_alias=True)
        assert Assessment.model_validate_json(text).model_dump_json(by_alias=True) == text
