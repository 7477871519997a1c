"""The rule registry: stable ids, titles, evidence and the function that implements each rule.

A rule is a small pure function of the assessment context. Ids are grouped by pathway step
(``RF`` red flags, ``DX`` differential, ``WU`` workup, ``DS`` disposition, ``OP`` optimisation,
``PL`` planning, ``PO`` post-operative orders, ``NS`` non-surgical plan) and never reused.
Each rule names the requirements it implements (``requirements=("REQ-…",)``); ``revspine
trace`` checks that every rule serves a requirement and is tested.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from revspine.rules.context import Ctx

STEPS = {
    "RF": "red_flags",
    "DX": "differential",
    "WU": "workup",
    "DS": "disposition",
    "OP": "optimisation",
    "PL": "planning",
    "PO": "postop",
    "NS": "nonsurgical",
}
STEP_ORDER = tuple(STEPS)

RuleFn = Callable[["Ctx"], None]


@dataclass(frozen=True)
class Rule:
    """A registered rule."""

    id: str
    title: str
    evidence: tuple[str, ...]
    params: tuple[str, ...]
    unverified: bool
    fn: RuleFn
    requirements: tuple[str, ...] = ()

    @property
    def step(self) -> str:
        """The pathway step this rule belongs to."""
        return STEPS[self.id[:2]]

    @property
    def doc(self) -> str:
        """The rule's documentation: what, why and evidence."""
        return inspect.getdoc(self.fn) or ""


REGISTRY: dict[str, Rule] = {}


def rule(
    rule_id: str,
    title: str,
    *,
    evidence: tuple[str, ...] = (),
    params: tuple[str, ...] = (),
    unverified: bool = False,
    requirements: tuple[str, ...] = (),
) -> Callable[[RuleFn], RuleFn]:
    """Register ``fn`` as rule ``rule_id``; ``requirements`` names the requirement ids (``REQ-…``
    in ``safety/requirements.toml``) the rule implements, for the trace matrix."""
    if rule_id[:2] not in STEPS or not rule_id[2:].isdigit():
        raise ValueError(f"bad rule id {rule_id!r}")

    def wrap(fn: RuleFn) -> RuleFn:
        if rule_id in REGISTRY:
            raise ValueError(f"duplicate rule id {rule_id}")
        if not inspect.getdoc(fn):
            raise ValueError(f"rule {rule_id} has no docstring")
        REGISTRY[rule_id] = Rule(rule_id, title, evidence, params, unverified, fn, requirements)
        return fn

    return wrap


def ordered_rules() -> list[Rule]:
    """All rules in evaluation order (by step, then id)."""
    from revspine.rules import load_all

    load_all()
    return sorted(REGISTRY.values(), key=lambda r: (STEP_ORDER.index(r.id[:2]), r.id))
