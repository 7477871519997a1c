"""Every knowledge parameter a rule reads is declared in its ``params`` (so the catalog is
true), and every parameter in the knowledge file is read by some rule or the engine."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from revspine.domain.case import Case
from revspine.engine import run
from revspine.knowledge.base import Knowledge
from revspine.rules.registry import ordered_rules

pytestmark = pytest.mark.req("REQ-301")

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))
#: Read by the engine or the context, not by one rule.
ENGINE_KEYS = {
    "windows.",
    "plausibility.",
    "currency.imaging_valid_days",
    "proms.",
    "prior_operations.",
}


@pytest.fixture(scope="module")
def reads() -> dict[str, set[str]]:
    """Run every example, recording which rule read which parameter."""
    seen: dict[str, set[str]] = defaultdict(set)
    current = {"rule": ""}
    originals = {name: getattr(Knowledge, name) for name in ("value", "num", "pair")}

    def tracer(name: str):  # type: ignore[no-untyped-def]
        def traced(self, key):  # type: ignore[no-untyped-def]
            seen[current["rule"]].add(key)
            return originals[name](self, key)

        return traced

    rules = ordered_rules()
    wrapped = []
    for r in rules:

        def make(fn, rid):  # type: ignore[no-untyped-def]
            def call(ctx):  # type: ignore[no-untyped-def]
                current["rule"] = rid
                try:
                    fn(ctx)
                finally:
                    current["rule"] = ""

            return call

        wrapped.append(
            r.__class__(r.id, r.title, r.evidence, r.params, r.unverified, make(r.fn, r.id))
        )
    mp = pytest.MonkeyPatch()
    for name in originals:
        mp.setattr(Knowledge, name, tracer(name))
    mp.setattr(run, "_RULES", wrapped)
    try:
        for path in EXAMPLES:
            run.assess(Case.model_validate(yaml.safe_load(path.read_text())))
    finally:
        mp.undo()
    return seen


def test_examples_exist() -> None:
    assert len(EXAMPLES) >= 15


def test_rules_declare_what_they_read(reads: dict[str, set[str]]) -> None:
    declared = {r.id: set(r.params) for r in ordered_rules()}
    undeclared = {
        rid: sorted(
            k for k in keys - declared[rid] if not any(k.startswith(e) for e in ENGINE_KEYS)
        )
        for rid, keys in reads.items()
        if rid
    }
    assert {k: v for k, v in undeclared.items() if v} == {}


def test_every_parameter_is_used(reads: dict[str, set[str]]) -> None:
    kb = run.load_knowledge()
    engine_src = "".join(p.read_text() for p in (Path(run.__file__).parent).glob("*.py"))
    used = set().union(*reads.values()) | {k for r in ordered_rules() for k in r.params}
    used |= {k for k in kb.params if f'"{k}"' in engine_src}
    unused = sorted(k for k in kb.params if k not in used and not k.startswith("plausibility."))
    assert unused == []
