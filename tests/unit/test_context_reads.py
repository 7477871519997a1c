"""``Ctx.get`` reads the case sections in ``revspine.rules.context._SECTIONS`` up front and any
other path when first asked for; every path must read exactly as following it attribute by
attribute does (None when a part is unrecorded; an unrecorded screened red-flag symptom reads
False after a negative red-flag screen). The engine shares some identical output items between
assessments; they must carry the value asked for."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from revspine.batch.casegen import generate
from revspine.casefile import load_case
from revspine.domain.case import Case
from revspine.knowledge import load_knowledge
from revspine.rules.context import _SECTIONS, SCREENED_RED_FLAGS, Ctx, make_fact

pytestmark = pytest.mark.req("REQ-201")

AS_OF = date(2026, 11, 1)
EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))


def _attribute_read(case: Case, path: str) -> Any:
    obj: Any = case
    for part in path.split("."):
        if obj is None:
            break
        obj = getattr(obj, part, None)
    if obj is None and path in SCREENED_RED_FLAGS and case.symptoms.red_flag_screen_negative:
        return False
    return obj


def _cases() -> list[Case]:
    return (
        [load_case(p) for p in EXAMPLES]
        + [Case.model_validate(d) for d in generate(60, seed=5)]
        + [
            Case(),
            Case.model_validate({"symptoms": {"red_flag_screen_negative": True, "fever": True}}),
            Case.model_validate({"symptoms": {"red_flag_screen_negative": False}}),
        ]
    )


def test_section_reads_are_attribute_reads() -> None:
    kb = load_knowledge()
    paths = [p for _, section_paths, _ in _SECTIONS for p in section_paths]
    paths += ["surgeries", "psychosocial.evaluation.outcome", "exam.no_such_field"]
    assert set(SCREENED_RED_FLAGS) <= set(paths)
    for case in _cases():
        ctx = Ctx(case, kb, AS_OF)
        for path in paths:
            expected = _attribute_read(case, path)
            assert ctx.get(path) is expected or (
                type(ctx.get(path)) is type(expected) and ctx.get(path) == expected
            ), path


def test_shared_facts_keep_their_value() -> None:
    assert make_fact("psychosocial.phq9_item9", None).value is None
    assert make_fact("psychosocial.phq9_item9", None) is make_fact("psychosocial.phq9_item9", None)
    case = Case.model_validate({"symptoms": {"fever": True}, "psychosocial": {"phq9_item9": 1}})
    ctx = Ctx(case, load_knowledge(), AS_OF)
    assert ctx.fact("symptoms.fever").value is True
    assert ctx.true("symptoms.fever")[0] is ctx.fact("symptoms.fever")
    one = ctx.fact("psychosocial.phq9_item9")
    assert one.value == 1 and type(one.value) is int
    assert ctx.fact("symptoms.chills").value is None


def test_items_shared_between_assessments_cannot_be_changed() -> None:
    """Two patients' assessments share identical facts and missing-data entries: changing one
    through an assessment must be impossible, or it would change the other patient's too."""
    from pydantic import ValidationError

    from revspine.engine import assess

    kb = load_knowledge()
    a, b = (assess(load_case(p), kb, AS_OF) for p in EXAMPLES[:2])
    shared = {id(m) for m in a.missing_data} & {id(m) for m in b.missing_data}
    assert shared, "the examples share no missing-data entry: pick others"
    item = next(m for m in a.missing_data if id(m) in shared)
    with pytest.raises(ValidationError, match="frozen"):
        item.why = "changed"
    fact = make_fact("symptoms.fever", None)
    with pytest.raises(ValidationError, match="frozen"):
        fact.value = True
