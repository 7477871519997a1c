"""The terminal report renders every section of an assessment, summary first."""

from __future__ import annotations

from datetime import date

import pytest

from revspine.domain.case import Case
from revspine.engine import assess
from revspine.report.text import NOTICE, render_text_plain

pytestmark = pytest.mark.req("REQ-205")


def _plain(data: dict[str, object]) -> str:
    return " ".join(
        render_text_plain(assess(Case.model_validate(data), None, date(2026, 1, 10)), 120).split()
    )


@pytest.mark.req("REQ-019")
def test_surgical_planning_sections_and_order() -> None:
    text = _plain(
        {
            "patient": {"age": 60, "weight": "130 kg", "height": "170 cm"},
            "allergies": [{"substance": "penicillin", "reaction": "anaphylaxis"}],
            "surgeries": [{"date": "2025-06-01", "type": "discectomy", "levels": ["L5-S1"]}],
            "symptoms": {"radicular_pain": True, "mechanical_pain": False},
            "labs": [{"test": "albumin", "value": 35, "unit": "g/dL", "date": "2025-12-01"}],
        }
    )
    assert text.index("revspine — case (no id) — as of 2026-01-10") < 5
    positions = [
        text.index(h) for h in ("Ranked differential", "Missing workup", "Derived:", "Knowledge:")
    ]
    assert positions == sorted(positions)
    assert "Warnings about the input" in text
    assert "Missing data" in text
    assert text.endswith(" ".join(NOTICE.split()))


def test_literal_brackets_are_not_markup() -> None:
    # An implausible weight in pounds: the warning quotes the UCUM unit "[lb_av]", which Rich
    # would swallow as a markup tag if the text were not rendered literally.
    text = _plain({"patient": {"weight": "2000 [lb_av]"}, "surgeries": [{"type": "fusion"}]})
    assert "2000.0 [lb_av]" in text or "2000 [lb_av]" in text
