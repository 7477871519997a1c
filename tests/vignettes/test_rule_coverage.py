"""Every rule ships with at least one example case that fires it and one that does not
(STYLE §5), and every pathway step produces output on the examples (issue 2, "Done when")."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
import yaml

from revspine.domain.assessment import Assessment
from revspine.domain.case import Case
from revspine.engine.run import assess
from revspine.rules.registry import ordered_rules

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


@cache
def assessments() -> tuple[Assessment, ...]:
    return tuple(assess(Case.model_validate(yaml.safe_load(p.read_text()))) for p in EXAMPLES)


@pytest.mark.parametrize("rule_id", [r.id for r in ordered_rules()])
def test_rule_fires_on_some_example_and_not_on_another(rule_id: str) -> None:
    fired = [rule_id in a.rules_fired for a in assessments()]
    assert any(fired), f"{rule_id} fires on no example"
    if rule_id != "DS001":  # the disposition is decided for every case
        assert not all(fired), f"{rule_id} fires on every example"


@pytest.mark.req("REQ-017")
@pytest.mark.parametrize(
    "section",
    [
        "red_flags",
        "differential",
        "workup",
        "optimisation",
        "surgical_planning",
        "postop_orders",
        "nonsurgical_plan",
        "missing_data",
        "warnings",
    ],
)
def test_every_pathway_step_produces_output(section: str) -> None:
    assert any(getattr(a, section) for a in assessments()), section


@pytest.mark.req("REQ-202")
def test_every_item_names_an_existing_rule() -> None:
    ids = {r.id for r in ordered_rules()}
    for a in assessments():
        items = [*a.red_flags, *a.workup, *a.optimisation, *a.surgical_planning]
        items += [*a.postop_orders, *a.nonsurgical_plan]
        assert {i.rule_id for i in items} <= ids
        assert a.disposition.rule_id in ids
