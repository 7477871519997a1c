"""Decision sensitivity: which missing test would change the disposition?

For an assessment with an incomplete workup, every missing test is given each result it could
plausibly have (CRP normal or raised, block positive or negative, MRI with or without the
suspected lesion…). Each result is added — dated ``as_of``, in canonical units — to a *copy* of
the case, the copy is re-assessed, and the disposition it reaches is reported. A test is
``decisive`` when its results lead to at least two different dispositions; tests are ranked by
the number of distinct dispositions they separate. When several tests block the decision, each
result is also combined with every plausible result of the other blocking tests (``with_rest``),
which shows the test that decides even though none decides alone.

The hypothetical results never touch the real case or assessment (REQ-115, HAZ-016): ``analyse``
only reads the case, and the engine attaches its output to the finished assessment.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import date

from revspine.domain.assessment import (
    Assessment,
    HypotheticalResult,
    SensitivityItem,
    WorkupItem,
)
from revspine.domain.case import Case
from revspine.engine.hypotheses import NOT_SIMULATED, Scenario, Setting, plausible_results
from revspine.knowledge import Knowledge
from revspine.rules.context import Ctx

#: Most combinations of the other blocking tests' results tried per result (``with_rest``).
MAX_COMBINATIONS = 32

# -- analysis ----------------------------------------------------------------------------------


def analyse(
    case: Case, kb: Knowledge, as_of: date, assessment: Assessment
) -> list[SensitivityItem]:
    """Sensitivity of ``assessment`` (of ``case`` under ``kb`` at ``as_of``) to each missing
    test, most decisive first; empty unless the disposition is ``incomplete_workup``."""
    if assessment.disposition.code != "incomplete_workup" or not assessment.workup:
        return []
    from revspine.engine.run import assess

    setting = Setting(
        kb, as_of, Ctx(case, kb, as_of), frozenset(c.cause for c in assessment.differential)
    )
    scenarios: dict[str, list[Scenario] | None] = {
        w.test: plausible_results(w.test, setting) for w in assessment.workup
    }
    cache: dict[tuple[tuple[str, str], ...], Assessment] = {}

    def run(choice: tuple[tuple[str, str], ...]) -> Assessment:
        key = tuple(sorted(choice))
        if key not in cache:
            copy = case
            for test, result in key:
                scenario = next(x for x in scenarios[test] or () if x.result == result)
                copy = scenario.apply(copy)
            cache[key] = assess(copy, kb, as_of)
        return cache[key]

    blocking = [w.test for w in assessment.workup if w.blocks_decision and scenarios[w.test]]
    items = [_item(w, scenarios[w.test], blocking, scenarios, run) for w in assessment.workup]
    order = {w.test: i for i, w in enumerate(assessment.workup)}
    items.sort(
        key=lambda it: (
            -it.outcomes,
            not it.decisive_with_rest,
            not it.simulated,
            not it.blocks_decision,
            order[it.test],
        )
    )
    return items


def _item(
    w: WorkupItem,
    own: list[Scenario] | None,
    blocking: Sequence[str],
    scenarios: dict[str, list[Scenario] | None],
    run: Callable[[tuple[tuple[str, str], ...]], Assessment],
) -> SensitivityItem:
    if not own:
        why = NOT_SIMULATED.get(w.test, "No plausible results are modelled for this test.")
        return SensitivityItem(
            test=w.test, blocks_decision=w.blocks_decision, simulated=False, note=why
        )
    others = [t for t in blocking if t != w.test]
    grids = [[(t, x.result) for x in scenarios[t] or ()] for t in others]
    combos = 1
    for g in grids:
        combos *= len(g)
    results: list[HypotheticalResult] = []
    for sc in own:
        alone = run(((w.test, sc.result),))
        rest: list[str] = []
        if others and combos <= MAX_COMBINATIONS:
            reached = {
                run(((w.test, sc.result), *combo)).disposition.code
                for combo in itertools.product(*grids)
            }
            rest = sorted(reached)
        results.append(
            HypotheticalResult(
                result=sc.result,
                label=sc.label,
                disposition=alone.disposition.code,
                still_blocking=[x.test for x in alone.workup if x.blocks_decision],
                with_rest=rest,
            )
        )
    outcomes = len({r.disposition for r in results})
    with_rest = {tuple(r.with_rest) for r in results if r.with_rest}
    note: str | None = None
    if others and combos > MAX_COMBINATIONS:
        note = "Too many combinations with the other blocking tests to show them."
    return SensitivityItem(
        test=w.test,
        blocks_decision=w.blocks_decision,
        results=results,
        outcomes=outcomes,
        decisive=outcomes >= 2,
        decisive_with_rest=len(with_rest) >= 2,
        note=note,
    )
