"""The rule registry: stable ids, documentation and evidence for every rule."""

from __future__ import annotations

import re

import pytest

from revspine.rules.registry import STEPS, ordered_rules, rule

pytestmark = pytest.mark.req("REQ-209")

RULES = ordered_rules()


def test_ids_are_unique_and_well_formed() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    for rid in ids:
        assert re.fullmatch(r"(RF|DX|WU|DS|OP|PL|PO|NS)\d{3}", rid)


def test_every_step_has_rules() -> None:
    assert {r.id[:2] for r in RULES} == set(STEPS)


@pytest.mark.parametrize("r", RULES, ids=lambda r: r.id)
def test_rule_is_documented_with_evidence(r) -> None:  # type: ignore[no-untyped-def]
    assert len(r.doc) > 80, f"{r.id} needs a docstring saying what, why and evidence"
    assert r.title
    # Evidence is cited, or the rule is marked as relying on unverified practice.
    assert r.evidence or r.unverified, f"{r.id} cites no evidence and is not marked unverified"


def test_duplicate_id_is_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):

        @rule("RF001", "again")
        def _again(ctx) -> None:  # type: ignore[no-untyped-def]
            """Docstring."""


def test_undocumented_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="docstring"):

        @rule("RF999", "undocumented")
        def _nodoc(ctx) -> None:  # type: ignore[no-untyped-def]
            pass
